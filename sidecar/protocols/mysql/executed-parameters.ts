// A COM_STMT_EXECUTE's parameters as a held command shows and binds them: each value in the text
// the server would print it as (numbers in decimal, dates in MySQL's format, strings as sent) and
// long data as the bytes the client streamed; each type as MySQL's type code with the unsigned
// flag in bit 15. What an approver reads is then what runs, and the approval's hash covers it.
import type { BoundParameters } from '../../pipeline/held-command.js';
import { parameterText, type ComStmtExecute } from './command-packets.js';
import type { PreparedStatement } from './statement-ids.js';

const UNSIGNED_BIT = 0x8000;

export function executedParameters(execute: ComStmtExecute, stmt: PreparedStatement<unknown>): BoundParameters {
  const values = execute.parameters.map((p, i) => {
    if (p.value === undefined) return Buffer.concat(stmt.longData.get(i) ?? []);
    if (p.value === null) return null;
    return Buffer.from(parameterText(p), 'utf8');
  });
  return {
    values,
    // Text format: every value above is text (or raw long data).
    formats: [],
    types: execute.parameters.map((p) => p.type | (p.unsigned ? UNSIGNED_BIT : 0)),
    resultFormats: [],
  };
}
