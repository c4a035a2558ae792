// inspect: SQL text → one InspectedStatement per statement, using the real PostgreSQL grammar
// (libpg-query, the server's own parser compiled to WASM). A string the grammar rejects becomes a
// single `unparsable` statement that policy denies unless it opts out. Results are cached by
// exact text: clients send the same few statements thousands of times.
import { loadModule, parseSync } from 'libpg-query';
import type { CommandFacts } from '../../../policies/model.js';
import { classifyStatement } from './sql-kinds.js';
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
let ready = false;

/** Loads the parser's WASM module; call once before `inspectSql`. */
export function initSqlInspector(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

export interface InspectOptions {
  target: string;
  /** The text arrived in a Parse message (extended protocol). */
  prepared?: boolean;
}

/**
 * LRU bounds: entry count and total cached text (UTF-16 units). Texts longer than
 * CACHEABLE_TEXT are inspected every time — they are rare, and caching them would let one client
 * pin large strings in memory.
 */
const CACHE_ENTRIES = 2000;
const CACHEABLE_TEXT = 64 * 1024;
const CACHE_TEXT_BUDGET = 16 * 1024 * 1024;
const cache = new Map<string, readonly InspectedStatement[]>();
let cachedText = 0;
let hits = 0;
let misses = 0;

export function inspectionCacheStats(): { hits: number; misses: number; size: number; textUnits: number } {
  return { hits, misses, size: cache.size, textUnits: cachedText };
}

/**
 * Every statement of `text`, inspected. Empty or comment-only text gives []; text the grammar
 * rejects gives one `unparsable` statement. The result and everything in it is frozen: it may be
 * the cached object another caller also holds.
 */
export function inspectSql(text: string, opts: InspectOptions): InspectedStatement[] {
  // Without the grammar nothing can be allowed; this is a wiring mistake, so it is not cached.
  if (!ready) return [deepFreeze(unparsable(text, opts, 'SQL inspector not initialised'))];
  // Target and the prepared flag are part of the facts, so part of the key.
  const key = `${opts.prepared ? 'P' : 'Q'}${opts.target}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) {
    hits++;
    // Refresh recency: a Map iterates in insertion order, so the first key is the least recent.
    cache.delete(key);
    cache.set(key, cached);
    return cached as InspectedStatement[];
  }
  misses++;
  const result = deepFreeze(inspectUncached(text, opts));
  if (text.length <= CACHEABLE_TEXT) {
    cache.set(key, result);
    cachedText += key.length;
    while (cache.size > CACHE_ENTRIES || cachedText > CACHE_TEXT_BUDGET) {
      const oldest = cache.keys().next().value as string;
      cache.delete(oldest);
      cachedText -= oldest.length;
    }
  }
  return result;
}

interface ParsedStatement {
  stmt: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

function inspectUncached(text: string, opts: InspectOptions): InspectedStatement[] {
  let stmts: ParsedStatement[];
  try {
    stmts = (parseSync(text) as { stmts?: ParsedStatement[] }).stmts ?? [];
  } catch (err) {
    // The parser library rejects an empty string, which PostgreSQL accepts as an empty query.
    if (text.trim() === '') return [];
    return [unparsable(text, opts, safeParserMessage(err))];
  }
  const bytes = Buffer.from(text, 'utf8');
  const multi = stmts.length > 1;
  try {
    return stmts.map((s) => inspectOne(s, ownText(bytes, s), opts, multi));
  } catch (err) {
    // Only a tree beyond the walker's depth bound lands here; it is treated like a syntax error.
    return [unparsable(text, opts, safeParserMessage(err))];
  }
}

/**
 * The statement's own text. stmt_location/stmt_len are byte offsets into the UTF-8 text, and a
 * length of 0 means "to the end".
 */
function ownText(bytes: Buffer, s: ParsedStatement): string {
  const start = s.stmt_location ?? 0;
  const end = s.stmt_len ? start + s.stmt_len : bytes.length;
  return bytes.toString('utf8', start, end).trim();
}

function inspectOne(s: ParsedStatement, own: string, opts: InspectOptions, multi: boolean): InspectedStatement {
  const c = classifyStatement(s.stmt);
  const tree = collectTreeFacts(s.stmt);
  const flags = [...c.flags];
  if (tree.functions.length > 0 && !flags.includes('function-call')) flags.push('function-call');
  // set_config('search_path', …) changes name resolution just like SET search_path.
  if (!flags.includes('search-path') && tree.functions.some((f) => f === 'set_config' || f === 'pg_catalog.set_config')) flags.push('search-path');
  if (multi) flags.push('multi-statement');
  if (opts.prepared) flags.push('prepared');
  const only = tree.tables.length === 1 ? tree.tables[0]! : undefined;
  const inspected: InspectedStatement = {
    facts: {
      protocol: 'postgres',
      target: opts.target,
      text: own,
      operation: c.operation,
      kinds: c.kinds,
      tables: tree.tables,
      flags,
    },
    text: own,
    queryText: replaceLiterals(own),
    functions: tree.functions,
  };
  if (only) inspected.collection = only.schema ? `${only.schema}.${only.name}` : only.name;
  return inspected;
}

function unparsable(text: string, opts: InspectOptions, message: string): InspectedStatement {
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

/**
 * The parser quotes the token it stopped at (`syntax error at or near "'hunter2'"`), which can be
 * a literal: that token goes through literal replacement too, and the message is bounded.
 */
function safeParserMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : 'syntax error';
  const message = raw.replace(/ at or near "([\s\S]*)"$/, (_, token: string) => ` at or near "${replaceLiterals(token)}"`);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
