// inspect: MySQL/MariaDB SQL text → one InspectedMysqlStatement per statement. Our lexer
// (sql-lexer.ts) cuts the text into statements and comments exactly as the server does; each
// statement's canonical text is parsed by node-sql-parser in the MySQL or MariaDB dialect, or
// read by one of the fixed token forms the grammar lacks (sql-token-statements.ts). A statement
// neither reads is `unparsable`, which policy denies unless it opts out. docs/MYSQL.md.
import type { CommandFacts } from '../../../core/vocabulary.js';
import { TextKeyedLru } from '../../../core/collections/text-keyed-lru.js';
import { lexMysql, literalFreeText, type LexedStatement } from './sql-lexer.js';
import { statementFacts, type CommandShape, type StatementFacts } from './sql-statement-facts.js';
import { tokenForm, type KillTarget } from './sql-token-statements.js';
import { possibleSessionSettings } from './sql-session-settings.js';

export type MysqlDialect = 'mysql' | 'mariadb';

export interface InspectedMysqlStatement {
  /** The statement: kinds, tables and flags are the union over everything nested in it. */
  facts: CommandFacts;
  /** Commands nested in it (its own part first), each decided on its own (decisionFacts). */
  nested?: readonly CommandFacts[];
  /** This statement's own text. */
  text: string;
  /** The text with literals replaced by `?` (db.query.text). */
  queryText: string;
  /** db.collection.name: the table when the statement touches exactly one. */
  collection?: string;
  /** The grammar's message when unparsable (literal-free: the grammar only saw stand-ins). */
  error?: string;
  /** The client character set the statement sets (lower case), '?' when not a literal. */
  charset?: string;
  /** The sql_mode the statement sets (upper case), '?' when not a literal. */
  sqlMode?: string;
  /** KILL [QUERY|CONNECTION] n. */
  kill?: KillTarget;
  /** The inspection of this statement's shape it was made from, when only literal values differ. */
  template?: InspectedMysqlStatement;
}

export interface MysqlInspectOptions {
  target: string;
  dialect: MysqlDialect;
  /** The text arrived in COM_STMT_PREPARE. */
  prepared?: boolean;
  /** The session's sql_mode has NO_BACKSLASH_ESCAPES. */
  noBackslashEscapes?: boolean;
}

interface Grammar {
  parse(sql: string, opts: { database: string }): { ast: unknown };
}

const grammars: Partial<Record<MysqlDialect, Grammar>> = {};
let loaded: Promise<void> | undefined;

/** Loads both grammars; call once before `inspectMysql`. */
export function initMysqlInspector(): Promise<void> {
  loaded ??= Promise.all([import('node-sql-parser/build/mysql.js'), import('node-sql-parser/build/mariadb.js')]).then(([my, maria]) => {
    grammars.mysql = new (parserClass(my))();
    grammars.mariadb = new (parserClass(maria))();
  });
  return loaded;
}

function parserClass(mod: unknown): new () => Grammar {
  const m = mod as { Parser?: new () => Grammar; default?: { Parser: new () => Grammar } };
  const Parser = m.Parser ?? m.default?.Parser;
  if (!Parser) throw new Error('node-sql-parser build without a Parser');
  return Parser;
}

/** PREPARE … FROM 'text' nests this deep at most; deeper text is unparsable. */
const MAX_PREPARE_DEPTH = 3;

const CACHE_ENTRIES = 2000;
const CACHEABLE_TEXT = 64 * 1024;
const CACHE_TEXT_BUDGET = 16 * 1024 * 1024;
/** By exact text (and options). */
const cache = new TextKeyedLru<readonly InspectedMysqlStatement[]>(CACHE_ENTRIES, CACHE_TEXT_BUDGET);
/** Single plain-DML statements by their literal-free text: literal values change nothing policy sees. */
const shapes = new TextKeyedLru<InspectedMysqlStatement>(CACHE_ENTRIES, CACHE_TEXT_BUDGET);
const SHAPE_CACHEABLE_OPERATIONS: ReadonlySet<string> = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

/**
 * Every statement of `text`, inspected. Empty or comment-only text gives []; text that does not
 * lex (an unterminated string or comment) gives one `unparsable` statement. Results are frozen:
 * they may be cached objects other callers hold too.
 */
export function inspectMysql(text: string, opts: MysqlInspectOptions): InspectedMysqlStatement[] {
  const grammar = grammars[opts.dialect];
  if (!grammar) return [deepFreeze(unparsable(text, text, opts, 'SQL inspector not initialised'))];
  const key = `${opts.prepared ? 'P' : 'Q'}${opts.noBackslashEscapes ? 'N' : 'B'}${opts.dialect}\u0000${opts.target}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) return cached as InspectedMysqlStatement[];
  const lexed = lexMysql(text, { dialect: opts.dialect, noBackslashEscapes: opts.noBackslashEscapes });
  if (!lexed.ok) return [deepFreeze(unparsable(text.trim(), '?', opts, lexed.error))];
  const multi = lexed.statements.length > 1;
  const out: InspectedMysqlStatement[] = [];
  let shapeKey: string | undefined;
  for (const s of lexed.statements) {
    const queryText = literalFreeText(text, s);
    if (!multi && queryText !== s.text && text.length <= CACHEABLE_TEXT) {
      shapeKey = `${key.slice(0, key.indexOf('\u0000', key.indexOf('\u0000') + 1))}\u0000${queryText}`;
      const template = shapes.get(shapeKey);
      if (template) return [deepFreeze({ ...template, template, text: s.text, facts: { ...template.facts, text: s.text } })];
    }
    out.push(inspectStatement(grammar, s, queryText, opts, multi));
  }
  const result = deepFreeze(out);
  if (text.length <= CACHEABLE_TEXT) {
    const only = result.length === 1 ? result[0]! : undefined;
    if (shapeKey !== undefined && only && only.error === undefined && only.nested === undefined && SHAPE_CACHEABLE_OPERATIONS.has(only.facts.operation)) {
      shapes.set(shapeKey, only);
    } else if (shapeKey === undefined) {
      cache.set(key, result);
    }
  }
  return result;
}

function inspectStatement(grammar: Grammar, s: LexedStatement, queryText: string, opts: MysqlInspectOptions, multi: boolean): InspectedMysqlStatement {
  const added: string[] = [];
  if (multi) added.push('multi-statement');
  if (opts.prepared) added.push('prepared');
  if (s.executableComment) added.push('executable-comment');
  let f: StatementFacts & { kill?: KillTarget };
  try {
    f = readStatement(grammar, s, opts, 0);
  } catch (err) {
    const message = err instanceof Error ? err.message : 'syntax error';
    const u = unparsable(s.text, queryText, opts, boundedMessage(message));
    u.facts = { ...u.facts, flags: [...u.facts.flags, ...added.filter((a) => a !== 'prepared')] };
    Object.assign(u, possibleSessionSettings(s.tokens));
    if (localInfile(s)) u.facts = { ...u.facts, flags: [...u.facts.flags, 'local-infile'] };
    return u;
  }
  const commandFacts = (c: CommandShape): CommandFacts => {
    const facts: CommandFacts = { protocol: 'mysql', target: opts.target, text: s.text, operation: c.operation, kinds: c.kinds, tables: c.tables, flags: unique([...c.flags, ...added]) };
    if (c.functions.length > 0) facts.functions = c.functions;
    return facts;
  };
  const inspected: InspectedMysqlStatement = { facts: commandFacts(f), text: s.text, queryText };
  if (f.nested.length > 0) inspected.nested = f.nested.map(commandFacts);
  const only = f.tables.length === 1 ? f.tables[0]! : undefined;
  if (only) inspected.collection = only.schema ? `${only.schema}.${only.name}` : only.name;
  // A SET the grammar read but whose value it did not give (`= DEFAULT` spelled otherwise): '?'.
  const possible = possibleSessionSettings(s.tokens);
  const charset = f.charset ?? possible.charset;
  const sqlMode = f.sqlMode ?? possible.sqlMode;
  if (charset !== undefined) inspected.charset = charset;
  if (sqlMode !== undefined) inspected.sqlMode = sqlMode;
  if (f.kill) inspected.kill = f.kill;
  return inspected;
}

/** A statement's facts, by a fixed token form or by the grammar; throws when neither reads it. */
function readStatement(grammar: Grammar, s: LexedStatement, opts: MysqlInspectOptions, depth: number): StatementFacts & { kill?: KillTarget } {
  const form = tokenForm(s.tokens, s.canonical);
  if (!form) return parseCanonical(grammar, s.canonical, s.strings, opts);
  switch (form.kind) {
    case 'facts': {
      const out: StatementFacts & { kill?: KillTarget } = { operation: form.operation, kinds: form.kinds, tables: form.tables ?? [], flags: form.flags, functions: [], nested: [] };
      if (form.charset !== undefined) out.charset = form.charset;
      if (form.kill) out.kill = form.kill;
      return out;
    }
    case 'do': {
      const inner = parseCanonical(grammar, form.select, s.strings, opts);
      return withOwn(inner, 'DO', ['do', 'procedural', 'write']);
    }
    case 'analyze': {
      // EXPLAIN ANALYZE / ANALYZE run the statement: it is what runs, as postgres's EXPLAIN ANALYZE.
      // The statement is a command of its own: `explain` allowed does not allow the DELETE it runs.
      const inner = parseCanonical(grammar, form.statement, s.strings, opts);
      return withOwn(inner, form.operation, ['explain']);
    }
    case 'set-statement': {
      const settings = parseCanonical(grammar, form.set, s.strings, opts);
      const inner = parseCanonical(grammar, form.statement, s.strings, opts);
      const out = { ...inner, flags: unique([...inner.flags, 'set-statement']) };
      if (settings.charset !== undefined) out.charset = settings.charset;
      if (settings.sqlMode !== undefined) out.sqlMode = settings.sqlMode;
      return out;
    }
    case 'prepare': {
      // The literal is SQL the server will run on EXECUTE: each of its statements is nested here.
      if (depth >= MAX_PREPARE_DEPTH) throw new Error('PREPARE nested too deeply');
      const lexed = lexMysql(form.text, { dialect: opts.dialect, noBackslashEscapes: opts.noBackslashEscapes });
      if (!lexed.ok) throw new Error(lexed.error);
      // The server prepares exactly one statement.
      if (lexed.statements.length !== 1) throw new Error('PREPARE of other than one statement');
      const inner = readStatement(grammar, lexed.statements[0]!, opts, depth + 1);
      const { nested, charset, sqlMode, kill: _k, ...shape } = inner;
      const kinds = unique([...inner.kinds, 'prepare']);
      const flags = unique([...inner.flags, 'dynamic-sql', ...(lexed.statements[0]!.executableComment ? ['executable-comment'] : [])]);
      const own: CommandShape = { operation: 'PREPARE', kinds: ['prepare'], tables: [], flags: ['dynamic-sql'], functions: [] };
      const out: StatementFacts = { operation: 'PREPARE', kinds, tables: inner.tables, flags, functions: inner.functions, nested: [own, ...(nested.length > 0 ? nested : [shape])] };
      if (charset !== undefined) out.charset = charset;
      if (sqlMode !== undefined) out.sqlMode = sqlMode;
      return out;
    }
  }
}

/** `inner`'s facts under an own operation and kinds that are decided too (its own part first). */
function withOwn(inner: StatementFacts, operation: string, ownKinds: string[]): StatementFacts {
  const { nested, charset: _c, sqlMode: _s, ...shape } = inner;
  const own: CommandShape = { operation, kinds: [...ownKinds], tables: [...inner.tables], flags: [...inner.flags], functions: inner.functions };
  return { ...inner, operation, kinds: unique([...ownKinds, ...inner.kinds]), nested: [own, ...(nested.length > 0 ? nested : [shape])] };
}

function parseCanonical(grammar: Grammar, canonical: string, strings: readonly string[], opts: MysqlInspectOptions): StatementFacts {
  let ast: unknown;
  try {
    ({ ast } = grammar.parse(canonical, { database: opts.dialect }));
  } catch (err) {
    // The MariaDB build rejects some plain SQL the two servers share (an unquoted column named
    // `status`, `DELETE … LIMIT`); the MySQL build reads those. Where a statement ends, what is a
    // string and what a comment were decided by the lexer, not by either grammar.
    const mysql = opts.dialect === 'mariadb' ? grammars.mysql : undefined;
    if (!mysql) throw err;
    try {
      ({ ast } = mysql.parse(canonical, { database: 'mysql' }));
    } catch {
      throw err;
    }
  }
  const list = Array.isArray(ast) ? ast : [ast];
  if (list.length !== 1 || list[0] === null || typeof list[0] !== 'object') throw new Error('not one statement');
  return statementFacts(list[0] as Record<string, unknown>, strings);
}

/** Decided for a command: every statement and every command nested in each; the strictest wins. */
export function decisionFacts(inspected: readonly InspectedMysqlStatement[]): CommandFacts[] {
  const out: CommandFacts[] = [];
  for (const s of inspected) {
    out.push(s.facts);
    if (s.nested) out.push(...s.nested);
  }
  return out;
}

/** LOAD DATA LOCAL: the proxy refuses the file request anyway; flag it even when unparsable. */
function localInfile(s: LexedStatement): boolean {
  const w = s.tokens.slice(0, 3).map((t) => (t.kind === 'word' ? t.value.toUpperCase() : ''));
  return w[0] === 'LOAD' && w[2] === 'LOCAL';
}

function unparsable(text: string, queryText: string, opts: MysqlInspectOptions, message: string): InspectedMysqlStatement {
  return {
    facts: { protocol: 'mysql', target: opts.target, text, operation: 'UNKNOWN', kinds: ['unparsable'], tables: [], flags: opts.prepared ? ['unparsable', 'prepared'] : ['unparsable'] },
    text,
    queryText,
    error: message,
  };
}

/** The grammar quotes what it found: it saw stand-ins for strings, but a number is a literal too. */
function boundedMessage(message: string): string {
  const safe = message.replace(/but "([^"]*)" found/, (all, found: string) => (/\d/.test(found) ? 'but "?" found' : all));
  return safe.length > 200 ? `${safe.slice(0, 200)}…` : safe;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
