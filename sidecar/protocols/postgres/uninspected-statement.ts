// Inspection turned off (`--inspection off`): every client message is one opaque command. Exists
// so benchmarks can show what the pipeline costs without the grammar; a policy must then allow
// the kind `uninspected` explicitly, and no statement text reaches the audit trail.
import type { InspectedStatement } from './sql-inspector.js';
import { statementOfShape } from './statement-of-shape.js';

/**
 * One template per target and protocol: every uninspected command is the same statement shape,
 * so the session keeps one set of span attributes for them all, as it does for inspected texts of
 * one shape (else this path would pay for attributes the inspected path does not, and the
 * benchmark's comparison would be off).
 */
const templates = new Map<string, InspectedStatement>();

function templateFor(target: string, prepared: boolean): InspectedStatement {
  const key = `${prepared ? 'P' : 'Q'}${target}`;
  let t = templates.get(key);
  if (!t) {
    t = Object.freeze({
      facts: Object.freeze({ protocol: 'postgres', target, text: '', operation: 'UNINSPECTED', kinds: Object.freeze(['uninspected']), tables: Object.freeze([]), flags: Object.freeze(prepared ? ['prepared'] : []) }),
      text: '',
      queryText: '',
    }) as InspectedStatement;
    if (templates.size >= 64) templates.clear();
    templates.set(key, t);
  }
  return t;
}

export function uninspected(text: string, opts: { target: string; prepared?: boolean }): InspectedStatement[] {
  if (text.trim() === '') return [];
  return [statementOfShape(templateFor(opts.target, opts.prepared === true), text)];
}
