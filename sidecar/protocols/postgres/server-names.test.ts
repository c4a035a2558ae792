import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameTable, UNCERTAIN } from './server-names.js';

const v = (batch: number, tag: string) => ({ batch, tag });

test('a definition is the state only once the server confirms it', () => {
  const t = new NameTable<{ batch: number; tag: string }>();
  const a = v(1, 'a');
  t.define('', a);
  assert.equal(t.lookup('', 1), a, 'same batch: the pending value (a failure skips the rest of the batch)');
  assert.equal(t.lookup('', 2), UNCERTAIN, 'a later batch cannot know whether it succeeded');
  t.settle('', a, true);
  assert.equal(t.lookup('', 2), a);
});

test('a refused or skipped definition leaves the previous value', () => {
  const t = new NameTable<{ batch: number; tag: string }>();
  const old = v(1, 'delete');
  t.define('s', old);
  t.settle('s', old, true);
  const neu = v(2, 'select');
  t.define('s', neu);
  assert.equal(t.lookup('s', 2), neu);
  assert.equal(t.lookup('s', 3), UNCERTAIN);
  t.settle('s', neu, false); // 42P05: the server keeps the old statement
  assert.equal(t.lookup('s', 3), old);
});

test('removals and clearing settle in order', () => {
  const t = new NameTable<{ batch: number; tag: string }>();
  const a = v(1, 'a');
  t.define('p', a);
  t.settle('p', a, true);
  const r = t.remove('p', 2);
  assert.equal(t.lookup('p', 2), undefined);
  assert.equal(t.lookup('p', 3), UNCERTAIN);
  t.settle('p', r, true);
  assert.equal(t.lookup('p', 3), undefined);

  const b = v(3, 'b');
  t.define('q', b);
  const c = t.clearAll(3);
  assert.equal(t.lookup('q', 3), undefined, 'after the clearing in its batch nothing older is known');
  assert.equal(t.lookup('x', 4), UNCERTAIN);
  const d = v(3, 'd');
  t.define('d', d);
  assert.equal(t.lookup('d', 3), d);
  t.settle('q', b, true); // answered before the clearing
  t.settleClearing(c, true);
  t.settle('d', d, true); // defined after it
  assert.equal(t.lookup('q', 4), undefined);
  assert.equal(t.lookup('d', 4), d);
});

test('a later definition is not lost when an earlier one settles', () => {
  const t = new NameTable<{ batch: number; tag: string }>();
  const a = v(1, 'a');
  const b = v(2, 'b');
  t.define('', a);
  t.define('', b);
  t.settle('', a, true);
  assert.equal(t.lookup('', 2), b);
  assert.equal(t.lookup('', 3), UNCERTAIN);
  t.settle('', b, false);
  assert.equal(t.lookup('', 3), a);
  t.forget('');
  assert.equal(t.lookup('', 3), undefined);
  t.define('h', v(3, 'h'));
  t.settle('h', t.lookup('h', 3) as { batch: number; tag: string }, true);
  t.retain((x) => x.tag === 'h');
  assert.equal(t.size, 1);
});
