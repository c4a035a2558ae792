// inspect: SQL text → one InspectedStatement per statement, using the real PostgreSQL grammar
// (libpg-query, the server's own parser compiled to WASM). A string the grammar rejects becomes a
// single `unparsable` statement that policy denies unless it opts out. Results are cached by
// exact text: clients send the same few statements thousands of times; and by shape, the text
// with its literals replaced, for simple-protocol clients that send one statement with ever new
// literals (what policy sees of a statement does not depend on its literal values; only its own
// text, kept for text rules, does, and that is put back).
import { loadModule, parseSync } from './sql-grammar.js';
import type { CommandFacts } from '../../../core/vocabulary.js';
import { statementFacts, type CommandShape } from './sql-statement-facts.js';
import { replaceLiterals } from './sql-literals.js';
import { replacePlainLiterals } from './plain-sql-literals.js';
import { TextKeyedLru } from '../../../core/collections/text-keyed-lru.js';
import { statementOfShape } from './statement-of-shape.js';

export interface InspectedStatement {
  /** The statement: its kinds, tables and flags are the union over everything nested in it. */
  facts: CommandFacts;
  /**
   * One entry per command nested anywhere inside (a data-modifying CTE, what EXPLAIN ANALYZE,
   * PREPARE, DECLARE, COPY, CREATE TABLE AS run, a function with an effect, SQL text a function
   * runs), each decided on its own (decisionFacts). Absent when nothing is nested.
   */
  nested?: readonly CommandFacts[];
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
  /**
   * The inspection of this statement's shape it was made from (statementOfShape), when only its
   * literal values differ: equal to this one in everything but `text` and `facts.text`. What is
   * derived from a statement but its own text (its audit attributes) can be kept per shape.
   */
  template?: InspectedStatement;
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
const cache = new TextKeyedLru<readonly InspectedStatement[]>(CACHE_ENTRIES, CACHE_TEXT_BUDGET);
let hits = 0;
let misses = 0;

/** A single-statement inspection by shape, and how its own text relates to the whole text. */
interface ShapeEntry {
  template: InspectedStatement;
  own: 'trimmed' | 'trimmed-without-semicolon';
}
const shapes = new TextKeyedLru<ShapeEntry>(CACHE_ENTRIES, CACHE_TEXT_BUDGET);

/** Each cache (by text, by shape) is bounded on its own: CACHE_ENTRIES entries, CACHE_TEXT_BUDGET text. */
export function inspectionCacheStats(): { hits: number; misses: number; size: number; shapes: number; textUnits: number } {
  return { hits, misses, size: cache.size, shapes: shapes.size, textUnits: cache.textUnits + shapes.textUnits };
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
    return cached as InspectedStatement[];
  }
  const shape = text.length <= CACHEABLE_TEXT ? replacePlainLiterals(text) : undefined;
  const shapeKey = shape === undefined || shape === text ? undefined : `${opts.prepared ? 'P' : 'Q'}${opts.target}\u0000${shape}`;
  const byShape = shapeKey === undefined ? undefined : shapes.get(shapeKey);
  if (byShape) {
    hits++;
    return [withOwnText(byShape, text)];
  }
  misses++;
  const result = deepFreeze(inspectUncached(text, opts));
  if (shapeKey !== undefined) {
    // Texts with literals are cached by shape only: each one is seldom seen twice.
    const only = result.length === 1 && shapeCacheable(result[0]!) ? result[0]! : undefined;
    const own = only ? ownTextRelation(only.text, text) : undefined;
    if (only && own) shapes.set(shapeKey, { template: only, own });
  } else if (text.length <= CACHEABLE_TEXT) {
    cache.set(key, result);
  }
  return result;
}

/**
 * Plain DML only: what the inspector learns of those does not depend on literal values. Some
 * statements' facts do (EXPLAIN (ANALYZE 0) only explains, EXPLAIN (ANALYZE 1) runs), so
 * everything else is cached by exact text alone.
 */
const SHAPE_CACHEABLE_OPERATIONS: ReadonlySet<string> = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

function shapeCacheable(s: InspectedStatement): boolean {
  // Nested commands can depend on literals: the SQL text query_to_xml runs, set_config's name.
  return s.error === undefined && s.nested === undefined && SHAPE_CACHEABLE_OPERATIONS.has(s.facts.operation) && !s.facts.kinds.some((k) => k === 'explain' || k === 'prepare');
}

/** How a single statement's own text was cut from the whole text, if in one of the usual ways. */
function ownTextRelation(own: string, text: string): ShapeEntry['own'] | undefined {
  const trimmed = text.trim();
  if (own === trimmed) return 'trimmed';
  if (trimmed.endsWith(';') && own === trimmed.slice(0, -1).trim()) return 'trimmed-without-semicolon';
  return undefined;
}

/** The cached inspection with this text's own text (what text rules match and what is audited raw). */
function withOwnText(entry: ShapeEntry, text: string): InspectedStatement {
  const trimmed = text.trim();
  const own = entry.own === 'trimmed' ? trimmed : trimmed.slice(0, -1).trim();
  return deepFreeze(statementOfShape(entry.template, own));
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
  const f = statementFacts(s.stmt);
  const added: string[] = [];
  if (multi) added.push('multi-statement');
  if (opts.prepared) added.push('prepared');
  const flags = [...f.flags, ...added];
  const only = f.tables.length === 1 ? f.tables[0]! : undefined;
  const commandFacts = (c: CommandShape, flags: string[]): CommandFacts => {
    const facts: CommandFacts = { protocol: 'postgres', target: opts.target, text: own, operation: c.operation, kinds: c.kinds, tables: c.tables, flags };
    if (c.functions.length > 0) facts.functions = c.functions;
    return facts;
  };
  const inspected: InspectedStatement = {
    facts: commandFacts(f, flags),
    text: own,
    queryText: replaceLiterals(own),
    functions: f.functions,
  };
  if (f.nested.length > 0) inspected.nested = f.nested.map((n) => commandFacts(n, [...n.flags, ...added]));
  if (only) inspected.collection = only.schema ? `${only.schema}.${only.name}` : only.name;
  return inspected;
}

/**
 * What policy decides for a command: every statement and every command nested in each, the
 * strictest decision winning. A session fact added to a statement (`search-path-changed`) holds
 * for what is nested in it too.
 */
export function decisionFacts(inspected: readonly InspectedStatement[]): CommandFacts[] {
  const out: CommandFacts[] = [];
  for (const s of inspected) {
    out.push(s.facts);
    if (!s.nested) continue;
    const changed = s.facts.flags.includes('search-path-changed');
    for (const n of s.nested) out.push(changed && !n.flags.includes('search-path-changed') ? { ...n, flags: [...n.flags, 'search-path-changed'] } : n);
  }
  return out;
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
