// Table OID → schema-qualified name, for masking rules written as `table.column` globs.
//
// RowDescription names a column's table only by OID. The proxy learns names over a short-lived
// side connection to the same database with the same credentials, once per OID, and caches them
// per target and database (OIDs are per database). The client's own session is never used for
// this: injecting a catalog query into it would change what the client sees.
import type { Principal, TargetSpec } from '../../../policies/model.js';
import type { CredentialSource } from '../../identity/credential-source.js';
import * as wire from './wire.js';
import { runSimpleQuery } from './simple-query.js';
import type { TableName } from './row-shape.js';

const MAX_CACHED_TABLES = 50_000;

export class CatalogNames {
  private readonly cache = new Map<string, Map<number, TableName>>();
  private cachedCount = 0;

  constructor(private readonly credentials: CredentialSource) {}

  /** All names known already (or nothing to know) → the map; otherwise null. */
  lookupCached(target: string, database: string, oids: readonly number[]): ReadonlyMap<number, TableName> | null {
    const names = this.cache.get(`${target}\u0000${database}`);
    if (oids.length === 0) return names ?? new Map();
    if (!names) return null;
    for (const oid of oids) if (!names.has(oid)) return null;
    return names;
  }

  async resolve(target: TargetSpec, database: string, principal: Principal, oids: readonly number[]): Promise<ReadonlyMap<number, TableName>> {
    const key = `${target.name}\u0000${database}`;
    let names = this.cache.get(key);
    if (!names) {
      names = new Map();
      this.cache.set(key, names);
    }
    const missing = oids.filter((o) => !names!.has(o) && Number.isInteger(o) && o > 0);
    if (missing.length === 0) return names;
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
      // OIDs are integers we validated above, so inlining them is safe.
      const rows = await runSimpleQuery(
        conn,
        `SELECT c.oid::int8, n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (${missing.join(',')})`,
      );
      const attributes = await runSimpleQuery(
        conn,
        `SELECT attrelid::int8, attnum, attname FROM pg_catalog.pg_attribute WHERE attrelid IN (${missing.join(',')}) AND attnum > 0 AND NOT attisdropped`,
      );
      const columnsOf = new Map<number, Map<number, string>>();
      for (const [rel, num, col] of attributes) {
        if (!rel || !num || !col) continue;
        const m = columnsOf.get(Number(rel)) ?? new Map<number, string>();
        m.set(Number(num), col);
        columnsOf.set(Number(rel), m);
      }
      if (this.cachedCount + rows.length > MAX_CACHED_TABLES) {
        this.cache.clear();
        this.cachedCount = 0;
        names = new Map();
        this.cache.set(key, names);
      }
      for (const [oid, schema, name] of rows) {
        if (oid && name) {
          names.set(Number(oid), { schema: schema ?? undefined, name, columns: columnsOf.get(Number(oid)) });
          this.cachedCount++;
        }
      }
      return names;
    } finally {
      conn.socket.write(wire.serializeTerminate());
      conn.socket.end();
    }
  }
}
