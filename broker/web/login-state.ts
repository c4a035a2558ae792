// A sign-in in progress, held by the browser that started it: state, nonce, PKCE code verifier and
// where to return, in a sealed cookie (sealed-cookie.ts) that lives 10 minutes. The callback may
// reach any replica with the same secrets. It is used once: the callback clears the cookie, the
// provider's answer must carry the cookie's state (openid-client checks it), and the provider
// redeems an authorization code once. This process also remembers the states it has answered, so a
// replayed cookie is refused here before the provider is asked.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ExpiringIdSet } from './expiring-id-set.js';
import { SealedCookie } from './sealed-cookie.js';

export const LOGIN_TTL_MS = 10 * 60_000;
const MAX_REMEMBERED_STATES = 10_000;

const pendingShape = z.object({
  state: z.string().min(16),
  nonce: z.string().min(16),
  codeVerifier: z.string().min(43),
  returnTo: z.string().startsWith('/'),
});
export type PendingLogin = z.infer<typeof pendingShape>;

export interface LoginStateOptions {
  /** The first seals, all open. */
  secrets: readonly Buffer[];
  secure: boolean;
  now?: () => number;
}

export class LoginStates {
  private readonly cookie: SealedCookie<PendingLogin>;
  private readonly answered: ExpiringIdSet;

  constructor(opts: LoginStateOptions) {
    this.cookie = new SealedCookie({
      name: 'sidegate_login',
      purpose: 'sidegate login state',
      secrets: opts.secrets,
      ttlMs: LOGIN_TTL_MS,
      secure: opts.secure,
      parse: (value) => {
        const parsed = pendingShape.safeParse(value);
        return parsed.success ? parsed.data : undefined;
      },
      now: opts.now,
    });
    this.answered = new ExpiringIdSet(MAX_REMEMBERED_STATES, opts.now);
  }

  /** Hands the login to the browser. A return path too long for a cookie becomes `/`. */
  begin(res: ServerResponse, pending: PendingLogin): void {
    if (this.cookie.set(res, pending) || this.cookie.set(res, { ...pending, returnTo: '/' })) return;
    throw new Error('a login state does not fit in a cookie');
  }

  /** The login the callback answers, once; undefined when absent, expired, forged or already answered here. */
  take(req: IncomingMessage, res: ServerResponse): PendingLogin | undefined {
    const opened = this.cookie.read(req);
    this.cookie.clear(res);
    if (!opened || this.answered.has(opened.value.state)) return undefined;
    this.answered.add(opened.value.state, opened.expiresAt);
    return opened.value;
  }
}
