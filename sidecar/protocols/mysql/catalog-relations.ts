// What masking needs of the catalog: for each relation a statement names, whether it is a base
// table, a view or something else, and its columns. A MySQL column definition names a column's
// table and original name only for a plain column of a base table; a view reports itself and its
// own column names, an expression reports nothing, so a column rule like `customers.card` could
// not be matched to `SELECT c FROM v` or `SELECT CONCAT(card, '')` without knowing what the
// statement reads (derived-columns.ts decides from these relations).
//
// Looked up over a short-lived side connection with the session's own credentials, cached per
// target for a short time; a DDL seen through sidegate drops the target's entries. Staleness can
// only make masking stricter: a column counts as a base table's only when the lookup said so.
import type { Principal, TableRef, TargetSpec } from '../../../core/vocabulary.js';
import type { CredentialSource } from '../../identity/credential-source.js';
import { connectUpstream } from './upstream-connection.js';
import { sideQuery } from './side-query.js';

/** A relation as the catalog describes it; `type` is information_schema.TABLES.TABLE_TYPE. */
export interface MysqlRelation {
  schema: string;
  name: string;
  type: string;
  columns: readonly string[];
}

/** How long an answer is trusted. */
export const CACHE_TTL_MS = 2_000;
const MAX_CACHED = 50_000;

interface Entry {
  /** null: the catalog has no such relation (a temporary table, a CTE name). */
  value: MysqlRelation | null;
  at: number;
}

export class MysqlCatalog {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private count = 0;

  constructor(private readonly credentials: CredentialSource) {}

  /** The relations, when every one is cached and fresh. */
  cached(target: string, refs: readonly Required<TableRef>[]): Array<MysqlRelation | null> | undefined {
    const byTarget = this.entries.get(target);
    if (!byTarget) return refs.length === 0 ? [] : undefined;
    const now = Date.now();
    const out: Array<MysqlRelation | null> = [];
    for (const r of refs) {
      const e = byTarget.get(key(r));
      if (!e || now - e.at > CACHE_TTL_MS) return undefined;
      out.push(e.value);
    }
    return out;
  }

  async resolve(target: TargetSpec, principal: Principal, refs: readonly Required<TableRef>[]): Promise<Array<MysqlRelation | null>> {
    if (refs.length === 0) return [];
    const credential = await this.credentials.credentialsFor(target, principal);
    const conn = await connectUpstream({ host: target.host, port: target.port, tls: target.tls, user: credential.username, password: credential.password });
    let rows: Array<Array<Buffer | null>>;
    try {
      rows = await sideQuery(conn, relationsQuery(refs));
    } finally {
      conn.socket.destroy();
    }
    const found = new Map<string, MysqlRelation>();
    for (const [schema, name, type, column] of rows) {
      const r = { schema: text(schema), name: text(name) };
      const k = key(r);
      let rel = found.get(k);
      if (!rel) found.set(k, (rel = { ...r, type: text(type), columns: [] }));
      if (column) (rel.columns as string[]).push(text(column));
    }
    let byTarget = this.entries.get(target.name);
    if (!byTarget) this.entries.set(target.name, (byTarget = new Map()));
    if (this.count > MAX_CACHED) this.clear();
    const at = Date.now();
    return refs.map((r) => {
      const value = found.get(key(r)) ?? null;
      if (!byTarget!.has(key(r))) this.count++;
      byTarget!.set(key(r), { value, at });
      return value;
    });
  }

  /** A DDL statement ran through sidegate: the target's answers may be out of date. */
  invalidate(target: string): void {
    const byTarget = this.entries.get(target);
    if (byTarget) this.count -= byTarget.size;
    this.entries.delete(target);
  }

  private clear(): void {
    this.entries.clear();
    this.count = 0;
  }
}

function key(r: { schema: string; name: string }): string {
  // Table names compare case-insensitively on the default (lower_case_table_names) setups; the
  // lookup itself matches case-insensitively too, so the cache may only ever be stricter.
  return `${r.schema}\0${r.name}`.toLowerCase();
}

function text(b: Buffer | null | undefined): string {
  return b ? b.toString('utf8') : '';
}

/** Names as hex literals: nothing in them can end a string or change the statement. */
export function relationsQuery(refs: readonly Required<TableRef>[]): string {
  const hex = (s: string) => `CONVERT(X'${Buffer.from(s, 'utf8').toString('hex')}' USING utf8mb4)`;
  const where = refs.map((r) => `(t.TABLE_SCHEMA = ${hex(r.schema)} AND t.TABLE_NAME = ${hex(r.name)})`).join(' OR ');
  return (
    'SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME FROM information_schema.TABLES t ' +
    'LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME ' +
    `WHERE ${where} ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION`
  );
}
