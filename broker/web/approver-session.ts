// Signed-in approvers, held by their browsers: the session cookie is sealed (sealed-cookie.ts) and
// carries the verified approver, a random session id, issue time and absolute expiry. Any replica
// with the same secrets accepts it, so the broker's replicas need no shared session store and no
// sticky sessions. The CSRF token is an HMAC of the session id under the secret that sealed it, so
// it is the same on every replica during a rotation.
//
// Signing out clears the cookie and remembers the session id in this process. A copy of the cookie
// taken before sign-out stays valid on other replicas (and here once forgotten) until it expires:
// the absolute expiry, 8 hours by default, bounds what a stolen cookie is worth.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { purposeKey } from './cookie-keys.js';
import { csrfTokenFor } from './csrf-token.js';
import { ExpiringIdSet } from './expiring-id-set.js';
import { MAX_COOKIE_CHARS, SealedCookie } from './sealed-cookie.js';
import type { VerifiedApprover, WebSession } from './web-deps.js';

/** Most groups a session carries: a browser keeps a cookie of about 4 kB at most. */
export const MAX_SESSION_GROUPS = 100;
const DEFAULT_TTL_MS = 8 * 3600_000;
const MAX_REMEMBERED_SIGN_OUTS = 10_000;

const approverShape = z.object({
  issuer: z.string().min(1),
  subject: z.string().min(1),
  name: z.string().min(1),
  groups: z.array(z.string()).max(MAX_SESSION_GROUPS),
});
const sessionShape = z.object({ sid: z.string().regex(/^[A-Za-z0-9_-]{32}$/), approver: approverShape });
type SessionState = z.infer<typeof sessionShape>;

export interface ApproverSessionOptions {
  /** The first seals, all open. */
  secrets: readonly Buffer[];
  secure: boolean;
  /** Absolute lifetime of a session; default 8 hours. */
  ttlMs?: number;
  now?: () => number;
}

export type SessionOpening = { ok: true } | { ok: false; message: string };

export class ApproverSessions {
  private readonly cookie: SealedCookie<SessionState>;
  private readonly csrfKeys: Buffer[];
  private readonly signedOut: ExpiringIdSet;

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
    this.signedOut = new ExpiringIdSet(MAX_REMEMBERED_SIGN_OUTS, opts.now);
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

  /** The request's live session, or undefined (none, forged, expired, signed out here). */
  read(req: IncomingMessage): WebSession | undefined {
    const opened = this.cookie.read(req);
    if (!opened || this.signedOut.has(opened.value.sid)) return undefined;
    return { approver: opened.value.approver, csrfToken: csrfTokenFor(this.csrfKeys[opened.secretIndex] as Buffer, opened.value.sid) };
  }

  /** Signs out: clears the cookie and refuses its session id in this process until it would expire. */
  end(req: IncomingMessage, res: ServerResponse): void {
    const opened = this.cookie.read(req);
    if (opened) this.signedOut.add(opened.value.sid, opened.expiresAt);
    this.cookie.clear(res);
  }
}
