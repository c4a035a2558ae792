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

/** A function a statement calls, schema-qualified with the session's database when written bare. */
export interface FunctionRef {
  schema: string;
  name: string;
}

/** What the catalog says of a statement's names: its relations, and which calls are stored functions. */
export interface CatalogAnswer {
  relations: Array<MysqlRelation | null>;
  /** Per function ref: a stored (user-defined) function, whose result may hold any table's values. */
  storedFunctions: boolean[];
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

  /** The answer, when every name is cached and fresh. */
  cached(target: string, refs: readonly Required<TableRef>[], functions: readonly FunctionRef[] = []): CatalogAnswer | undefined {
    const byTarget = this.entries.get(target);
    if (!byTarget) return refs.length === 0 && functions.length === 0 ? { relations: [], storedFunctions: [] } : undefined;
    const now = Date.now();
    const relations: Array<MysqlRelation | null> = [];
    for (const r of refs) {
      const e = byTarget.get(key(r));
      if (!e || now - e.at > CACHE_TTL_MS) return undefined;
      relations.push(e.value);
    }
    const storedFunctions: boolean[] = [];
    for (const f of functions) {
      const e = byTarget.get(functionKey(f));
      if (!e || now - e.at > CACHE_TTL_MS) return undefined;
      storedFunctions.push(e.value !== null);
    }
    return { relations, storedFunctions };
  }

  async resolve(target: TargetSpec, principal: Principal, refs: readonly Required<TableRef>[], functions: readonly FunctionRef[] = []): Promise<CatalogAnswer> {
    if (refs.length === 0 && functions.length === 0) return { relations: [], storedFunctions: [] };
    const credential = await this.credentials.credentialsFor(target, principal);
    const conn = await connectUpstream({ host: target.host, port: target.port, tls: target.tls, user: credential.username, password: credential.password });
    let rows: Array<Array<Buffer | null>> = [];
    let routines: Array<Array<Buffer | null>> = [];
    try {
      if (refs.length > 0) rows = await sideQuery(conn, relationsQuery(refs));
      if (functions.length > 0) routines = await sideQuery(conn, functionsQuery(functions));
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
    const relations = refs.map((r) => {
      const value = found.get(key(r)) ?? null;
      if (!byTarget!.has(key(r))) this.count++;
      byTarget!.set(key(r), { value, at });
      return value;
    });
    const stored = new Set(routines.map(([schema, name]) => functionKey({ schema: text(schema), name: text(name) })));
    const storedFunctions = functions.map((f) => {
      const k = functionKey(f);
      const isStored = stored.has(k);
      if (!byTarget!.has(k)) this.count++;
      // A stored function is recorded as a relation-less entry; a built-in as null.
      byTarget!.set(k, { value: isStored ? { schema: f.schema, name: f.name, type: 'FUNCTION', columns: [] } : null, at });
      return isStored;
    });
    return { relations, storedFunctions };
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

function functionKey(f: FunctionRef): string {
  return `\u0001${key(f)}`;
}

function text(b: Buffer | null | undefined): string {
  return b ? b.toString('utf8') : '';
}

/** Stored functions among the calls (built-ins are not in ROUTINES); names as hex literals. */
export function functionsQuery(functions: readonly FunctionRef[]): string {
  const where = functions.map((f) => `(ROUTINE_SCHEMA = ${hexText(f.schema)} AND ROUTINE_NAME = ${hexText(f.name)})`).join(' OR ');
  return `SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'FUNCTION' AND (${where})`;
}

function hexText(s: string): string {
  return `CONVERT(X'${Buffer.from(s, 'utf8').toString('hex')}' USING utf8mb4)`;
}

/** Names as hex literals: nothing in them can end a string or change the statement. */
export function relationsQuery(refs: readonly Required<TableRef>[]): string {
  const where = refs.map((r) => `(t.TABLE_SCHEMA = ${hexText(r.schema)} AND t.TABLE_NAME = ${hexText(r.name)})`).join(' OR ');
  return (
    'SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME FROM information_schema.TABLES t ' +
    'LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME ' +
    `WHERE ${where} ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION`
  );
}
