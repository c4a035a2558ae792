// The OID table is checked against the real test PostgreSQL 15: every OID names the function the
// table says, and every catalogued pg_catalog function there has its OIDs in the table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { connectDirect } from '../../../test/support/direct-postgres.js';
import { builtinByOid, fastPathCallFacts } from './fastpath-function.js';
import { BUILTIN_FUNCTIONS } from './sql-functions.js';

let client: pg.Client;

before(async () => {
  client = await connectDirect();
});
after(() => client.end());

test('every catalogued pg_catalog function is known by each of its OIDs, and no OID by another name', async () => {
  const r = await client.query<{ oid: number; proname: string }>(
    `SELECT p.oid::int AS oid, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'pg_catalog' AND p.proname = ANY($1)`,
    [[...BUILTIN_FUNCTIONS.keys()]],
  );
  assert.ok(r.rows.length > 90);
  for (const row of r.rows) assert.equal(builtinByOid(row.oid), row.proname, `OID ${row.oid}`);
  const lower = await client.query<{ oid: number }>("SELECT 'pg_catalog.lower(text)'::regprocedure::oid::int AS oid");
  assert.equal(builtinByOid(lower.rows[0]!.oid), undefined);
});

test('fast-path facts: a catalogued OID by its effect, anything else as a call that may run SQL', () => {
  const loOpen = fastPathCallFacts(952, 'db');
  assert.deepEqual([...loOpen.kinds], ['call', 'large-object-read', 'large-object']);
  assert.deepEqual(loOpen.functions, ['pg_catalog.lo_open']);
  assert.ok(fastPathCallFacts(2924, 'db').kinds.includes('dynamic-sql')); // query_to_xml
  const setConfig = fastPathCallFacts(2078, 'db');
  assert.ok(setConfig.flags.includes('text-encoding-change') && setConfig.kinds.includes('role-switch'));
  const unknown = fastPathCallFacts(870, 'db'); // lower(text): not catalogued
  assert.deepEqual([...unknown.kinds], ['call', 'procedural', 'write', 'dynamic-sql']);
  assert.equal(unknown.functions, undefined);
  assert.deepEqual(fastPathCallFacts(99999, 'db').kinds, unknown.kinds);
});
