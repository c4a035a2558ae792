import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlInspector, inspectSql } from './sql-inspector.js';
import { sessionObjectOp } from './session-objects.js';

before(() => initSqlInspector());

const op = (sql: string) => sessionObjectOp(inspectSql(sql, { target: 't' })[0]!);

test('cursor statements name their cursor, WITH HOLD is seen', () => {
  assert.deepEqual(op('DECLARE "C x" SCROLL CURSOR WITH HOLD FOR SELECT 1'), { op: 'declare', name: 'C x', hold: true });
  assert.deepEqual(op('declare c cursor for select 1'), { op: 'declare', name: 'c', hold: false });
  assert.deepEqual(op('FETCH ALL FROM c'), { op: 'fetch', name: 'c' });
  assert.deepEqual(op('FETCH 2 "C x"'), { op: 'fetch', name: 'C x' });
  assert.deepEqual(op('MOVE ALL IN c'), { op: 'fetch', name: 'c' });
  assert.deepEqual(op('CLOSE c'), { op: 'close', name: 'c' });
  assert.deepEqual(op('CLOSE ALL'), { op: 'close', name: null });
});

test('prepared statements dropped by SQL are seen', () => {
  assert.deepEqual(op('DEALLOCATE s'), { op: 'deallocate', name: 's' });
  assert.deepEqual(op('DEALLOCATE PREPARE "S"'), { op: 'deallocate', name: 'S' });
  assert.deepEqual(op('DEALLOCATE ALL'), { op: 'deallocate', name: null });
  assert.deepEqual(op('DISCARD ALL'), { op: 'discard-all' });
  assert.equal(op('DISCARD PLANS'), null);
  assert.equal(op('SELECT 1'), null);
});
