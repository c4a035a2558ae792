// Result columns whose source the protocol cannot name. PostgreSQL's RowDescription gives a
// table OID and column number only for a plain column reference; any expression (`reverse(email)`,
// `c` for a whole row, `row_to_json(c)`, `(c).email`, `ARRAY[c]`, a UNION's columns) comes with
// none, so a column rule like `customers.email` cannot be matched to it, and detectors cannot
// stand in for it (a `partial` or custom column holds data no detector recognises, and
// `reverse(email)` is no e-mail address any more).
//
// The rule: while column rules apply, a result column with no source of its own takes the
// strongest strategy of the column rules that cover any column of any relation the statement
// names (`derivedStrategy`). A view, materialized view or foreign table names its own columns,
// not its sources', so it counts as holding every rule's columns; so does a statement whose
// relations cannot be known (a FETCH from a cursor, an EXECUTE of a prepared statement).
// Statements over tables with no masked column are untouched, so ordinary queries keep working.
import type { MaskingRule, MaskStrategy } from '../../core/vocabulary.js';
import { columnMatches, compileColumnPattern, type ColumnTable } from './column-patterns.js';
import { strategyStrength } from './strategies.js';

export interface SourceRelation {
  table: ColumnTable;
  columns: readonly string[];
  /** pg_class.relkind or the like: v (view), m (materialized view), f (foreign table) are opaque. */
  relkind?: string;
}

/** v view, m materialized view, f foreign table; F (ours): a user-defined function the statement calls. */
const OPAQUE_KINDS = new Set(['v', 'm', 'f', 'F']);
/**
 * System views that show user data or other sessions' statements (column statistics hold real
 * values); the other views of pg_catalog and information_schema show only metadata.
 */
const DATA_SYSTEM_VIEWS = new Set(['pg_stats', 'pg_stats_ext', 'pg_stats_ext_exprs', 'pg_stat_activity']);

/** Whether a relation's columns may hold any other relation's data (a view and its kin). */
export function isOpaqueRelation(relkind: string | undefined, table?: ColumnTable): boolean {
  if (relkind === undefined || !OPAQUE_KINDS.has(relkind)) return false;
  if (relkind === 'F') return true;
  if (table?.schema === 'information_schema') return false;
  return !(table?.schema === 'pg_catalog' && !DATA_SYSTEM_VIEWS.has(table.name));
}

/**
 * The strongest strategy of the column rules covering any column of `sources`; with `unknown`
 * (the statement's relations cannot be known) or an opaque source, of every column rule. Null
 * when none applies.
 */
export function derivedStrategy(rules: readonly MaskingRule[], sources: readonly SourceRelation[], unknown: boolean): MaskStrategy | null {
  let best: MaskStrategy | null = null;
  const anySource = unknown || sources.some((s) => isOpaqueRelation(s.relkind, s.table));
  for (const rule of rules) {
    if (rule.columns.length === 0) continue;
    if (best !== null && strategyStrength(rule.strategy) <= strategyStrength(best)) continue;
    const patterns = rule.columns.map(compileColumnPattern);
    const covers = anySource || sources.some((s) => s.columns.some((c) => patterns.some((p) => columnMatches(p, [c], s.table))));
    if (covers) best = rule.strategy;
  }
  return best;
}

/** The strongest strategy of all column rules (for a column of an opaque relation). */
export function strongestColumnStrategy(rules: readonly MaskingRule[]): MaskStrategy | null {
  return derivedStrategy(rules, [], true);
}
