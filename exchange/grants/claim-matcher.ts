// Matching a claim value against a grant's patterns: exact text, or `*` for any run of characters
// (`refs/heads/release/*`, `repo:acme/app:*`). Only strings, numbers and booleans match (GitHub's
// run_id is a string, GitLab's project_id a string, a custom claim may be a number); an array claim
// matches when any element does. Objects and absent claims never match. Pure.

/** `*` wildcards, everything else literal; anchored at both ends. */
export function patternMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found === -1 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

export function claimMatches(patterns: readonly string[], value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => {
    const text = scalarText(v);
    return text !== undefined && patterns.some((p) => patternMatches(p, text));
  });
}
