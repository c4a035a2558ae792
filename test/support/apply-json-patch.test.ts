import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch } from './apply-json-patch.js';
import { jsonPointer } from '../../webhook/injection/json-patch.js';

test('add into objects and arrays (index and "-"), with escaped keys; the input is not modified', () => {
  const doc = { metadata: { annotations: { a: '1' } }, list: [1, 3] };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: jsonPointer('metadata', 'annotations', 'sidegate.dev/status'), value: 'x' },
    { op: 'add', path: '/list/1', value: 2 },
    { op: 'add', path: '/list/-', value: 4 },
    { op: 'add', path: '/new', value: { k: [] } },
    { op: 'add', path: '/new/k/0', value: 'first' },
  ]);
  assert.deepEqual(out, { metadata: { annotations: { a: '1', 'sidegate.dev/status': 'x' } }, list: [1, 2, 3, 4], new: { k: ['first'] } });
  assert.deepEqual(doc, { metadata: { annotations: { a: '1' } }, list: [1, 3] });
  assert.equal(jsonPointer('a~b', 'c/d'), '/a~0b/c~1d');
});

test('replace, remove and test', () => {
  const out = applyJsonPatch({ a: 1, b: [1, 2, 3], c: { d: [1, { e: 2 }] } }, [
    { op: 'test', path: '/c', value: { d: [1, { e: 2 }] } },
    { op: 'replace', path: '/a', value: 2 },
    { op: 'remove', path: '/b/0' },
  ]);
  assert.deepEqual(out, { a: 2, b: [2, 3], c: { d: [1, { e: 2 }] } });
});

test('operations the API server would reject throw, naming the operation', () => {
  assert.throws(() => applyJsonPatch({ spec: {} }, [{ op: 'add', path: '/spec/initContainers/0', value: {} }]), /operation 0 .*does not exist/);
  assert.throws(() => applyJsonPatch({ l: [] }, [{ op: 'add', path: '/l/1', value: 1 }]), /out of bounds/);
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]), /does not exist/);
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), /test failed/);
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'add', path: 'a', value: 2 }]), /starts with "\/"/);
});
