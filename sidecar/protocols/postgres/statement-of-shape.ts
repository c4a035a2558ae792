// A statement made from the inspection of its shape: the texts of one shape differ only in their
// literal values, so everything inspection learns is the same but the statement's own text.
import type { InspectedStatement } from './sql-inspector.js';

/**
 * `template` with `text` as its own text, pointing back at the template: equal to it in
 * everything but `text` and `facts.text`, so what is derived from the rest (the span attributes a
 * session keeps per statement) can be kept once per template.
 */
export function statementOfShape(template: InspectedStatement, text: string): InspectedStatement {
  return { ...template, template, text, facts: { ...template.facts, text } };
}
