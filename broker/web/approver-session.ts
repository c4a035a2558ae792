// Signed-in approvers, held by their browsers: the session cookie is sealed (sealed-cookie.ts) and
// carries the verified approver, a random session id, issue time and absolute expiry. Any replica
// with the same secrets accepts it, so the broker's replicas need no sticky sessions. The CSRF
// token is an HMAC of the session id under the secret that sealed it, so it is the same on every
// replica during a rotation.
//
// Signing out is the one thing a cookie cannot carry: the session id is recorded in the store all
// replicas share (SessionRevocations) before the sign-out is answered, and every read looks it up
// there, so a copy of the cookie taken earlier is refused everywhere at once. A store that does not
// answer refuses the request (503): a session it cannot check is not a session.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { purposeKey } from './cookie-keys.js';
import { csrfTokenFor } from './csrf-token.js';
import { MAX_COOKIE_CHARS, SealedCookie } from './sealed-cookie.js';
import type { VerifiedApprover, WebSession } from './web-deps.js';
import { HttpError } from '../server/http-json.js';

/** Most groups a session carries: a browser keeps a cookie of about 4 kB at most. */
export const MAX_SESSION_GROUPS = 100;
const DEFAULT_TTL_MS = 8 * 3600_000;

const approverShape = z.object({
  issuer: z.string().min(1),
  subject: z.string().min(1),
  name: z.string().min(1),
  groups: z.array(z.string()).max(MAX_SESSION_GROUPS),
});
const sessionShape = z.object({ sid: z.string().regex(/^[A-Za-z0-9_-]{32}$/), approver: approverShape });
type SessionState = z.infer<typeof sessionShape>;

/** Where sign-outs are kept for every replica (broker/store/revoked-sessions.ts). */
export interface SessionRevocations {
  /** Resolves once the sign-out is committed; `expiresAt` is the session's own expiry. */
  revoke(sessionId: string, expiresAt: number): Promise<void>;
  /** Rejects when it cannot tell. */
  isRevoked(sessionId: string): Promise<boolean>;
}

export interface ApproverSessionOptions {
  /** The first seals, all open. */
  secrets: readonly Buffer[];
  revocations: SessionRevocations;
  secure: boolean;
  /** Absolute lifetime of a session; default 8 hours. */
  ttlMs?: number;
  now?: () => number;
}

export type SessionOpening = { ok: true } | { ok: false; message: string };

export class ApproverSessions {
  private readonly cookie: SealedCookie<SessionState>;
  private readonly csrfKeys: Buffer[];
  private readonly revocations: SessionRevocations;

  constructor(opts: ApproverSessionOptions) {
    this.cookie = new SealedCookie({
      name: 'sidegate_session',
      purpose: 'sidegate session',
      secrets: opts.secrets,
      ttlMs: opts.ttlMs ?? DEFAULT_TTL_MS,
      secure: opts.secure,
      parse: (value) => {
        const parsed = sessionShape.safeParse(value);
        return parsed.success ? parsed.data : undefined;
      },
      now: opts.now,
    });
    this.csrfKeys = opts.secrets.map((secret) => purposeKey(secret, 'sidegate csrf'));
    this.revocations = opts.revocations;
  }

  /** Starts a session for `approver` (always a fresh id: no fixation), or says why it cannot hold them. */
  open(res: ServerResponse, approver: VerifiedApprover): SessionOpening {
    if (approver.groups.length > MAX_SESSION_GROUPS) {
      return { ok: false, message: `Your sign-in names ${approver.groups.length} groups; a session holds at most ${MAX_SESSION_GROUPS}. Ask the broker's operator to configure a groups claim that names only the groups approvals use.` };
    }
    const state = { sid: randomBytes(24).toString('base64url'), approver: { ...approver, groups: [...approver.groups] } };
    if (!this.cookie.set(res, state)) {
      return { ok: false, message: `Your name and groups are too long for a session (a browser keeps at most ${MAX_COOKIE_CHARS} characters). Ask the broker's operator to configure a groups claim that names only the groups approvals use.` };
    }
    return { ok: true };
  }

  /** The request's live session, or undefined (none, forged, expired, signed out); 503 when sign-outs cannot be checked. */
  async read(req: IncomingMessage): Promise<WebSession | undefined> {
    const opened = this.cookie.read(req);
    if (!opened) return undefined;
    const revoked = await this.revocations.isRevoked(opened.value.sid).catch(() => {
      throw new HttpError(503, 'The broker cannot check your session right now (its database does not answer). Try again shortly.');
    });
    if (revoked) return undefined;
    return { approver: opened.value.approver, csrfToken: csrfTokenFor(this.csrfKeys[opened.secretIndex] as Buffer, opened.value.sid) };
  }

  /**
   * Signs out: the session is refused on every replica, then the cookie is cleared. When the sign-out
   * cannot be recorded the cookie is kept and 503 says so: clearing it would look like a sign-out
   * while a copy still worked.
   */
  async end(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const opened = this.cookie.read(req);
    if (opened) {
      await this.revocations.revoke(opened.value.sid, opened.expiresAt).catch(() => {
        throw new HttpError(503, 'You are not signed out: the broker could not record the sign-out (its database does not answer). Try again shortly.');
      });
    }
    this.cookie.clear(res);
  }
}
