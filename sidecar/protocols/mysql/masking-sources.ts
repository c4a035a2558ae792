// What a command's statements read, as masking needs it (derived-columns.ts): the relations they
// name, each a base table or something whose columns may hold any other relation's data, and
// whether some of what they read cannot be known at all (a CALL, an EXECUTE of SQL text, a name
// the catalog does not have — a temporary table). Pure: the catalog answer comes from outside.
import type { MaskStrategy, MaskingRule, TableRef } from '../../../core/vocabulary.js';
import { derivedStrategy, type SourceRelation } from '../../masking/index.js';
import type { CatalogAnswer, FunctionRef, MysqlRelation } from './catalog-relations.js';
import type { InspectedMysqlStatement } from './sql-inspector.js';
import { lexMysql } from './sql-lexer.js';

export interface MaskingSources {
  /** Whether `schema.table` is a base table the catalog named for this command. */
  isBaseTable(schema: string, table: string): boolean;
  /** The strategy a column without a base table of its own takes (null: none applies). */
  derived(rules: readonly MaskingRule[]): MaskStrategy | null;
  /** Some of what the statements read cannot be known (a CALL, dynamic SQL, user variables, an unknown name). */
  readonly unknown: boolean;
}

export interface SourcesRequest {
  /** The relations to look up, schema-qualified with the session's database when unqualified. */
  refs: Required<TableRef>[];
  /** Functions the statements call, to tell stored ones (opaque) from built-ins. */
  functions: FunctionRef[];
  /** Equal for requests that resolve alike from equal catalog answers. */
  key: string;
  resolved(answer: CatalogAnswer): MaskingSources;
  /** The lookup failed: nothing is known. */
  failed(): MaskingSources;
}

/** Statement kinds and flags whose reads the statement's own text does not show. */
const UNKNOWABLE_KINDS = new Set(['call', 'execute', 'dynamic-sql', 'uninspected', 'unparsable']);
const UNKNOWABLE_FLAGS = new Set(['routine-call', 'dynamic-sql', 'unparsable']);

export function sourcesOf(statements: readonly InspectedMysqlStatement[], database: string): SourcesRequest {
  const seen = new Map<string, Required<TableRef>>();
  const calls = new Map<string, FunctionRef>();
  let unknowable = false;
  for (const s of statements) {
    for (const f of s.facts.functions ?? []) {
      const dot = f.lastIndexOf('.');
      const ref = dot === -1 ? { schema: database, name: f } : { schema: f.slice(0, dot), name: f.slice(dot + 1) };
      calls.set(key(ref.schema, ref.name), ref);
    }
    for (const t of s.facts.tables) {
      const ref = { schema: t.schema ?? database, name: t.name };
      seen.set(key(ref.schema, ref.name), ref);
    }
    if (s.facts.kinds.some((k) => UNKNOWABLE_KINDS.has(k)) || s.facts.flags.some((f) => UNKNOWABLE_FLAGS.has(f))) unknowable = true;
    // A user variable can hold a value an earlier statement read from a masked column.
    else if (usesUserVariables(s.text)) unknowable = true;
  }
  const refs = [...seen.values()];
  return {
    refs,
    functions: [...calls.values()],
    key: `${unknowable ? 'U' : 'K'}${[...seen.keys()].join('\u0001')}\u0002${[...calls.keys()].join('\u0001')}`,
    resolved: ({ relations, storedFunctions }) => {
      const sources: SourceRelation[] = [];
      const base = new Set<string>();
      // A stored function can return any table's values: what the statement reads is unknown.
      let unknown = unknowable || storedFunctions.some(Boolean);
      relations.forEach((rel) => {
        if (!rel) {
          unknown = true;
          return;
        }
        const relkind = relationKind(rel);
        if (relkind === 'r') base.add(key(rel.schema, rel.name));
        sources.push({ table: { schema: rel.schema, name: rel.name }, columns: rel.columns, relkind });
      });
      return maskingSources(sources, base, unknown);
    },
    failed: () => maskingSources([], new Set(), true),
  };
}

function maskingSources(relations: readonly SourceRelation[], base: ReadonlySet<string>, unknown: boolean): MaskingSources {
  let memo: { rules: readonly MaskingRule[]; strategy: MaskStrategy | null } | undefined;
  return {
    unknown,
    isBaseTable: (schema, table) => table !== '' && base.has(key(schema, table)),
    derived: (rules) => {
      if (memo?.rules !== rules) memo = { rules, strategy: derivedStrategy(rules, relations, unknown) };
      return memo.strategy;
    },
  };
}

/**
 * derived-columns.ts's relation kinds: `r` a base table (its columns are its own), `v` a view,
 * `F` a relation whose columns show other sessions' statements (always opaque: the process list
 * and performance_schema's statement history hold literal values), `s` metadata.
 */
function relationKind(rel: MysqlRelation): string {
  const schema = rel.schema.toLowerCase();
  if (schema === 'performance_schema' || (schema === 'information_schema' && rel.name.toLowerCase() === 'processlist')) return 'F';
  if (rel.type === 'BASE TABLE' || rel.type === 'SEQUENCE') return 'r';
  if (rel.type === 'SYSTEM VIEW') return 's';
  return 'v';
}

/** Whether the statement reads or writes `@user` variables (not `@@system` ones). */
export function usesUserVariables(text: string): boolean {
  if (!text.includes('@')) return false;
  const lexed = lexMysql(text, { dialect: 'mariadb' });
  if (!lexed.ok) return true;
  return lexed.statements.some((st) => st.tokens.some((t) => t.kind === 'variable' && !t.value.startsWith('@@')));
}

function key(schema: string, name: string): string {
  return `${schema}\0${name}`.toLowerCase();
}
