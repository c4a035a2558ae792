import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAST_PREPARED, StatementIds } from './statement-ids.js';
import type { Decision } from '../../../core/vocabulary.js';

const ALLOW: Decision = { action: 'allow', rule: 'r', reason: 'test' };

test('an id exists only after the server assigned it, and not after close or a connection reset', () => {
  const ids = new StatementIds<string>();
  assert.equal(ids.get(1), undefined);
  ids.add({ id: 1, inspection: 'SELECT 1', decision: ALLOW, params: 0, columns: [] });
  ids.add({ id: 2, inspection: 'SELECT ?', decision: ALLOW, params: 1, columns: [] });
  assert.equal(ids.get(2)?.inspection, 'SELECT ?');
  ids.close(2);
  assert.equal(ids.get(2), undefined);
  ids.clear();
  assert.equal(ids.get(1), undefined);
  assert.equal(ids.size, 0);
});

test('id -1 is the statement prepared last, and nothing once that one is closed', () => {
  const ids = new StatementIds<string>();
  assert.equal(ids.resolve(LAST_PREPARED), undefined);
  ids.add({ id: 5, inspection: 'a', decision: ALLOW, params: 0, columns: [] });
  ids.add({ id: 6, inspection: 'b', decision: ALLOW, params: 0, columns: [] });
  assert.equal(ids.resolve(LAST_PREPARED)?.id, 6);
  ids.close(6);
  assert.equal(ids.resolve(LAST_PREPARED), undefined, 'never falls back to an older statement');
  assert.equal(ids.resolve(5)?.inspection, 'a');
});

test('long data accumulates per parameter up to a bound; past it the statement is marked and emptied', () => {
  const ids = new StatementIds<string>();
  const s = ids.add({ id: 1, inspection: 'INSERT ?', decision: ALLOW, params: 1, columns: [] });
  ids.addLongData(s, 0, Buffer.from('abc'), 10);
  ids.addLongData(s, 0, Buffer.from('def'), 10);
  assert.equal(Buffer.concat(s.longData.get(0)!).toString(), 'abcdef');
  ids.addLongData(s, 0, Buffer.from('ghijk'), 10);
  assert.equal(s.longDataOverflow, true);
  assert.equal(s.longDataBytes, 0);
  ids.reset(s);
  assert.equal(s.longDataOverflow, false);
});

test('a reset closes the cursor unless told to keep it', () => {
  const ids = new StatementIds<string>();
  const s = ids.add({ id: 1, inspection: 'SELECT', decision: ALLOW, params: 0, columns: [] });
  s.cursor = { columns: [], rule: 'r' };
  ids.reset(s, { keepCursor: true });
  assert.ok(s.cursor);
  ids.reset(s);
  assert.equal(s.cursor, undefined);
});
