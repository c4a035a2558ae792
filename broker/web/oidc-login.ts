// Approvers sign in to the page with OpenID Connect: authorization code with PKCE (S256), state
// and nonce, through openid-client. The login's secrets (verifier, state, nonce, where to return)
// live server-side under a short-lived signed cookie and are used once; the callback has the
// client check state, the issuer, the code exchange and the ID token (signature against the
// provider's JWKS, audience, nonce, expiry), then opens a fresh session for the approver its
// claims name. Discovery happens at the first login and is retried after a failure, so the broker
// starts even while the provider is unreachable (nobody can sign in until it is back).
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import { approverFromClaims } from './approver-claims.js';
import { CookieSessions } from './cookie-session.js';
import { csrfTokenFor } from './csrf-token.js';
import { escapeHtml } from './html-escape.js';
import { renderPage } from './page-layout.js';
import { redirect, sendHtml } from './page-response.js';
import { safeReturnPath } from './return-path.js';
import type { VerifiedApprover, WebLogin, WebSession } from './web-deps.js';
import { HttpError } from '../server/http-json.js';

export const CALLBACK_PATH = '/auth/callback';

export interface OidcLoginOptions {
  /** The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer: string;
  clientId: string;
  /** Confidential client (client_secret_basic); without it a public client, protected by PKCE. */
  clientSecret?: string;
  /** The page's external base URL; the redirect URI is `<publicUrl>/auth/callback`. */
  publicUrl: string;
  /** Default `openid profile email`; add what the provider needs to release groups. */
  scopes?: string;
  /** Claim holding the approver's groups; dots reach nested claims. Default `groups`. */
  groupsClaim?: string;
  /** Signs session cookies and derives CSRF tokens; at least 32 random bytes. */
  sessionSecret: Buffer;
  /** Default 8 hours. */
  sessionTtlMs?: number;
  /** Default 10,000 signed-in approvers. */
  maxSessions?: number;
  /** Accept an http:// issuer (tests and local mode only). */
  allowInsecureIssuer?: boolean;
}

export interface OidcLogin extends WebLogin {
  authenticate(req: IncomingMessage): WebSession | undefined;
}

interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

/** A login must finish within this long of starting. */
const LOGIN_TTL_MS = 10 * 60_000;
const MAX_PENDING_LOGINS = 1000;


export function createOidcLogin(opts: OidcLoginOptions): OidcLogin {
  const secure = new URL(opts.publicUrl).protocol === 'https:';
  const redirectUri = new URL(CALLBACK_PATH, opts.publicUrl).href;
  const scope = opts.scopes ?? 'openid profile email';
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const logins = new CookieSessions<PendingLogin>({ name: 'sidegate_login', secret: opts.sessionSecret, ttlMs: LOGIN_TTL_MS, maxSessions: MAX_PENDING_LOGINS, secure });
  const sessions = new CookieSessions<VerifiedApprover>({
    name: 'sidegate_session',
    secret: opts.sessionSecret,
    ttlMs: opts.sessionTtlMs ?? 8 * 3600_000,
    maxSessions: opts.maxSessions ?? 10_000,
    secure,
  });

  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= discover(opts).catch(() => {
      discovered = undefined;
      throw new HttpError(502, 'The sign-in provider could not be reached. Try again shortly.');
    });
    return discovered;
  };

  return {
    authenticate(req) {
      const session = sessions.read(req);
      return session && { approver: session.data, csrfToken: csrfTokenFor(opts.sessionSecret, session.id) };
    },

    async start(req, res) {
      const config = await configuration();
      const codeVerifier = client.randomPKCECodeVerifier();
      const pending: PendingLogin = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier,
        returnTo: safeReturnPath(new URL(req.url ?? '/', 'http://page').searchParams.get('next')),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope,
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      });
      logins.create(res, pending);
      redirect(res, url.href);
    },

    async callback(req, res) {
      const pending = logins.take(req, res)?.data;
      if (!pending) return refuse(res, 400, 'This sign-in expired or was not started in this browser.');
      const config = await configuration();
      // The redirect URI as registered, with the provider's answer: never the Host header's idea of it.
      const current = new URL(redirectUri);
      current.search = new URL(req.url ?? '/', 'http://page').search;
      let claims: Record<string, unknown> | undefined;
      try {
        const tokens = await client.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        return refuse(res, 401, `The sign-in failed${providerErrorCode(err)}.`);
      }
      const approver = claims && approverFromClaims(claims, groupsClaim);
      if (!approver) return refuse(res, 401, 'The sign-in provider did not say who you are (no issuer or subject).');
      // A fresh session id at every sign-in: a session planted before login is never promoted.
      sessions.destroy(req, res);
      sessions.create(res, approver);
      redirect(res, pending.returnTo);
    },

    async logout(req, res) {
      sessions.destroy(req, res);
      sendHtml(res, 200, renderPage({ title: 'Signed out', body: '<p class="notice ok" id="notice">You are signed out.</p><p><a href="/login">Sign in again</a></p>' }));
    },
  };
}

async function discover(opts: OidcLoginOptions): Promise<client.Configuration> {
  const clientAuth = opts.clientSecret === undefined ? client.None() : client.ClientSecretBasic(opts.clientSecret);
  const execute = [client.enableNonRepudiationChecks, ...(opts.allowInsecureIssuer ? [client.allowInsecureRequests] : [])];
  return client.discovery(new URL(opts.issuer), opts.clientId, opts.clientSecret === undefined ? undefined : { client_secret: opts.clientSecret }, clientAuth, { execute, timeout: 10 });
}

/** The provider's OAuth error code (a fixed vocabulary such as access_denied), never its free text. */
function providerErrorCode(err: unknown): string {
  const code = (err as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendHtml(res, status, renderPage({ title: 'Sign-in failed', body: `<p class="notice error" id="notice" role="alert">${escapeHtml(message)}</p><p><a href="/login">Sign in again</a></p>` }));
}
