// inspect: SQL text → one InspectedStatement per statement, using the real PostgreSQL grammar
// (libpg-query, the server's own parser compiled to WASM). A string the grammar rejects becomes a
// single `unparsable` statement that policy denies unless it opts out. Results are cached by
// exact text: clients send the same few statements thousands of times.
import { loadModule, parseSync } from 'libpg-query';
import type { CommandFacts } from '../../../policies/model.js';
import { classify } from './sql-kinds.js';
import { collectTreeFacts } from './sql-tables.js';
import { replaceLiterals } from './sql-literals.js';

export interface InspectedStatement {
  facts: CommandFacts;
  /** This statement's own text. */
  text: string;
  /** The text with literals replaced by `?` (db.query.text). */
  queryText: string;
  /** db.collection.name: the table when the statement touches exactly one. */
  collection?: string;
  /** Functions called anywhere in the statement. */
  functions?: readonly string[];
  /** Parser message for an unparsable statement. */
  error?: string;
}

let loaded: Promise<void> | undefined;

export function initSqlInspector(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

const CACHE_ENTRIES = 4096;
const CACHEABLE_TEXT = 64 * 1024;
const cache = new Map<string, readonly InspectedStatement[]>();
let hits = 0;
let misses = 0;

export function inspectionCacheStats(): { hits: number; misses: number; size: number } {
  return { hits, misses, size: cache.size };
}

export function inspectSql(text: string, opts: { target: string; prepared?: boolean }): InspectedStatement[] {
  const key = `${opts.prepared ? 'P' : 'Q'}${opts.target}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) {
    hits++;
    // Refresh recency (Map keeps insertion order: oldest first).
    cache.delete(key);
    cache.set(key, cached);
    return cached as InspectedStatement[];
  }
  misses++;
  const result = deepFreeze(inspectUncached(text, opts));
  if (text.length <= CACHEABLE_TEXT) {
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(key, result);
  }
  return result;
}

function inspectUncached(text: string, opts: { target: string; prepared?: boolean }): InspectedStatement[] {
  // An empty string is a valid (empty) query to PostgreSQL, which the parser library rejects.
  if (text.trim() === '') return [];
  let parsed: { stmts?: { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  try {
    parsed = parseSync(text) as typeof parsed;
  } catch (err) {
    return [unparsable(text, opts, (err as Error).message)];
  }
  const stmts = parsed.stmts ?? [];
  const bytes = Buffer.from(text, 'utf8');
  const multi = stmts.length > 1;
  return stmts.map((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    const own = bytes.toString('utf8', start, end).trim();
    const [type, node] = Object.entries(s.stmt)[0] as [string, Record<string, unknown>];
    const c = inner(type, node);
    const tree = collectTreeFacts(s.stmt);
    const flags = [...c.flags];
    if (tree.functions.length > 0 && !flags.includes('function-call')) flags.push('function-call');
    // Statements that can change how unqualified names resolve (policy then reads them warily).
    const setsSearchPath =
      ((type === 'VariableSetStmt') && (node['name'] === 'search_path' || node['kind'] === 'VAR_RESET_ALL')) ||
      tree.functions.some((f) => f === 'set_config' || f === 'pg_catalog.set_config');
    if (setsSearchPath) flags.push('search-path');
    if (multi) flags.push('multi-statement');
    if (opts.prepared) flags.push('prepared');
    const facts: CommandFacts = {
      protocol: 'postgres',
      target: opts.target,
      text: own,
      operation: c.operation,
      kinds: c.kinds,
      tables: tree.tables,
      flags,
    };
    const only = tree.tables.length === 1 ? tree.tables[0]! : undefined;
    return {
      facts,
      text: own,
      queryText: replaceLiterals(own),
      collection: only ? (only.schema ? `${only.schema}.${only.name}` : only.name) : undefined,
      functions: tree.functions,
    };
  });
}

/** EXPLAIN ANALYZE and PREPARE carry the kinds of the statement they wrap: it runs (or will). */
function inner(type: string, node: Record<string, unknown>) {
  const c = classify(type, node);
  if (type === 'ExplainStmt' || type === 'PrepareStmt') {
    const query = node['query'] as Record<string, unknown> | undefined;
    const wrapped = query ? (Object.entries(query)[0] as [string, Record<string, unknown>] | undefined) : undefined;
    if (!wrapped) return c;
    const w = classify(wrapped[0], wrapped[1]);
    if (type === 'PrepareStmt') return { operation: 'PREPARE', kinds: [...w.kinds, 'prepare'], flags: [...w.flags] };
    const analyze = ((node['options'] as unknown[] | undefined) ?? []).some(
      (o) => ((o as Record<string, Record<string, unknown>>)['DefElem']?.['defname'] as string | undefined) === 'analyze',
    );
    if (analyze) return { operation: 'EXPLAIN', kinds: ['explain', ...w.kinds.filter((k) => k !== 'explain')], flags: [...w.flags] };
  }
  return c;
}

function unparsable(text: string, opts: { target: string; prepared?: boolean }, message: string): InspectedStatement {
  return {
    facts: {
      protocol: 'postgres',
      target: opts.target,
      text,
      operation: 'UNKNOWN',
      kinds: ['unparsable'],
      tables: [],
      flags: opts.prepared ? ['unparsable', 'prepared'] : ['unparsable'],
    },
    text,
    queryText: replaceLiterals(text),
    error: message,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
