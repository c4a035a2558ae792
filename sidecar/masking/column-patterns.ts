// `table.column` globs for column masking rules.
//
// The last segment names the column, the one before it the table, an optional third-from-last the
// schema (`customers.card`, `public.customers.card`, `*.email`, `*.*`); a fourth leading segment
// (a database) is ignored, as a session is bound to one database. `*` (or `**`) matches any run of
// characters within a segment. Matching is case-insensitive: over-masking a column that differs
// only by case is the safe side of the mistake.
//
// A column whose table is unknown (an expression, or a protocol that does not say) matches only
// patterns whose table part is all stars. A known table with no known schema matches any schema
// part (fail closed: we cannot prove it is not that schema).
//
// A bare single-segment pattern names a column in any table (`email` ≡ `*.email`), except a bare
// `*`: that is far more likely a mistake than a wish to mask every value, so it matches nothing
// (`*.*` says "everything" explicitly) and `columnPatternProblem` reports it.

export interface ColumnTable {
  schema?: string;
  name: string;
}

export interface ColumnPattern {
  readonly source: string;
  /** null: any schema. */
  readonly schema: RegExp | null;
  /** null: any table, including none known. */
  readonly table: RegExp | null;
  /** null: the pattern matches nothing. */
  readonly column: RegExp | null;
}

export function compileColumnPattern(pattern: string): ColumnPattern {
  const segments = pattern.split('.');
  if (segments.length > 3) segments.splice(0, segments.length - 3);
  const columnGlob = segments.pop()!;
  const tableGlob = segments.pop();
  const schemaGlob = segments.pop();
  if (tableGlob === undefined && allStars(columnGlob)) return { source: pattern, schema: null, table: null, column: null };
  return {
    source: pattern,
    schema: schemaGlob === undefined || allStars(schemaGlob) ? null : globSegment(schemaGlob),
    table: tableGlob === undefined || allStars(tableGlob) ? null : globSegment(tableGlob),
    column: globSegment(columnGlob),
  };
}

/**
 * Whether `pattern` covers a column. `columnNames` are the names the column goes by (the label
 * in the result and, when known, the table column's real name, so an alias cannot hide it).
 */
export function columnMatches(pattern: ColumnPattern, columnNames: readonly string[], table?: ColumnTable): boolean {
  const column = pattern.column;
  if (column === null || !columnNames.some((n) => column.test(n))) return false;
  if (pattern.table === null) return true;
  if (table === undefined || !pattern.table.test(table.name)) return false;
  return pattern.schema === null || table.schema === undefined || pattern.schema.test(table.schema);
}

/** A policy-time warning for a pattern that cannot do what its author likely meant; null when fine. */
export function columnPatternProblem(pattern: string): string | null {
  const segments = pattern.split('.');
  if (segments.some((s) => s.length === 0)) return `column pattern "${pattern}" has an empty segment`;
  if (segments.length === 1 && allStars(pattern)) return `column pattern "${pattern}" matches nothing; write "*.*" to mask every column`;
  if (segments.length > 4) return `column pattern "${pattern}" has more than schema.table.column`;
  return null;
}

function allStars(glob: string): boolean {
  return /^\*+$/.test(glob);
}

function globSegment(glob: string): RegExp {
  const body = glob
    .split(/\*+/)
    .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}
