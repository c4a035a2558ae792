// What one parsed statement does, as the union of everything nested in it (pure). The statement's
// own kinds, tables and flags become the union over every command nested anywhere inside it, and
// each nested command (a data-modifying CTE, the statement EXPLAIN ANALYZE / PREPARE / DECLARE /
// COPY / CREATE TABLE AS wraps, a rule's actions, a function with an effect of its own, the SQL
// text a function runs) is also listed with its own facts: policy decides each of them, so an
// allow rule for `read` never lets a nested DELETE through.
import type { TableRef } from '../../../core/vocabulary.js';
import { parseSync } from './sql-grammar.js';
import { classify, classifyStatement, explainAnalyzes } from './sql-kinds.js';
import { collectTreeFacts, type FunctionCallNode } from './sql-tables.js';
import { isUtf8EncodingName, resolveFunction, settingEffects } from './sql-functions.js';

type Node = Record<string, unknown>;

/** One command's facts, without what the caller adds (protocol, target, text). */
export interface CommandShape {
  operation: string;
  kinds: string[];
  tables: TableRef[];
  flags: string[];
  /** Functions called, as resolved (`pg_catalog.query_to_xml`, `public.f`, `f`). */
  functions: string[];
}

export interface StatementFacts extends CommandShape {
  /** Every command nested anywhere inside, flattened. */
  nested: CommandShape[];
}

/** SQL text run by a function is inspected this many levels deep; deeper text is unparsable. */
const MAX_SQL_TEXT_DEPTH = 3;

/** Kinds of statements that reach the server's programs or files (COPY … PROGRAM / 'file'). */
const SERVER_EFFECT_KINDS: ReadonlySet<string> = new Set(['server-program', 'server-file-read', 'server-file-write', 'server-file']);

/** pg_catalog views whose rows are read from server files (pg_hba.conf, postgresql.conf, pg_ident.conf). */
const SERVER_FILE_VIEWS: ReadonlySet<string> = new Set(['pg_hba_file_rules', 'pg_file_settings', 'pg_ident_file_mappings']);

const runsWrapped = (type: string, node: Node): boolean => type !== 'ExplainStmt' || explainAnalyzes(node);

export function statementFacts(stmt: Node, depth = 0): StatementFacts {
  const c = classifyStatement(stmt);
  const tree = collectTreeFacts(stmt, runsWrapped);
  const calls = realCalls(tree.calls);
  const kinds = [...c.kinds];
  const tables = [...tree.tables];
  const flags = [...c.flags];
  const nested: CommandShape[] = [];

  if (calls.length > 0) flags.push('function-call');
  const functions = unique(calls.map((call) => resolveFunction(call.parts).name));

  // Running a program or touching a file on the database server is a command of its own, so a
  // rule that allows the statement (COPY (SELECT …) reads) does not allow that.
  const serverEffects = c.kinds.filter((k) => SERVER_EFFECT_KINDS.has(k));
  if (serverEffects.length > 0) nested.push({ operation: c.operation, kinds: serverEffects, tables: [...tree.tables], flags: [...c.flags], functions: [] });
  // Catalog views that read the server's configuration files.
  const fileViews = tree.tables.filter((t) => SERVER_FILE_VIEWS.has(t.name) && (t.schema === undefined || t.schema === 'pg_catalog'));
  if (fileViews.length > 0) nested.push({ operation: c.operation, kinds: ['server-file-read', 'server-file'], tables: fileViews, flags: [], functions: [] });
  // SELECT … INTO reads its sources as a query would.
  const [rootType, rootNode] = firstEntry(stmt);
  if (rootType === 'SelectStmt' && rootNode['intoClause']) {
    nested.push({ operation: 'SELECT', kinds: ['select', 'read'], tables: [...tree.tables], flags: [], functions });
  }
  if (rootType === 'MergeStmt') nested.push(...mergeActions(rootNode));
  for (const n of tree.nested) {
    if (n.type === 'MergeStmt') nested.push(...mergeActions(n.node));
    const own = classify(n.type, n.node);
    const inner = realCalls(n.calls);
    nested.push({
      operation: own.operation,
      kinds: [...own.kinds, ...attributeKinds(inner)],
      tables: n.tables,
      flags: inner.length > 0 ? [...own.flags, 'function-call'] : [...own.flags],
      functions: unique(inner.map((call) => resolveFunction(call.parts).name)),
    });
  }
  const seen = new Set<string>();
  for (const call of calls) {
    for (const shape of callCommands(call, depth)) {
      const key = JSON.stringify(shape);
      if (seen.has(key)) continue;
      seen.add(key);
      nested.push(shape);
    }
  }
  for (const k of attributeKinds(calls)) kinds.push(k);
  if (changesEncoding(tree.settings)) flags.push('text-encoding-change');

  // The statement's own part is decided too: else the union (CREATE TABLE AS also `read`s) would
  // let a rule for what it nests allow what it is.
  if (nested.length > 0) nested.unshift({ operation: c.operation, kinds: [...c.kinds, ...attributeKinds(calls)], tables: [...tree.tables], flags: [...flags], functions });
  for (const n of nested) {
    kinds.push(...n.kinds);
    flags.push(...n.flags);
    for (const t of n.tables) if (!tables.some((u) => u.schema === t.schema && u.name === t.name)) tables.push(t);
  }
  // pg_settings' update rule calls set_config: writing it changes any setting.
  if (kinds.includes('write') && tables.some((t) => t.name === 'pg_settings' && (t.schema === undefined || t.schema === 'pg_catalog'))) {
    kinds.push('set-config', 'role-switch');
    flags.push('role-switch', 'search-path', 'text-encoding-change');
  }
  return { operation: c.operation, kinds: unique(kinds), tables, flags: unique(flags), functions, nested };
}

const MERGE_ACTIONS: Readonly<Record<string, [string, ...string[]]>> = {
  CMD_UPDATE: ['UPDATE', 'update', 'write'],
  CMD_DELETE: ['DELETE', 'delete', 'write'],
  CMD_INSERT: ['INSERT', 'insert', 'write'],
};

/** A MERGE's actions, each the write it is on the target table: a MERGE that deletes is a DELETE. */
function mergeActions(node: Node): CommandShape[] {
  const relation = node['relation'] as Node | undefined;
  const name = relation?.['relname'];
  const schema = relation?.['schemaname'];
  const target: TableRef[] = typeof name !== 'string' ? [] : typeof schema === 'string' ? [{ schema, name }] : [{ name }];
  const out: CommandShape[] = [];
  const seen = new Set<string>();
  for (const w of Array.isArray(node['mergeWhenClauses']) ? (node['mergeWhenClauses'] as Node[]) : []) {
    const command = String((w['MergeWhenClause'] as Node | undefined)?.['commandType']);
    const action = MERGE_ACTIONS[command];
    if (!action || seen.has(command)) continue;
    seen.add(command);
    const [operation, ...kinds] = action;
    out.push({ operation, kinds, tables: [...target], flags: [], functions: [] });
  }
  return out;
}

/**
 * Function calls, and attribute-notation names that are catalogued functions: `(x).name` is a
 * field selection for anything else (an unknown name there is a field far more often than a
 * user function).
 */
function realCalls(calls: readonly FunctionCallNode[]): FunctionCallNode[] {
  return calls.filter((c) => !c.attribute || resolveFunction(c.parts).effect !== undefined);
}

/** Kinds that calls add to the statement that makes them, without being commands of their own. */
function attributeKinds(calls: readonly FunctionCallNode[]): string[] {
  const out: string[] = [];
  for (const call of calls) {
    const effect = resolveFunction(call.parts).effect;
    if (effect && !effect.separate) out.push(...effect.kinds);
  }
  return out;
}

/** The commands a call is: its effect, and the statements of SQL text it runs. */
function callCommands(call: FunctionCallNode, depth: number): CommandShape[] {
  const fn = resolveFunction(call.parts);
  const effect = fn.effect;
  if (!effect || !effect.separate) return [];
  const own: CommandShape = { operation: 'FUNCTION', kinds: [...effect.kinds], tables: [], flags: ['function-call'], functions: [fn.name] };
  const out: CommandShape[] = [own];
  if (fn.name === 'pg_catalog.set_config') {
    const setting = settingEffects(constantString(call.args[0]));
    // A role switch changes who the session is: not a `session` setting a read policy allows.
    if (setting.kinds.includes('role-switch')) own.kinds = own.kinds.filter((k) => k !== 'session' && k !== 'set');
    own.kinds.push(...setting.kinds);
    own.flags.push(...setting.flags);
    // set_config('client_encoding', 'UTF8', …) keeps the one encoding sidegate reads.
    const value = constantString(call.args[1]);
    if (setting.flags.length === 1 && setting.flags[0] === 'text-encoding-change' && value !== undefined && isUtf8EncodingName(value)) own.flags.pop();
  }
  if (effect.tableArgument !== undefined) {
    const name = constantString(argument(call, effect.tableArgument, 'tbl'));
    const table = name === undefined ? undefined : parseQualifiedName(name);
    if (table) own.tables.push(table);
  }
  if (effect.sqlArgument !== undefined) {
    const text = constantString(argument(call, effect.sqlArgument, 'query'));
    if (text !== undefined) out.push(...sqlTextCommands(text, depth + 1));
  }
  return out;
}

/** The statements of SQL text a function runs, each with what is nested in it. */
function sqlTextCommands(text: string, depth: number): CommandShape[] {
  const unparsable: CommandShape = { operation: 'UNKNOWN', kinds: ['unparsable'], tables: [], flags: ['unparsable'], functions: [] };
  if (depth > MAX_SQL_TEXT_DEPTH) return [unparsable];
  let stmts: { stmt: Node }[];
  try {
    stmts = (parseSync(text) as { stmts?: { stmt: Node }[] }).stmts ?? [];
  } catch {
    return [unparsable];
  }
  const out: CommandShape[] = [];
  for (const s of stmts) {
    const f = statementFacts(s.stmt, depth);
    const { nested, ...own } = f;
    out.push(own, ...nested);
  }
  return out;
}

/** Whether a SET (anywhere in the tree) can leave client_encoding at anything but UTF-8. */
function changesEncoding(settings: readonly Node[]): boolean {
  for (const s of settings) {
    if (String(s['name'] ?? '').toLowerCase() !== 'client_encoding') continue;
    const kind = s['kind'];
    // RESET and SET … TO DEFAULT return to the startup value, which sidegate pins to UTF8.
    if (kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT') continue;
    const args = Array.isArray(s['args']) ? (s['args'] as unknown[]) : [];
    const value = args.length === 1 ? constantString(args[0]) : undefined;
    if (kind === 'VAR_SET_VALUE' && value !== undefined && isUtf8EncodingName(value)) continue;
    return true;
  }
  return false;
}

/** The argument at `index`, or the one passed by `name` (`query_to_xml(query => '…')`). */
function argument(call: FunctionCallNode, index: number, name: string): unknown {
  const positional = call.args.findIndex((a) => (a as Node | null)?.['NamedArgExpr'] !== undefined);
  if (positional === -1 || index < positional) return call.args[index];
  return call.args.find((a) => ((a as Node | null)?.['NamedArgExpr'] as Node | undefined)?.['name'] === name);
}

/** A string constant argument (`'…'`, `E'…'`, `$$…$$`, optionally cast), else undefined. */
export function constantString(arg: unknown): string | undefined {
  let node = arg as Node | undefined;
  for (let i = 0; i < 8 && node && typeof node === 'object'; i++) {
    const cast = node['TypeCast'] as Node | undefined;
    if (cast) {
      node = cast['arg'] as Node | undefined;
      continue;
    }
    // Named notation: f(query => '…').
    const named = node['NamedArgExpr'] as Node | undefined;
    if (named) {
      node = named['arg'] as Node | undefined;
      continue;
    }
    const sval = ((node['A_Const'] as Node | undefined)?.['sval'] as Node | undefined)?.['sval'];
    return typeof sval === 'string' ? sval : undefined;
  }
  return undefined;
}

/** A regclass constant (`orders`, `public."Orders"`) as the table it names, if it parses as one. */
function parseQualifiedName(text: string): TableRef | undefined {
  try {
    const stmts = (parseSync(`SELECT FROM ${text}`) as { stmts?: { stmt: Node }[] }).stmts ?? [];
    if (stmts.length !== 1) return undefined;
    const tables = collectTreeFacts(stmts[0]!.stmt).tables;
    return tables.length === 1 ? tables[0] : undefined;
  } catch {
    return undefined;
  }
}

function firstEntry(stmt: Node): [string, Node] {
  const entry = Object.entries(stmt)[0];
  if (!entry || entry[1] === null || typeof entry[1] !== 'object') return ['Unknown', {}];
  return [entry[0], entry[1] as Node];
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
