// Server-side sessions named by a signed cookie. The cookie carries only a random id and its HMAC
// (so a guessed or altered id is refused before any lookup); what the session holds stays in a
// bounded in-memory map with an absolute expiry. The broker's page keeps two kinds: a login in
// progress (minutes, single-use) and a signed-in approver (hours). Sessions do not survive a
// restart: the approver signs in again, nothing else is lost.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CookieSessionOptions {
  /** Cookie name; over https it gets the `__Host-` prefix (Secure, Path=/, no Domain). */
  name: string;
  /** HMAC key for cookie signatures, at least 32 bytes. */
  secret: Buffer;
  ttlMs: number;
  /** Most sessions held; beyond it expired ones are dropped, then the oldest. */
  maxSessions: number;
  /** Set the Secure attribute (the page is served over https). */
  secure: boolean;
  now?: () => number;
}

export interface Session<T> {
  /** The server-side id (never shown; the CSRF token is derived from it). */
  id: string;
  data: T;
  expiresAt: number;
}

export class CookieSessions<T> {
  private readonly sessions = new Map<string, Session<T>>();
  private readonly cookieName: string;
  private readonly now: () => number;

  constructor(private readonly opts: CookieSessionOptions) {
    if (opts.secret.length < 32) throw new Error('the session secret must be at least 32 bytes');
    if (!/^[A-Za-z0-9_-]+$/.test(opts.name)) throw new Error('a session cookie name is letters, digits, - and _');
    this.cookieName = opts.secure ? `__Host-${opts.name}` : opts.name;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session holding `data`, its cookie set on `res`. Always a fresh id (no fixation). */
  create(res: ServerResponse, data: T): Session<T> {
    this.makeRoom();
    const id = randomBytes(24).toString('base64url');
    const session = { id, data, expiresAt: this.now() + this.opts.ttlMs };
    this.sessions.set(id, session);
    appendSetCookie(res, `${this.cookieName}=${id}.${this.sign(id)}; ${this.attributes(Math.ceil(this.opts.ttlMs / 1000))}`);
    return session;
  }

  /** The live session the request's cookie names, or undefined (absent, forged, expired, evicted). */
  read(req: IncomingMessage): Session<T> | undefined {
    for (const value of cookieValues(req.headers.cookie, this.cookieName)) {
      const id = this.verifiedId(value);
      const session = id === undefined ? undefined : this.sessions.get(id);
      if (!session) continue;
      if (session.expiresAt <= this.now()) {
        this.sessions.delete(session.id);
        continue;
      }
      return session;
    }
    return undefined;
  }

  /** Reads the session and ends it: for state that must be used once (a login's state and nonce). */
  take(req: IncomingMessage, res: ServerResponse): Session<T> | undefined {
    const session = this.read(req);
    this.destroy(req, res);
    return session;
  }

  /** Ends the request's session, if any, and clears its cookie. */
  destroy(req: IncomingMessage, res: ServerResponse): void {
    for (const value of cookieValues(req.headers.cookie, this.cookieName)) {
      const id = this.verifiedId(value);
      if (id !== undefined) this.sessions.delete(id);
    }
    appendSetCookie(res, `${this.cookieName}=; ${this.attributes(0)}`);
  }

  private attributes(maxAgeSeconds: number): string {
    return `Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${this.opts.secure ? '; Secure' : ''}`;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.opts.secret).update(`session\0${this.cookieName}\0${id}`).digest('base64url');
  }

  private verifiedId(value: string): string | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
  }

  private makeRoom(): void {
    if (this.sessions.size < this.opts.maxSessions) return;
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    // Map order is creation order: the oldest go first.
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < this.opts.maxSessions) break;
      this.sessions.delete(id);
    }
  }
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

function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('set-cookie', [...list, cookie]);
}
