// What one statement parsed by node-sql-parser does (pure): operation and kinds from its root,
// tables, functions and session settings from everywhere in its tree, and the commands nested in
// it (the SELECT of CREATE TABLE … SELECT or a view, a trigger's body, a file a statement reads or
// writes on the server, a function with an effect of its own), each decided on its own so that a
// rule allowing `read` never lets the CREATE of a CREATE TABLE … SELECT through.
import type { TableRef } from '../../../core/vocabulary.js';
import { functionEffect } from './sql-functions.js';
import { sessionSettings, type SessionSettings } from './sql-session-settings.js';

type Node = Record<string, unknown>;

/** One command's facts, without what the caller adds (protocol, target, text). */
export interface CommandShape {
  operation: string;
  kinds: string[];
  tables: TableRef[];
  flags: string[];
  functions: string[];
}

export interface StatementFacts extends CommandShape, SessionSettings {
  /** Commands nested in the statement, the statement's own part first; empty when none. */
  nested: CommandShape[];
}

/** Guards the walk against a pathological tree. */
const MAX_DEPTH = 2000;

/**
 * `strings` are the statement's decoded string literals: the grammar saw `'s<index>'` stand-ins
 * (sql-lexer.ts), so values are read from there, never from the tree.
 */
export function statementFacts(ast: Node, strings: readonly string[]): StatementFacts {
  const own = classify(ast);
  const tree = walkTree(ast);
  const nested: CommandShape[] = [];
  const functions = unique(tree.functions);
  const flags = [...own.flags];
  const kinds = [...own.kinds];
  if (functions.length > 0) flags.push('function-call');
  for (const fn of functions) {
    const effect = functionEffect(fn);
    if (!effect) continue;
    if (effect.separate) nested.push({ operation: 'FUNCTION', kinds: [...effect.kinds], tables: [], flags: ['function-call'], functions: [fn] });
    else kinds.push(...effect.kinds);
  }
  if (own.serverFile) {
    flags.push('server-file');
    nested.push({ operation: own.operation, kinds: [...own.serverFile], tables: [...tree.tables], flags: ['server-file'], functions: [] });
  }
  // Statements that run (or store, for views and triggers) a query: it is a command of its own.
  for (const body of tree.bodies) {
    const inner = statementFacts(body, strings);
    const { nested: innerNested, charset: _c, sqlMode: _s, ...shape } = inner;
    nested.push(...(innerNested.length > 0 ? innerNested : [shape]));
  }
  // A SET whose value is a query reads what the query reads.
  if (ast['type'] === 'set' && tree.tables.length > 0) kinds.push('select', 'read');
  const tables = [...tree.tables];
  if (nested.length > 0) nested.unshift({ operation: own.operation, kinds: [...kinds], tables: [...tree.tables], flags: [...flags], functions });
  for (const n of nested) {
    kinds.push(...n.kinds);
    flags.push(...n.flags);
    for (const t of n.tables) if (!tables.some((u) => u.schema === t.schema && u.name === t.name)) tables.push(t);
  }
  const settings = sessionSettings(tree.assignments, strings);
  if (ast['type'] === 'set' && (ast['keyword'] === 'GLOBAL' || tree.assignments.some((a) => a.global))) kinds.push('admin', 'write');
  // `SET PASSWORD [FOR u] = …` is no variable: it changes an account's password (the grammar reads
  // it as an assignment to a variable named password). Account management, like ALTER USER.
  const password = ast['type'] === 'set' && tree.assignments.some((a) => a.name === 'password');
  // Not also `set, session`: a rule allowing session settings must never match it.
  if (password) kinds.splice(0, kinds.length, 'password', 'role', 'dcl', 'write', ...kinds.filter((k) => k !== 'set' && k !== 'session'));
  return { operation: password ? 'SET PASSWORD' : own.operation, kinds: unique(kinds), tables, flags: unique(flags), functions, nested, ...settings };
}

interface Classification {
  operation: string;
  kinds: string[];
  flags: string[];
  /** Kinds of the server file the statement reads or writes. */
  serverFile?: string[];
}

const c = (operation: string, ...kinds: string[]): Classification => ({ operation, kinds, flags: [] });

/**
 * Whether a SELECT writes a server file: its own INTO OUTFILE/DUMPFILE, or that of any SELECT
 * of its UNION chain (the grammar hangs `… UNION SELECT 2 INTO OUTFILE 'f'` on the last one).
 */
function writesServerFile(ast: Node): boolean {
  for (let node: Node | undefined = ast, depth = 0; node && depth < 10_000; node = node['_next'] as Node | undefined, depth++) {
    const into = node['into'] as Node | undefined;
    const target = typeof into?.['keyword'] === 'string' ? into['keyword'].toLowerCase() : '';
    if (target === 'outfile' || target === 'dumpfile') return true;
  }
  return false;
}

/** The statement's own operation and kinds, from its root node. */
export function classify(ast: Node): Classification {
  const keyword = typeof ast['keyword'] === 'string' ? ast['keyword'].toUpperCase() : '';
  switch (ast['type']) {
    case 'select': {
      const own = ast['locking_read'] ? c('SELECT', 'select', 'read', 'lock') : c('SELECT', 'select', 'read');
      if (writesServerFile(ast)) own.serverFile = ['server-file-write', 'server-file'];
      return own;
    }
    case 'insert':
      return ast['on_duplicate_update'] ? c('INSERT', 'insert', 'upsert', 'write') : c('INSERT', 'insert', 'write');
    case 'replace':
      // REPLACE deletes the rows a new one collides with.
      return c('REPLACE', 'replace', 'insert', 'delete', 'write');
    case 'update':
      return c('UPDATE', 'update', 'write');
    case 'delete':
      return c('DELETE', 'delete', 'write');
    case 'create':
      if (keyword === 'USER' || keyword === 'ROLE') return c(`CREATE ${keyword}`, 'role', 'dcl', 'write');
      return c(`CREATE ${keyword || 'TABLE'}`, 'create', 'ddl', 'write');
    case 'alter':
      return c(`ALTER ${keyword || 'TABLE'}`, 'alter', 'ddl', 'write');
    case 'drop':
      if (keyword === 'USER' || keyword === 'ROLE') return c(`DROP ${keyword}`, 'role', 'dcl', 'write');
      return c(`DROP ${keyword || 'TABLE'}`, 'drop', 'ddl', 'write');
    case 'truncate':
      return c('TRUNCATE TABLE', 'truncate', 'ddl', 'write');
    case 'rename':
      return c('RENAME TABLE', 'rename', 'alter', 'ddl', 'write');
    case 'grant':
      return keyword === 'REVOKE' || ast['to_from'] === 'from' ? c('REVOKE', 'revoke', 'dcl', 'write') : c('GRANT', 'grant', 'dcl', 'write');
    case 'set':
      return c('SET', 'set', 'session');
    case 'show':
      return c('SHOW', 'show', 'read');
    case 'desc':
      return c('DESCRIBE', 'describe', 'show', 'read');
    case 'explain':
      // Plain EXPLAIN does not run the statement; EXPLAIN ANALYZE / ANALYZE do (sql-token-statements).
      return c('EXPLAIN', 'explain', 'read');
    case 'call': {
      const own = c('CALL', 'call', 'procedural', 'write');
      own.flags.push('routine-call');
      return own;
    }
    case 'use':
      return c('USE', 'use', 'session');
    case 'transaction':
      return c(transactionOperation(ast), 'transaction');
    case 'lock':
      return c('LOCK TABLES', 'lock', 'write');
    case 'unlock':
      return c('UNLOCK TABLES', 'unlock', 'session');
    case 'load_data': {
      const own = c('LOAD DATA', 'load-data', 'insert', 'write');
      // LOCAL: the client sends a file of its own; the proxy refuses that request by default.
      if (ast['local']) own.flags.push('local-infile');
      else own.serverFile = ['server-file-read', 'server-file'];
      return own;
    }
    default:
      // A statement type this list does not know is not `read`: no allow rule covers it by accident.
      return c(String(ast['type'] ?? 'unknown').toUpperCase().replace(/_/g, ' '), 'other');
  }
}

function transactionOperation(ast: Node): string {
  const action = ((ast['expr'] as Node | undefined)?.['action'] as Node | undefined)?.['value'];
  const a = typeof action === 'string' ? action.toUpperCase() : '';
  if (a === 'BEGIN' || a.startsWith('START')) return a.startsWith('START') ? 'START TRANSACTION' : 'BEGIN';
  return a === 'COMMIT' || a === 'ROLLBACK' ? a : 'TRANSACTION';
}

/** A `name = value` of a SET (the statement's, or a trigger body's). */
export interface Assignment {
  /** System variable name, lower case, without @@ and scope (`sql_mode`); undefined for @user variables. */
  name?: string;
  global: boolean;
  value: unknown;
}

interface TreeFacts {
  tables: TableRef[];
  functions: string[];
  /** Statements stored or run by this one: view and CREATE TABLE … SELECT queries, trigger bodies. */
  bodies: Node[];
  assignments: Assignment[];
}

/** Fields holding a statement the root runs or stores. */
const BODY_FIELDS: ReadonlySet<string> = new Set(['select', 'query_expr', 'execute']);

function walkTree(root: Node): TreeFacts {
  const tables = new Map<string, TableRef>();
  const functions: string[] = [];
  const bodies: Node[] = [];
  const assignments: Assignment[] = [];
  const addTable = (db: unknown, name: unknown): void => {
    if (typeof name !== 'string' || name === '') return;
    const schema = typeof db === 'string' && db !== '' ? unquote(db) : undefined;
    const ref: TableRef = schema ? { schema, name: unquote(name) } : { name: unquote(name) };
    tables.set(`${ref.schema ?? ''}\u0000${ref.name}`, ref);
  };
  // The grammar's own list of what it read as tables (`op::db::table`), joined with the walk below.
  const walk = (node: unknown, key: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error('statement too deeply nested');
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key, depth + 1);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Node;
    if (depth > 0 && BODY_FIELDS.has(key) && typeof obj['type'] === 'string' && obj['type'] !== 'function') {
      bodies.push(obj);
      return;
    }
    if (Array.isArray(obj['tableList'])) {
      for (const entry of obj['tableList'] as unknown[]) {
        const [, db, name] = String(entry).split('::');
        if (name && name !== 'null' && name !== '(.*)') addTable(db === 'null' ? undefined : db, name);
      }
    }
    // A table reference: `{ db, table }`, never a column's qualifier (`{ table, column }`).
    // A trigger's name sits in `{ table }` too (under `trigger`): it is not a table.
    if (typeof obj['table'] === 'string' && !('column' in obj) && obj['type'] !== 'column_ref' && key !== 'trigger') addTable(obj['db'], obj['table']);
    if (typeof obj['view'] === 'string') addTable(obj['db'], obj['view']);
    if (obj['type'] === 'function') {
      const name = functionName(obj['name']);
      if (name) functions.push(name);
    }
    if (obj['type'] === 'aggr_func' && typeof obj['name'] === 'string') functions.push(obj['name'].toLowerCase());
    if (obj['type'] === 'assign') assignments.push(assignment(obj, root));
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'tableList' || k === 'columnList') continue;
      walk(v, k, depth + 1);
    }
  };
  walk(root, '', 0);
  return { tables: [...tables.values()], functions, bodies, assignments };
}

/** `a``b` as the grammar keeps it → a`b. */
function unquote(name: string): string {
  return name.replace(/``/g, '`');
}

function functionName(name: unknown): string | undefined {
  const n = name as Node | undefined;
  const parts = Array.isArray(n?.['name']) ? (n!['name'] as Node[]).map((p) => String(p['value'] ?? '')) : [];
  if (parts.length === 0) return undefined;
  const schema = (n!['schema'] as Node | undefined)?.['value'];
  const full = typeof schema === 'string' ? [schema, ...parts] : parts;
  return full.map(unquote).join('.').toLowerCase();
}

function assignment(obj: Node, root: Node): Assignment {
  const left = obj['left'] as Node | undefined;
  const rootScope = typeof root['keyword'] === 'string' ? root['keyword'].toUpperCase() : '';
  if (left?.['type'] !== 'var' || left['prefix'] === '@') return { global: false, value: obj['right'] };
  const name = String(left['name'] ?? '').toLowerCase();
  const members = Array.isArray(left['members']) ? (left['members'] as unknown[]).map((m) => String(m).toLowerCase()) : [];
  // @@global.x, @@session.x, @@local.x; @@x and a bare x are the session's (unless SET GLOBAL).
  if (left['prefix'] === '@@' && members.length === 1 && ['global', 'session', 'local'].includes(name)) {
    return { name: members[0], global: name === 'global', value: obj['right'] };
  }
  if (members.length > 0) return { name: [name, ...members].join('.'), global: false, value: obj['right'] };
  return { name, global: rootScope === 'GLOBAL', value: obj['right'] };
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
