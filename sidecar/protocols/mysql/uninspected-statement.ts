// Inspection turned off (`--inspection off`): every client statement is one opaque command, for
// benchmarks of the bare pipeline. A policy must then allow the kind `uninspected` explicitly,
// and no statement text reaches the audit trail.
import type { InspectedMysqlStatement, MysqlInspectOptions } from './sql-inspector.js';

/** One template per target and command kind: the session keeps one set of span attributes for all. */
const templates = new Map<string, InspectedMysqlStatement>();

function templateFor(target: string, prepared: boolean): InspectedMysqlStatement {
  const key = `${prepared ? 'P' : 'Q'}${target}`;
  let t = templates.get(key);
  if (!t) {
    t = Object.freeze({
      facts: Object.freeze({ protocol: 'mysql', target, text: '', operation: 'UNINSPECTED', kinds: Object.freeze(['uninspected']), tables: Object.freeze([]), flags: Object.freeze(prepared ? ['prepared'] : []) }),
      text: '',
      queryText: '',
    }) as InspectedMysqlStatement;
    if (templates.size >= 64) templates.clear();
    templates.set(key, t);
  }
  return t;
}

export function uninspectedMysql(text: string, opts: MysqlInspectOptions): InspectedMysqlStatement[] {
  if (text.trim() === '') return [];
  const template = templateFor(opts.target, opts.prepared === true);
  return [{ ...template, text, facts: { ...template.facts, text }, template }];
}
