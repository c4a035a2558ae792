import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseTracker } from './response-tracker.js';

test('answers are attributed in request order and ReadyForQuery retires through the sync point', () => {
  const t = new ResponseTracker<string>();
  t.push({ kind: 'parse', data: 'p1' });
  t.push({ kind: 'bind', data: 'b1' });
  t.push({ kind: 'execute', data: 'e1' });
  t.push({ kind: 'sync', data: 's1' });
  t.push({ kind: 'query', data: 'q2' });
  assert.equal(t.current()?.data, 'p1');
  assert.equal(t.shift()?.data, 'p1');
  assert.equal(t.shift()?.data, 'b1');
  assert.equal(t.current()?.data, 'e1');
  // An error on e1 would leave it pending; ReadyForQuery retires it together with its Sync.
  const retired = t.retireThroughSync().map((i) => i.data);
  assert.deepEqual(retired, ['e1', 's1']);
  assert.equal(t.current()?.data, 'q2');
  assert.deepEqual(t.retireThroughSync().map((i) => i.data), ['q2']);
  assert.equal(t.size, 0);
});

test('a long pipelined run stays consistent across internal compaction', () => {
  const t = new ResponseTracker<number>();
  for (let i = 0; i < 1000; i++) {
    t.push({ kind: 'execute', data: i });
    t.push({ kind: 'sync', data: -1 });
  }
  for (let i = 0; i < 1000; i++) {
    assert.equal(t.current()?.data, i);
    const retired = t.retireThroughSync();
    assert.equal(retired.length, 2);
    assert.equal(retired[0]!.data, i);
  }
  assert.equal(t.size, 0);
  assert.equal(t.current(), undefined);
});

test('drain hands back everything still pending', () => {
  const t = new ResponseTracker<string>();
  t.push({ kind: 'query', data: 'a' });
  t.push({ kind: 'execute', data: 'b' });
  t.shift();
  assert.deepEqual(t.drain().map((i) => i.data), ['b']);
  assert.equal(t.size, 0);
});

test('after an extended-protocol error only a Sync ends the skipped run, a Query inside it included', () => {
  const t = new ResponseTracker<string>();
  t.push({ kind: 'parse', data: 'p' });
  t.push({ kind: 'query', data: 'q-skipped' });
  t.push({ kind: 'bind', data: 'b' });
  t.push({ kind: 'sync', data: 's' });
  t.push({ kind: 'query', data: 'q2' });
  // The Parse failed: the backend skipped the Query and the Bind and answered the Sync.
  assert.deepEqual(t.retireThroughSync(true).map((i) => i.data), ['p', 'q-skipped', 'b', 's']);
  assert.deepEqual(t.retireThroughSync().map((i) => i.data), ['q2']);
});

test('has() tells whether a request of a kind is still pending', () => {
  const t = new ResponseTracker<string>();
  t.push({ kind: 'parse', data: 'p' });
  assert.equal(t.has('sync'), false);
  t.push({ kind: 'sync', data: 's' });
  assert.equal(t.has('sync'), true);
  t.retireThroughSync();
  assert.equal(t.has('sync'), false);
});
