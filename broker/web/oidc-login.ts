// Approvers sign in to the page with OpenID Connect: authorization code with PKCE (S256), state
// and nonce, through openid-client. The login's secrets (verifier, state, nonce, where to return)
// travel in a short-lived sealed cookie and are used once (login-state.ts); the callback has the
// client check state, the issuer, the code exchange and the ID token (signature against the
// provider's JWKS, audience, nonce, expiry), then opens a fresh session for the approver its
// claims name (approver-session.ts). Nothing is kept per process that a login or session needs,
// so the broker's replicas serve one approver in turn without sticky sessions. Discovery happens
// at the first login and is retried after a failure, so the broker starts even while the provider
// is unreachable (nobody can sign in until it is back).
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import { approverFromClaims } from './approver-claims.js';
import { scopedApprover } from '../identity/approver-prefixes.js';
import { ApproverSessions, type SessionRevocations } from './approver-session.js';
import { LoginStates, type PendingLogin } from './login-state.js';
import { caBundleFile, providerFetch } from './provider-fetch.js';
import { escapeHtml } from './html-escape.js';
import { renderPage } from './page-layout.js';
import { redirect, sendHtml } from './page-response.js';
import { safeReturnPath } from './return-path.js';
import type { WebLogin, WebSession } from './web-deps.js';
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
  /**
   * Seal the login and session cookies and key CSRF tokens; at least 32 random bytes each, the
   * same on every replica. The first seals, all open: to rotate, add the new one last everywhere,
   * then move it first, then drop the old one after a session lifetime.
   */
  sessionSecrets: readonly Buffer[];
  /** Absolute session lifetime; default 8 hours. */
  sessionTtlMs?: number;
  /** Sign-outs, shared by every replica (the broker's store): a signed-out session is refused by all. */
  sessionRevocations: SessionRevocations;
  /** PEM CA bundle the provider's HTTPS is verified with instead of the system roots (a private CA). */
  caFile?: string;
  /** Claim naming the approver, as for the CLI's tokens (approver-tokens.ts). Default preferred_username, email, sub. */
  usernameClaim?: string;
  /** Put before the approver's name and groups, as for the CLI's tokens (approver-prefixes.ts). */
  usernamePrefix?: string;
  groupsPrefix?: string;
  /** Accept an http:// issuer (tests and local mode only). */
  allowInsecureIssuer?: boolean;
}

export interface OidcLogin extends WebLogin {
  authenticate(req: IncomingMessage): Promise<WebSession | undefined>;
}


export function createOidcLogin(opts: OidcLoginOptions): OidcLogin {
  const secure = new URL(opts.publicUrl).protocol === 'https:';
  const redirectUri = new URL(CALLBACK_PATH, opts.publicUrl).href;
  const scope = opts.scopes ?? 'openid profile email';
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const usernameClaim = opts.usernameClaim;
  const logins = new LoginStates({ secrets: opts.sessionSecrets, secure });
  const sessions = new ApproverSessions({ secrets: opts.sessionSecrets, revocations: opts.sessionRevocations, secure, ttlMs: opts.sessionTtlMs });

  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= discover(opts).catch(() => {
      discovered = undefined;
      throw new HttpError(502, 'The sign-in provider could not be reached. Try again shortly.');
    });
    return discovered;
  };

  return {
    authenticate: (req) => sessions.read(req),

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
      logins.begin(res, pending);
      redirect(res, url.href);
    },

    async callback(req, res) {
      const pending = logins.take(req, res);
      if (!pending) return refuse(res, 400, 'This sign-in expired, was already answered, or was not started in this browser.');
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
      const claimed = claims && approverFromClaims(claims, groupsClaim, usernameClaim);
      if (!claimed) return refuse(res, 401, `The sign-in provider did not say who you are (no issuer, subject or ${usernameClaim ?? 'name'}).`);
      const approver = scopedApprover(claimed, opts);
      // A fresh session id at every sign-in: a session planted before login is never promoted, and
      // the one it replaces is signed out.
      await sessions.end(req, res);
      const opened = sessions.open(res, approver);
      if (!opened.ok) return refuse(res, 403, opened.message);
      redirect(res, pending.returnTo);
    },

    async logout(req, res) {
      await sessions.end(req, res);
      sendHtml(res, 200, renderPage({ title: 'Signed out', body: '<p class="notice ok" id="notice">You are signed out.</p><p><a href="/login">Sign in again</a></p>' }));
    },
  };
}

async function discover(opts: OidcLoginOptions): Promise<client.Configuration> {
  const clientAuth = opts.clientSecret === undefined ? client.None() : client.ClientSecretBasic(opts.clientSecret);
  const execute = [client.enableNonRepudiationChecks, ...(opts.allowInsecureIssuer ? [client.allowInsecureRequests] : [])];
  // Set on discovery, the fetch stays on the configuration: the JWKS and token requests use it too.
  const trust = opts.caFile !== undefined ? { [client.customFetch]: providerFetch(caBundleFile(opts.caFile)) } : {};
  return client.discovery(new URL(opts.issuer), opts.clientId, opts.clientSecret === undefined ? undefined : { client_secret: opts.clientSecret }, clientAuth, { execute, timeout: 10, ...trust });
}

/** The provider's OAuth error code (a fixed vocabulary such as access_denied), never its free text. */
function providerErrorCode(err: unknown): string {
  const code = (err as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendHtml(res, status, renderPage({ title: 'Sign-in failed', body: `<p class="notice error" id="notice" role="alert">${escapeHtml(message)}</p><p><a href="/login">Sign in again</a></p>` }));
}
