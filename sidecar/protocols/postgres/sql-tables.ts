// Tables and functions a parse tree touches (pure). A RangeVar is any node carrying `relname`,
// wherever it sits (FROM, JOIN, subqueries, CTE bodies, DML targets, COPY, TRUNCATE, LOCK, GRANT,
// CREATE/ALTER …); DROP, COMMENT and SECURITY LABEL name their objects as lists of strings
// instead. A name that refers to a CTE in scope is not a table — but only where that CTE is
// visible: `WITH t AS (SELECT * FROM t)` reads the real table `t`, and hiding it would let a
// query slip past a table rule.
import type { TableRef } from '../../../core/vocabulary.js';

type Json = unknown;
type Obj = Record<string, Json>;

export interface TreeFacts {
  tables: TableRef[];
  /** Called functions, schema-qualified as written (`pg_catalog.set_config`). */
  functions: string[];
  /** Every function call, with its name's parts and its arguments. */
  calls: FunctionCallNode[];
  /**
   * Commands nested below the statement (data-modifying CTEs at any depth, the statement that
   * EXPLAIN ANALYZE, PREPARE, DECLARE, COPY, CREATE TABLE AS / VIEW wrap, a rule's actions), in
   * tree order, each with what is nested below it in turn counted as its own.
   */
  nested: NestedCommandNode[];
  /** SET nodes anywhere in the tree (the statement itself, a function's or role's SET clause). */
  settings: Obj[];
}

export interface FunctionCallNode {
  parts: string[];
  args: readonly Json[];
  /**
   * Attribute notation, `(expr).name`: PostgreSQL calls the function `name(expr)` when no field of
   * that name exists (`('/etc/passwd'::text).pg_read_file` reads the file). Only a call if a
   * function of that name exists: the caller decides.
   */
  attribute?: boolean;
}

export interface NestedCommandNode {
  /** Statement node type (`DeleteStmt`). */
  type: string;
  node: Obj;
  tables: TableRef[];
  calls: FunctionCallNode[];
}

/** Statements that change data wherever they are nested, so always commands of their own. */
const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Fields of a statement that hold another statement the server runs (or, for a rule or view,
 * will run on later queries): ExplainStmt's only under ANALYZE, decided by the caller.
 */
const WRAPPED: Readonly<Record<string, string>> = {
  ExplainStmt: 'query',
  PrepareStmt: 'query',
  DeclareCursorStmt: 'query',
  CopyStmt: 'query',
  CreateTableAsStmt: 'query',
  ViewStmt: 'query',
  RuleStmt: 'actions',
};

interface Collector {
  tables: Map<string, TableRef>;
  calls: FunctionCallNode[];
}

/** Object types whose String-list names are relations. */
const RELATION_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE']);

/**
 * Fields whose RangeVar always names a real relation, never a CTE: DML targets
 * (`INSERT INTO t`), DDL subjects, COPY, TRUNCATE, LOCK, VACUUM, SELECT INTO / CREATE TABLE AS.
 */
const RELATION_FIELDS = new Set(['relation', 'relations', 'rel']);

/** Guards the walk against a pathological tree; the parser itself limits nesting depth far lower. */
const MAX_DEPTH = 10_000;

/**
 * `runsWrapped(type, node)` says whether a wrapper statement runs the statement it wraps (EXPLAIN
 * only under ANALYZE); a wrapped statement that runs is a nested command.
 */
export function collectTreeFacts(stmt: Json, runsWrapped: (type: string, node: Obj) => boolean = () => true): TreeFacts {
  const root: Collector = { tables: new Map(), calls: [] };
  const functions = new Set<string>();
  const nested: NestedCommandNode[] = [];
  const nestedCollectors: Collector[] = [];
  const settings: Obj[] = [];
  // The root and every nested command enclosing the node being walked.
  let open: Collector[] = [root];

  const addTable = (schema: string | undefined, name: string): void => {
    const id = `${schema ?? ''}\u0000${name}`;
    for (const c of open) if (!c.tables.has(id)) c.tables.set(id, schema ? { schema, name } : { name });
  };
  const addNameList = (names: string[]): void => {
    // [catalog.]schema.name: the catalog part is ignored.
    if (names.length === 1) addTable(undefined, names[0]!);
    else if (names.length >= 2) addTable(names[names.length - 2], names[names.length - 1]!);
  };

  /**
   * `key` is the field or wrapper name this node was reached by; `real` says the node sits in a
   * field that always names a real relation; `ctes` are the CTE names visible here.
   */
  const walk = (node: Json, key: string, real: boolean, ctes: ReadonlySet<string>, depth: number, wrapped = false, inert = false): void => {
    if (depth > MAX_DEPTH) throw new Error('statement too deeply nested');
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key, real, ctes, depth + 1, wrapped, inert);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Obj;
    // The root statement's node is reached at depth 1; any statement below it that runs is a command.
    // Below a wrapper that does not run what it wraps (EXPLAIN without ANALYZE) nothing runs.
    const opens = !inert && depth > 1 && (wrapped || DATA_MODIFYING.has(key)) && key.endsWith('Stmt');
    const outer = open;
    if (opens) {
      const c: Collector = { tables: new Map(), calls: [] };
      nested.push({ type: key, node: obj, tables: [], calls: c.calls });
      nestedCollectors.push(c);
      open = [...outer, c];
    }
    try {
      visit(obj, key, real, ctes, depth, wrapped && !opens, inert);
    } finally {
      open = outer;
    }
  };

  const visit = (obj: Obj, key: string, real: boolean, ctes: ReadonlySet<string>, depth: number, wrapped: boolean, inert: boolean): void => {
    if (key === 'VariableSetStmt' || key === 'setstmt') settings.push(obj);
    const runs = WRAPPED[key] === undefined || runsWrapped(key, obj);
    const wrappedField = runs ? WRAPPED[key] : undefined;
    const inertField = runs ? undefined : WRAPPED[key];

    if (typeof obj['relname'] === 'string') {
      const schema = typeof obj['schemaname'] === 'string' ? obj['schemaname'] : undefined;
      if (real || schema !== undefined || !ctes.has(obj['relname'])) addTable(schema, obj['relname']);
    }
    // A FuncCall is wrapped (`{ FuncCall: {...} }`) in expressions; CALL holds it in `funccall`.
    if ((key === 'FuncCall' || key === 'funccall') && Array.isArray(obj['funcname'])) {
      const parts = stringList(obj['funcname']);
      functions.add(parts.join('.'));
      const call = { parts, args: Array.isArray(obj['args']) ? (obj['args'] as Json[]) : [] };
      for (const c of open) c.calls.push(call);
    }
    if (key === 'A_Indirection' && Array.isArray(obj['indirection'])) {
      let arg: Json = obj['arg'];
      for (const item of obj['indirection'] as Json[]) {
        const name = ((item as Obj | null)?.['String'] as Obj | undefined)?.['sval'];
        if (typeof name !== 'string') {
          arg = undefined;
          continue;
        }
        const call: FunctionCallNode = { parts: [name], args: arg === undefined ? [] : [arg], attribute: true };
        for (const c of open) c.calls.push(call);
        // `(x).a.b` is b(a(x)): what follows the first name has no constant argument.
        arg = undefined;
      }
    }
    if (key === 'DropStmt' && RELATION_OBJECTS.has(String(obj['removeType'])) && Array.isArray(obj['objects'])) {
      for (const o of obj['objects'] as Json[]) addNameList(stringList(listItems(o)));
    }
    if ((key === 'CommentStmt' || key === 'SecLabelStmt') && RELATION_OBJECTS.has(String(obj['objtype']))) {
      addNameList(stringList(listItems(obj['object'])));
    }

    let scope = ctes;
    const withClause = obj['withClause'] as Obj | undefined;
    if (withClause && typeof withClause === 'object') {
      scope = walkWithClause(withClause, ctes, depth, inert);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'withClause') continue;
      // A wrapper (`{ RangeVar: {...} }` inside a `relations` list) keeps its field's meaning.
      const childReal = RELATION_FIELDS.has(k) || (k === 'RangeVar' && real);
      // A wrapped statement arrives as `{ SelectStmt: {...} }` (or a list of them): the mark
      // passes through that wrapper object to the statement node.
      walk(v, k, childReal, scope, depth + 1, k === wrappedField || (wrapped && k.endsWith('Stmt')), inert || k === inertField);
    }
  };

  /**
   * Walks the CTE bodies with the names each may see and returns the scope of the statement
   * body. Non-recursive WITH: a CTE sees those before it. WITH RECURSIVE: it sees all of them,
   * itself included.
   */
  const walkWithClause = (withClause: Obj, outer: ReadonlySet<string>, depth: number, inert: boolean): ReadonlySet<string> => {
    const entries = Array.isArray(withClause['ctes']) ? (withClause['ctes'] as Json[]) : [];
    const ctes = entries.map((e) => ((e as Obj)?.['CommonTableExpr'] ?? {}) as Obj);
    const names = ctes.map((c) => (typeof c['ctename'] === 'string' ? c['ctename'] : ''));
    const all = new Set([...outer, ...names]);
    ctes.forEach((cte, i) => {
      const visible = withClause['recursive'] ? all : new Set([...outer, ...names.slice(0, i)]);
      walk(cte, 'CommonTableExpr', false, visible, depth + 1, false, inert);
    });
    return all;
  };

  walk(stmt, '', false, new Set(), 0);
  nested.forEach((n, i) => (n.tables = [...nestedCollectors[i]!.tables.values()]));
  return { tables: [...root.tables.values()], functions: [...functions], calls: root.calls, nested, settings };
}

function listItems(node: Json): Json {
  return ((node as Obj | null)?.['List'] as Obj | undefined)?.['items'];
}

function stringList(items: Json): string[] {
  if (!Array.isArray(items)) return [];
  const out: string[] = [];
  for (const item of items) {
    const s = (item as Obj | null)?.['String'] as Obj | undefined;
    if (s && typeof s['sval'] === 'string') out.push(s['sval']);
  }
  return out;
}
