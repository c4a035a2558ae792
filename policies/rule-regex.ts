/** Rule regexes may start with (?i) for case-insensitivity, as in most policy languages. */
export function compileRuleRegex(text: string): RegExp {
  return text.startsWith('(?i)') ? new RegExp(text.slice(4), 'i') : new RegExp(text);
}
