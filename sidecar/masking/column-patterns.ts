// `table.column` globs: the last segment names the column, what precedes it the table (`table`
// or `schema.table`); `*` matches any run of characters within a segment.
export interface ColumnPattern {
  schema?: RegExp;
  table: RegExp | null; // null: any table, including a column with no known table
  column: RegExp;
}

function segment(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

export function compileColumnPattern(pattern: string): ColumnPattern {
  const parts = pattern.split('.');
  const column = segment(parts.pop()!);
  if (parts.length === 0) return { table: null, column };
  const tableGlob = parts.pop()!;
  const schemaGlob = parts.pop();
  const anyTable = tableGlob === '*' && (schemaGlob === undefined || schemaGlob === '*');
  return { schema: schemaGlob && schemaGlob !== '*' ? segment(schemaGlob) : undefined, table: anyTable ? null : segment(tableGlob), column };
}

export function columnMatches(p: ColumnPattern, columnNames: readonly string[], table?: { schema?: string; name: string }): boolean {
  if (!columnNames.some((n) => p.column.test(n))) return false;
  if (p.table === null) return p.schema === undefined || (table !== undefined && p.schema.test(table.schema ?? 'public'));
  if (!table) return false;
  if (!p.table.test(table.name)) return false;
  return p.schema === undefined || p.schema.test(table.schema ?? 'public');
}
