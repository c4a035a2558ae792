// Where to send an approver after they sign in: a path on this page only. A `next` that could
// leave the site (`//evil.example`, `/\evil.example`, `https://…`) or carries control characters
// becomes `/`, so the login cannot be turned into an open redirect.

const MAX_PATH_CHARS = 2048;

export function safeReturnPath(next: string | null | undefined): string {
  if (!next || next.length > MAX_PATH_CHARS) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  // Resolved against a throwaway origin it must stay on that origin — and what is returned must be
  // checked again: dot segments collapse (`/..//evil.example` resolves to the path
  // `//evil.example`), and that path in a Location header is another host.
  const resolved = new URL(next, 'http://page.invalid');
  if (resolved.origin !== 'http://page.invalid') return '/';
  const path = resolved.pathname + resolved.search;
  return path.startsWith('//') || path.startsWith('/\\') ? '/' : path;
}
