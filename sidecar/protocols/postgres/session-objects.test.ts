import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlInspector, inspectSql } from './sql-inspector.js';
import { planSessionObjects, sessionObjectOp } from './session-objects.js';
import { UNCERTAIN } from './server-names.js';
import type { Decision } from '../../../core/vocabulary.js';

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


const allow: Decision = { action: 'allow', rule: 'reads', reason: 'ok' };
const approve: Decision = { action: 'approve', rule: 'writes', reason: 'held' };
const deny: Decision = { action: 'deny', rule: 'no', reason: 'no' };
const q = (sql: string) => inspectSql(sql, { target: 't' });

test('a FETCH is decided as strictly as the statement that created its cursor', () => {
  const del = { statement: { inspected: q('DELETE FROM orders'), decision: approve } };
  const plan = planSessionObjects(q('FETCH ALL FROM c'), allow, (n) => (n === 'c' ? del : undefined), () => undefined);
  assert.ok(plan && plan !== UNCERTAIN);
  assert.equal(plan.decision, approve);
  assert.deepEqual(plan.clears, [del]);
  assert.equal(plan.also[0]?.statement, del.statement);
  assert.equal(plan.also[0]?.portal, del);
  // Once approved for this portal, FETCH runs on under its own decision.
  const again = planSessionObjects(q('MOVE ALL IN c'), allow, () => ({ ...del, cleared: true }), () => undefined);
  assert.ok(again && again !== UNCERTAIN);
  assert.equal(again.decision, allow);
  const denied = planSessionObjects(q('FETCH 1 c'), allow, () => ({ statement: { inspected: [], decision: deny } }), () => undefined);
  assert.ok(denied && denied !== UNCERTAIN);
  assert.equal(denied.decision, deny);
});

test('a FETCH on a cursor nobody decided is refused; an uncertain one waits', () => {
  for (const portal of [undefined, {}]) {
    const plan = planSessionObjects(q('FETCH ALL FROM c'), allow, () => portal, () => undefined);
    assert.ok(plan && plan !== UNCERTAIN);
    assert.equal(plan.decision.action, 'deny');
    assert.equal(plan.decision.rule, 'unattributed-cursor');
  }
  assert.equal(planSessionObjects(q('FETCH ALL FROM c'), allow, () => UNCERTAIN, () => undefined), UNCERTAIN);
});

test('a cursor the same command declares is its own; one it closes is gone; other statements cost nothing', () => {
  const own = planSessionObjects(q('DECLARE c CURSOR FOR SELECT 1; FETCH ALL FROM c'), allow, () => UNCERTAIN, () => undefined);
  assert.ok(own && own !== UNCERTAIN);
  assert.equal(own.decision, allow);
  assert.deepEqual(own.ops[0], { op: 'declare', name: 'c', hold: false });
  const closed = planSessionObjects(q('CLOSE c; FETCH ALL FROM c'), allow, () => ({ statement: { inspected: [], decision: allow } }), () => undefined);
  assert.ok(closed && closed !== UNCERTAIN);
  assert.equal(closed.decision.rule, 'unattributed-cursor');
  assert.equal(planSessionObjects(q('SELECT 1; UPDATE t SET a = 1'), allow, () => UNCERTAIN, () => undefined), null);
});

test('an SQL EXECUTE is decided as strictly as the statement it runs, nested in EXPLAIN ANALYZE too', () => {
  const del = { inspected: q('DELETE FROM orders'), decision: approve };
  for (const sql of ['EXECUTE s', 'EXECUTE s(1, 2)', 'EXPLAIN ANALYZE EXECUTE s', 'CREATE TABLE t AS EXECUTE s']) {
    const plan = planSessionObjects(q(sql), allow, () => undefined, (n) => (n === 's' ? del : undefined));
    assert.ok(plan && plan !== UNCERTAIN, sql);
    assert.equal(plan.decision, approve, sql);
  }
  const unknown = planSessionObjects(q('EXECUTE nope'), allow, () => undefined, () => undefined);
  assert.ok(unknown && unknown !== UNCERTAIN);
  assert.equal(unknown.decision.rule, 'unattributed-statement');
  const own = planSessionObjects(q('PREPARE s AS SELECT 1; EXECUTE s'), allow, () => undefined, () => UNCERTAIN);
  assert.ok(own && own !== UNCERTAIN);
  assert.equal(own.decision, allow);
  const gone = planSessionObjects(q('DEALLOCATE ALL; EXECUTE s'), allow, () => undefined, () => del);
  assert.ok(gone && gone !== UNCERTAIN);
  assert.equal(gone.decision.action, 'deny');
});
