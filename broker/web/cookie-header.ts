// Reading and writing the page's cookies on node:http messages. The attributes are the same for
// every cookie the page sets: host-only, whole site, not readable by script, not sent on
// cross-site subrequests or POSTs; over https Secure and `__Host-` prefixed, so neither a sibling
// subdomain nor plain http can plant or overwrite one.
import type { ServerResponse } from 'node:http';

/** The name a cookie goes by: `__Host-<name>` over https. */
export function cookieName(name: string, secure: boolean): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error('a cookie name is letters, digits, - and _');
  return secure ? `__Host-${name}` : name;
}

/** Every value the Cookie header gives `name` (a browser may send several; none is trusted unverified). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** Adds a Set-Cookie to the response (after any already there: the browser applies them in order). */
export function setCookie(res: ServerResponse, name: string, value: string, maxAgeSeconds: number, secure: boolean): void {
  const cookie = `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  const existing = res.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('set-cookie', [...list, cookie]);
}
