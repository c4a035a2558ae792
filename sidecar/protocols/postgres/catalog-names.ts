// What masking needs of the catalog: table OID → schema-qualified name and columns (RowDescription
// names a column's table only by OID), and relation name → its columns and kind (which tables a
// statement reads, and whether any of them holds a masked column).
//
// The proxy learns these over a short-lived side connection to the same database with the same
// credentials, and caches them per target and database (OIDs are per database). The client's own
// session is never used: injecting a catalog query into it would change what the client sees.
//
// Staleness (a table renamed by a blue/green swap, through sidegate or through any other
// connection) must never make a masked column pass. Three things keep it from doing so:
//   1. Every entry is trusted for at most CACHE_TTL_MS; after that it is looked up again before a
//      result that needs it is planned.
//   2. A DDL statement seen in any session through sidegate (`invalidate`) drops the target's
//      entries at once.
//   3. The name is never the only evidence (row-shape.ts): a result column is matched against its
//      cached table name *and* every relation the statement names, so within the TTL a table
//      renamed to `customers` by another connection is still matched as `customers` by the
//      statement that reads it under that name; and a cached name the statement does not name
//      (a cursor, an EXECUTE) is looked up again (`lookupCached(…, { fresh })`).
import type { Principal, TargetSpec } from '../../../core/vocabulary.js';
import type { CredentialSource } from '../../identity/credential-source.js';
import * as wire from './wire.js';
import { runSimpleQuery } from './simple-query.js';
import type { TableName } from './row-shape.js';

const MAX_CACHED_TABLES = 50_000;
/** How long a catalog answer is trusted (see the file comment). */
export const CACHE_TTL_MS = 2_000;

/** A relation a statement names: its kind (pg_class.relkind) and columns, per schema. */
export interface RelationSource {
  schema: string;
  name: string;
  relkind: string;
  columns: readonly string[];
}

interface Entry<T> {
  value: T;
  at: number;
}

export class CatalogNames {
  private readonly byOid = new Map<string, Map<number, Entry<TableName>>>();
  private readonly byName = new Map<string, Map<string, Entry<RelationSource[]>>>();
  private cachedCount = 0;
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly credentials: CredentialSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts invalidations of a target: plans made from older answers are made again. */
  generation(target: string): number {
    return this.generations.get(target) ?? 0;
  }

  /** Drops everything known of a target: a DDL statement ran there. */
  invalidate(target: string): void {
    this.generations.set(target, this.generation(target) + 1);
    for (const map of [this.byOid, this.byName]) for (const key of [...map.keys()]) if (key.startsWith(`${target}\u0000`)) map.delete(key);
  }

  /** All names known and fresh (or nothing to know) → the map; otherwise null. */
  lookupCached(target: string, database: string, oids: readonly number[]): ReadonlyMap<number, TableName> | null {
    if (oids.length === 0) return new Map();
    const names = this.byOid.get(`${target}\u0000${database}`);
    if (!names) return null;
    const out = new Map<number, TableName>();
    const oldest = this.now() - CACHE_TTL_MS;
    for (const oid of oids) {
      const e = names.get(oid);
      if (!e || e.at < oldest) return null;
      out.set(oid, e.value);
    }
    return out;
  }

  /**
   * The relations named `names` (any schema) and the user-defined functions named `functions`
   * (any schema but pg_catalog and information_schema; each is a source of type 'F' that may read
   * anything), when all are known and fresh; otherwise null.
   */
  sourcesCached(target: string, database: string, names: readonly string[], functions: readonly string[] = []): RelationSource[] | null {
    if (names.length === 0 && functions.length === 0) return [];
    const cache = this.byName.get(`${target}\u0000${database}`);
    if (!cache) return null;
    const oldest = this.now() - CACHE_TTL_MS;
    const out: RelationSource[] = [];
    for (const n of [...names, ...functions.map(functionKey)]) {
      const e = cache.get(n);
      if (!e || e.at < oldest) return null;
      out.push(...e.value);
    }
    return out;
  }

  /**
   * Looks the tables up. Sessions that find the same answer stale at the same moment share one
   * lookup (keyed by what is asked), so an expiring entry costs one side connection, not one per
   * session.
   */
  resolve(target: TargetSpec, database: string, principal: Principal, oids: readonly number[]): Promise<ReadonlyMap<number, TableName>> {
    return this.shared(`o\u0000${target.name}\u0000${database}\u0000${oids.join(',')}`, () => this.resolveNow(target, database, principal, oids));
  }

  /** The relations and user-defined functions a statement names (sourcesCached), looked up. */
  resolveSources(target: TargetSpec, database: string, principal: Principal, names: readonly string[], functions: readonly string[] = []): Promise<RelationSource[]> {
    return this.shared(`n\u0000${target.name}\u0000${database}\u0000${names.join('\u0000')}\u0001${functions.join('\u0000')}`, () =>
      this.resolveSourcesNow(target, database, principal, names, functions),
    );
  }

  private readonly inFlight = new Map<string, Promise<unknown>>();

  private shared<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key);
    if (pending) return pending as Promise<T>;
    const p = run().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async resolveNow(target: TargetSpec, database: string, principal: Principal, oids: readonly number[]): Promise<ReadonlyMap<number, TableName>> {
    const valid = oids.filter((o) => Number.isInteger(o) && o > 0);
    const out = new Map<number, TableName>();
    if (valid.length === 0) return out;
    const key = `${target.name}\u0000${database}`;
    const rows = await this.query(target, database, principal, async (conn) => {
      // OIDs are integers we validated above, so inlining them is safe.
      const list = valid.join(',');
      const rels = await runSimpleQuery(conn, `SELECT c.oid::int8, n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (${list})`);
      const attrs = await runSimpleQuery(conn, `SELECT attrelid::int8, attnum, attname FROM pg_catalog.pg_attribute WHERE attrelid IN (${list}) AND attnum > 0 AND NOT attisdropped`);
      return { rels, attrs };
    });
    const columnsOf = new Map<number, Map<number, string>>();
    for (const [rel, num, col] of rows.attrs) {
      if (!rel || !num || !col) continue;
      const m = columnsOf.get(Number(rel)) ?? new Map<number, string>();
      m.set(Number(num), col);
      columnsOf.set(Number(rel), m);
    }
    const names = this.bucket(this.byOid, key, rows.rels.length);
    const at = this.now();
    for (const [oid, schema, name, relkind] of rows.rels) {
      if (!oid || !name) continue;
      const value: TableName = { schema: schema ?? undefined, name, relkind: relkind ?? undefined, columns: columnsOf.get(Number(oid)) };
      names.set(Number(oid), { value, at });
      out.set(Number(oid), value);
    }
    return out;
  }

  private async resolveSourcesNow(target: TargetSpec, database: string, principal: Principal, names: readonly string[], functions: readonly string[]): Promise<RelationSource[]> {
    if (names.length === 0 && functions.length === 0) return [];
    const key = `${target.name}\u0000${database}`;
    // Names are quoted as SQL literals (standard_conforming_strings is on by default).
    const literals = (list: readonly string[]) => list.map((n) => `'${n.replaceAll('\0', '').replaceAll("'", "''")}'`).join(',') || 'NULL';
    const { rows, procs } = await this.query(target, database, principal, async (conn) => ({
      rows: await runSimpleQuery(
        conn,
        `SELECT n.nspname, c.relname, c.relkind, a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped WHERE c.relname IN (${literals(names)})`,
      ),
      procs:
        functions.length === 0
          ? []
          : await runSimpleQuery(
              conn,
              `SELECT DISTINCT n.nspname, p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname IN (${literals(functions)}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
            ),
    }));
    const found = new Map<string, Map<string, RelationSource>>();
    for (const [schema, name, relkind, column] of rows) {
      if (!name || !schema) continue;
      const bySchema = found.get(name) ?? new Map<string, RelationSource>();
      found.set(name, bySchema);
      const rel = bySchema.get(schema) ?? { schema, name, relkind: relkind ?? '', columns: [] as string[] };
      bySchema.set(schema, rel);
      if (column) (rel.columns as string[]).push(column);
    }
    const userFunctions = new Map<string, RelationSource[]>();
    for (const [schema, name] of procs) {
      if (!schema || !name) continue;
      const list = userFunctions.get(name) ?? [];
      list.push({ schema, name, relkind: 'F', columns: [] });
      userFunctions.set(name, list);
    }
    const cache = this.bucket(this.byName, key, names.length + functions.length);
    const at = this.now();
    const out: RelationSource[] = [];
    for (const n of names) {
      const rels = [...(found.get(n)?.values() ?? [])];
      cache.set(n, { value: rels, at });
      out.push(...rels);
    }
    for (const f of functions) {
      const fns = userFunctions.get(f) ?? [];
      cache.set(functionKey(f), { value: fns, at });
      out.push(...fns);
    }
    return out;
  }

  private bucket<K, T>(map: Map<string, Map<K, Entry<T>>>, key: string, adding: number): Map<K, Entry<T>> {
    if (this.cachedCount + adding > MAX_CACHED_TABLES) {
      this.byOid.clear();
      this.byName.clear();
      this.cachedCount = 0;
    }
    this.cachedCount += adding;
    let m = map.get(key);
    if (!m) {
      m = new Map();
      map.set(key, m);
    }
    return m;
  }

  private async query<T>(target: TargetSpec, database: string, principal: Principal, run: (conn: wire.UpstreamConnection) => Promise<T>): Promise<T> {
    const login = await this.credentials.credentialsFor(target, principal);
    const conn = await wire.connectUpstream({
      host: target.host,
      port: target.port,
      tls: target.tls,
      user: login.username,
      password: login.password,
      database,
      params: { application_name: 'sidegate-catalog' },
    });
    try {
      return await run(conn);
    } finally {
      conn.socket.write(wire.serializeTerminate());
      conn.socket.end();
    }
  }
}

/** Functions share the by-name cache with relations under a key no relation name can have. */
function functionKey(name: string): string {
  return `\u0001${name}`;
}
