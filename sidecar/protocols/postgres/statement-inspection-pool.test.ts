import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { StatementInspectionPool, StatementRefused, checkStatementSize, MAX_STATEMENT_BYTES } from './statement-inspection-pool.js';

const pool = new StatementInspectionPool({ maxQueued: 2, idleMs: 200 });
after(() => pool.close());

test('a large statement is inspected in the worker with the same facts as on the main thread', async () => {
  const sql = `WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d WHERE note <> '${'x'.repeat(100_000)}'`;
  const r = await pool.inspect(sql, { target: 'pg' });
  assert.equal(r.sql, sql);
  assert.equal(r.inspected.length, 1);
  assert.ok(r.inspected[0]!.facts.tables.some((t) => t.name === 'orders'));
  assert.equal(r.mode.kind === 'refused', false);
});

test('every statement of a multi-statement text comes back', async () => {
  const r = await pool.inspect(`SELECT 1; SELECT * FROM secrets; -- ${'y'.repeat(70_000)}`, { target: 'pg' });
  assert.equal(r.inspected.length, 2);
});

test('beyond the queue bound new statements are refused with 53000, not queued', async () => {
  const big = `SELECT '${'z'.repeat(500_000)}'`;
  const a = pool.inspect(big, { target: 'pg' });
  const b = pool.inspect(big, { target: 'pg' });
  await assert.rejects(pool.inspect(big, { target: 'pg' }), (e: unknown) => e instanceof StatementRefused && e.sqlState === '53000');
  await Promise.all([a, b]);
});

test('statement messages above the hard limit are refused with 54000', () => {
  checkStatementSize(MAX_STATEMENT_BYTES);
  assert.throws(() => checkStatementSize(MAX_STATEMENT_BYTES + 1), (e: unknown) => e instanceof StatementRefused && e.sqlState === '54000');
  assert.throws(() => checkStatementSize(70_000, 65_536), (e: unknown) => e instanceof StatementRefused && /65536/.test(e.message));
});

test('a statement too complex for the worker heap is refused with 54000; the next one gets a new worker', async () => {
  const small = new StatementInspectionPool({ heapMb: 16 });
  try {
    const dense = `SELECT 1 WHERE 1 NOT IN (${Array.from({ length: 200_000 }, () => '1').join(',')})`;
    await assert.rejects(small.inspect(dense, { target: 'pg' }), (e: unknown) => e instanceof StatementRefused && e.sqlState === '54000');
    const r = await small.inspect(`SELECT 2 /* ${'q'.repeat(70_000)} */`, { target: 'pg' });
    assert.equal(r.inspected.length, 1);
  } finally {
    await small.close();
  }
});

test('the worker stops when idle and starts again on demand', async () => {
  await new Promise((r) => setTimeout(r, 400));
  const r = await pool.inspect(`SELECT 1 /* ${'w'.repeat(70_000)} */`, { target: 'pg' });
  assert.equal(r.inspected.length, 1);
});
