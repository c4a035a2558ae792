// Glob matching for policy names: `*` matches any run of characters (including none). Everything
// else is literal. Compiled once per pattern.
const compiled = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

export function globMatch(pattern: string, value: string): boolean {
  return pattern === '*' || pattern === value || globToRegExp(pattern).test(value);
}

export function anyGlob(patterns: readonly string[], value: string): boolean {
  for (const p of patterns) if (globMatch(p, value)) return true;
  return false;
}
