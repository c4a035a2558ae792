// The planner against a catalog whose answers the test controls: a stale name never decides that
// a column is unmasked, plans expire, and a DDL anywhere (a generation bump) drops them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MaskingRule, TargetSpec } from '../../../core/vocabulary.js';
import type { CatalogNames, RelationSource } from './catalog-names.js';
import type { TableName } from './row-shape.js';
import { RowShape } from './row-shape.js';
import { ResultShapePlanner } from './result-shape-planner.js';
import type { InspectedStatement } from './sql-inspector.js';
import * as wire from './wire.js';

const rules: MaskingRule[] = [{ name: 'names', columns: ['customers.name'], detectors: [], strategy: 'redact' }];

/** A catalog with a cache the test fills, and "the truth" that resolve answers with. */
class FakeCatalog {
  cached = new Map<number, TableName>();
  truth = new Map<number, TableName>();
  resolved = 0;
  gen = 0;
  generation(): number {
    return this.gen;
  }
  lookupCached(_t: string, _d: string, oids: readonly number[]): ReadonlyMap<number, TableName> | null {
    return oids.every((o) => this.cached.has(o)) ? this.cached : null;
  }
  sourcesCached(): RelationSource[] {
    return [];
  }
  async resolve(_t: TargetSpec, _d: string, _p: unknown, oids: readonly number[]): Promise<ReadonlyMap<number, TableName>> {
    this.resolved++;
    for (const o of oids) this.cached.set(o, this.truth.get(o)!);
    return this.cached;
  }
  async resolveSources(): Promise<RelationSource[]> {
    return [];
  }
}

const columns = new Map([[2, 'name']]);
const body = wire.serializeRowDescription([{ name: 'who', tableOid: 500, columnAttr: 2, typeOid: 25, typeSize: -1, typeMod: -1, format: 0 }]).subarray(5);
const row = wire.serializeDataRow([Buffer.from('Ada')]).subarray(5);

function statement(sql: string, table: string): InspectedStatement {
  return { text: sql, queryText: sql, facts: { protocol: 'postgres', target: 'pg', text: sql, operation: 'SELECT', kinds: ['read'], tables: [{ name: table }], flags: [] } };
}

function planner(catalog: FakeCatalog): ResultShapePlanner {
  return new ResultShapePlanner({
    catalog: catalog as unknown as CatalogNames,
    target: { name: 'pg' } as TargetSpec,
    database: 'db',
    principal: () => ({ subject: 's', issuer: 'i' }) as never,
    rules,
    hashKey: undefined,
    warn: () => {},
  });
}

async function masked(p: ResultShapePlanner, s: InspectedStatement): Promise<string> {
  const shape = await p.plan(body, s);
  assert.ok(shape instanceof RowShape);
  const r = shape.maskDataRow(row);
  // DataRow: type, length, count, then the one value's length and bytes.
  return r ? r.message.subarray(11).toString() : 'Ada';
}

test('a table renamed to customers by another connection: the stale cached name is not trusted', async () => {
  const catalog = new FakeCatalog();
  catalog.cached.set(500, { name: 'customers_green', columns });
  catalog.truth.set(500, { name: 'customers', columns });
  const p = planner(catalog);
  // The statement names `customers`; the cache says OID 500 is customers_green: looked up again.
  assert.equal(await masked(p, statement('SELECT name AS who FROM customers', 'customers')), '[REDACTED]');
  assert.equal(catalog.resolved, 1);
});

test('a cached name the statement vouches for is used without a lookup, and the plan is reused', async () => {
  const catalog = new FakeCatalog();
  catalog.cached.set(500, { name: 'customers', columns });
  const p = planner(catalog);
  const s = statement('SELECT name AS who FROM customers', 'customers');
  assert.equal(await masked(p, s), '[REDACTED]');
  assert.equal(catalog.resolved, 0, 'consistent: no lookup');
  // The same statement again: the cached plan, no lookup, synchronously.
  assert.ok(p.plan(body, s) instanceof RowShape);
});

test('a DDL through sidegate (generation bump) drops the plans; a cursor statement always looks up', async () => {
  const catalog = new FakeCatalog();
  catalog.cached.set(500, { name: 'customers', columns });
  catalog.truth.set(500, { name: 'customers', columns });
  const p = planner(catalog);
  const s = statement('SELECT name AS who FROM customers', 'customers');
  await p.plan(body, s);
  const first = p.plan(body, s);
  catalog.gen++;
  catalog.cached.set(500, { name: 'archive', columns });
  const again = await p.plan(body, s);
  assert.notEqual(again, first, 'planned again after the bump');
  const fetch: InspectedStatement = { ...statement('FETCH ALL FROM cur', 'x'), facts: { ...statement('FETCH ALL FROM cur', 'x').facts, operation: 'FETCH', tables: [] } };
  catalog.cached.set(500, { name: 'customers_green', columns });
  catalog.truth.set(500, { name: 'customers', columns });
  const before = catalog.resolved;
  assert.equal(await masked(p, fetch), '[REDACTED]');
  assert.equal(catalog.resolved, before + 1, 'a name no statement vouches for is looked up');
});
