// Tables and functions a parse tree touches (pure). A RangeVar is any node carrying `relname`,
// wherever it sits (FROM, JOIN, subqueries, CTE bodies, DML targets, COPY, TRUNCATE, LOCK, GRANT,
// CREATE/ALTER …); DROP names its objects as lists of strings instead. Names that refer to a CTE
// of the same statement are not tables.
import type { TableRef } from '../../../policies/model.js';

type Json = unknown;

export interface TreeFacts {
  tables: TableRef[];
  functions: string[];
}

const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE']);

export function collectTreeFacts(stmt: Json): TreeFacts {
  const tables = new Map<string, TableRef>();
  const ctes = new Set<string>();
  const functions = new Set<string>();
  const rangeVars: TableRef[] = [];

  const walk = (node: Json, key?: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, Json>;
    if (typeof obj['relname'] === 'string') {
      rangeVars.push({ schema: typeof obj['schemaname'] === 'string' ? obj['schemaname'] : undefined, name: obj['relname'] });
    }
    if (typeof obj['ctename'] === 'string') ctes.add(obj['ctename']);
    if (key === 'FuncCall' && Array.isArray(obj['funcname'])) {
      functions.add(stringList(obj['funcname']).join('.'));
    }
    if (key === 'DropStmt' && DROPPED_RELATIONS.has(String(obj['removeType'])) && Array.isArray(obj['objects'])) {
      for (const o of obj['objects'] as Json[]) {
        const names = stringList(((o as Record<string, Json>)['List'] as Record<string, Json> | undefined)?.['items']);
        if (names.length === 1) rangeVars.push({ name: names[0]! });
        else if (names.length >= 2) rangeVars.push({ schema: names[names.length - 2], name: names[names.length - 1]! });
      }
    }
    for (const [k, v] of Object.entries(obj)) walk(v, k);
  };
  walk(stmt);

  for (const t of rangeVars) {
    if (!t.schema && ctes.has(t.name)) continue;
    const id = `${t.schema ?? ''}.${t.name}`;
    if (!tables.has(id)) tables.set(id, t.schema ? { schema: t.schema, name: t.name } : { name: t.name });
  }
  return { tables: [...tables.values()], functions: [...functions] };
}

function stringList(items: Json): string[] {
  if (!Array.isArray(items)) return [];
  const out: string[] = [];
  for (const item of items) {
    const s = (item as Record<string, Json>)?.['String'] as Record<string, Json> | undefined;
    if (s && typeof s['sval'] === 'string') out.push(s['sval']);
  }
  return out;
}
