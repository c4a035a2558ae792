// A real OpenID provider for tests (the `oidc-provider` package, certified OpenID Connect): on
// 127.0.0.1 over HTTP, or HTTPS with a throwaway certificate, with
//   - a web client for the broker's page (authorization code + PKCE, confidential by default),
//   - a CLI client (public, device authorization grant),
//   - test accounts whose ID tokens carry `preferred_username`, `email` and `groups`,
//   - a minimal login page a real browser can fill in (a username field, no password, no consent:
//     grants to our own clients are given at once), served without any third-party asset,
//   - `idTokenFor(username)`, which walks the authorization-code flow over HTTP as a browser would,
//     and `completeDeviceLogin(url, username)`, which does the user's half of a device login.
// Nothing leaves loopback.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { makeSelfSignedCertificate } from './self-signed-certificate.js';

export interface TestAccount {
  username: string;
  groups?: string[];
  email?: string;
}

export interface TestOidcProviderOptions {
  accounts: TestAccount[];
  /** Serve HTTPS with a fresh self-signed certificate (`caFile` trusts it). Default HTTP. */
  https?: boolean;
  /** The web client; a secret makes it confidential. Default `sidegate-web` with a secret. */
  webClient?: { clientId?: string; clientSecret?: string | null; redirectUris?: string[] };
  /** The CLI's public client for the device authorization grant. Default `sidegate-cli`. */
  cliClientId?: string;
  /** Lifetime of ID tokens, seconds (default 300). */
  idTokenTtlSeconds?: number;
  /** Address to listen on (default 127.0.0.1): another one inside a test's network namespace. */
  host?: string;
}

export interface TestOidcProvider {
  issuer: string;
  /** PEM file of the certificate the HTTPS provider serves; undefined over HTTP. */
  caFile: string | undefined;
  webClient: { clientId: string; clientSecret: string | undefined };
  cliClientId: string;
  /** `sub` of a test account (distinct from its username, as with real providers). */
  subjectOf(username: string): string;
  /** Let the web client redirect here (a broker started after the provider). */
  allowRedirectUri(uri: string): void;
  /** An ID token for the account, through the authorization-code flow with PKCE, as a browser would. */
  idTokenFor(username: string, opts?: { nonce?: string }): Promise<string>;
  /** The user's half of a device login: open the verification URL, confirm, sign in as `username`. */
  completeDeviceLogin(verificationUriComplete: string, username: string): Promise<void>;
  close(): Promise<void>;
}

const GROUPS_SCOPE = 'groups';
const PLACEHOLDER_REDIRECT = 'http://127.0.0.1/no-broker-yet';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Our login page, instead of oidc-provider's development pages (which load Google fonts). */
function interactions(provider: Provider, accounts: Map<string, TestAccount>, subjectOf: (username: string) => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      const action = `/interaction/${encodeURIComponent(details.uid)}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        page(
          'Sign in to the test provider',
          `<form method="post" action="${action}"><label>Username <input name="username" autofocus required></label> <button type="submit">Sign in</button></form>`,
        ),
      );
      return;
    }
    const username = (await readForm(req)).get('username') ?? '';
    if (!accounts.has(username)) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(page('Unknown user', `<p>No test account ${escapeHtml(username)}.</p>`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: subjectOf(username) } }, { mergeWithLastSubmission: false });
  };
}

/** A grant for our own clients without a consent page: what the login asked for is granted. */
async function grantAtOnce(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const existing = oidc.session?.grantIdFor(oidc.client!.clientId);
  if (existing) return oidc.provider.Grant.find(existing);
  const grant = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId! });
  grant.addOIDCScope(`openid profile email ${GROUPS_SCOPE}`);
  await grant.save();
  return grant;
}

function deviceFlowPages(): NonNullable<NonNullable<Configuration['features']>['deviceFlow']> {
  return {
    enabled: true,
    userCodeInputSource: async (ctx, form) => {
      ctx.body = page('Enter the code shown on your device', `${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
    },
    userCodeConfirmSource: async (ctx, form, _client, _device, userCode) => {
      ctx.body = page('Confirm the device', `<p>Code <code>${escapeHtml(userCode)}</code></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`);
    },
    successSource: async (ctx) => {
      ctx.body = page('Signed in', '<p>You can close this page.</p>');
    },
  };
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Minimal cookie jar: every cookie back to the provider (its cookies are all for its own paths). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A browser without a screen: GET/POST with cookies, redirects followed by hand. */
class ScriptedBrowser {
  private readonly jar = new CookieJar();
  constructor(
    private readonly base: string,
    private readonly fetcher: typeof fetch,
  ) {}

  async request(url: string, form?: URLSearchParams): Promise<Response> {
    const response = await this.fetcher(new URL(url, this.base), {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: this.jar.header(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form?.toString(),
    });
    this.jar.take(response);
    return response;
  }

  /** Follows redirects within the provider; returns the first response that is not one, or the off-provider Location. */
  async follow(url: string, form?: URLSearchParams): Promise<{ response?: Response; leftTo?: URL }> {
    let response = await this.request(url, form);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response };
      const next = new URL(location, this.base);
      if (next.origin !== new URL(this.base).origin) return { leftTo: next };
      response = await this.request(next.href);
    }
    throw new Error('too many redirects at the test provider');
  }
}

function hiddenInputs(html: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)) form.set(match[1]!, match[2]!);
  return form;
}

function formAction(html: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!match) throw new Error('the test provider page has no form');
  return match[1]!;
}

/** A fetch that trusts the provider's own certificate (tests must not disable TLS checks globally). */
async function fetchTrusting(caFile: string | undefined): Promise<typeof fetch> {
  if (caFile === undefined) return fetch;
  const ca = await readFile(caFile, 'utf8');
  const { request } = await import('node:https');
  return (async (input: URL | string, init: RequestInit = {}) => {
    const url = new URL(String(input));
    return await new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ca }, async (res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
        }
        const status = res.statusCode ?? 502;
        resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers }));
      });
      req.once('error', reject);
      req.end(init.body as string | undefined);
    });
  }) as typeof fetch;
}

export async function startOidcProvider(opts: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const accounts = new Map(opts.accounts.map((a) => [a.username, a]));
  const subjectOf = (username: string) => `user-${createHash('sha256').update(username).digest('hex').slice(0, 16)}`;
  // oidc-provider's account id is the `sub`.
  const bySubject = new Map(opts.accounts.map((a) => [subjectOf(a.username), a]));
  const webClientId = opts.webClient?.clientId ?? 'sidegate-web';
  const webSecret = opts.webClient?.clientSecret === null ? undefined : (opts.webClient?.clientSecret ?? randomBytes(24).toString('base64url'));
  const cliClientId = opts.cliClientId ?? 'sidegate-cli';
  const redirectUris = new Set(opts.webClient?.redirectUris ?? []);

  const host = opts.host ?? '127.0.0.1';
  const certificate = opts.https ? makeSelfSignedCertificate(undefined, 'oidc', host === '127.0.0.1' ? [] : [`IP:${host}`]) : undefined;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = certificate
    ? createHttpsServer({ cert: certificate.cert, key: await readFile(certificate.keyFile, 'utf8') }, (req, res) => handler(req, res))
    : createHttpServer((req, res) => handler(req, res));
  const port = await listen(server, host);
  const issuer = `${certificate ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  const configuration: Configuration = {
    clients: [
      {
        client_id: webClientId,
        ...(webSecret !== undefined ? { client_secret: webSecret } : { token_endpoint_auth_method: 'none' }),
        redirect_uris: [...redirectUris, PLACEHOLDER_REDIRECT],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: cliClientId,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'profile', 'email', GROUPS_SCOPE, 'offline_access'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], [GROUPS_SCOPE]: ['groups'] },
    // Scope claims in the ID token itself: the broker reads groups from it, as with most providers' settings.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: { IdToken: opts.idTokenTtlSeconds ?? 300, DeviceCode: 300, Interaction: 300, Session: 3600, Grant: 3600, AccessToken: 300 },
    features: { devInteractions: { enabled: false }, deviceFlow: deviceFlowPages() },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant: grantAtOnce,
    findAccount: (_ctx, id) => {
      const account = bySubject.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          preferred_username: account.username,
          name: account.username,
          ...(account.email !== undefined ? { email: account.email, email_verified: true } : {}),
          groups: account.groups ?? [],
        }),
      };
    },
  };
  const provider = new Provider(issuer, configuration);
  const webClientAllowed = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function (this: InstanceType<typeof provider.Client>, uri: string) {
    return this.clientId === webClientId ? redirectUris.has(uri) : webClientAllowed.call(this, uri);
  };
  const oidc = provider.callback();
  const login = interactions(provider, accounts, subjectOf);
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      login(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('the sign-in could not be completed');
      });
      return;
    }
    oidc(req, res);
  };

  const fetcher = await fetchTrusting(certificate?.certFile);

  return {
    issuer,
    caFile: certificate?.certFile,
    webClient: { clientId: webClientId, clientSecret: webSecret },
    cliClientId,
    subjectOf,
    allowRedirectUri: (uri) => void redirectUris.add(uri),

    async idTokenFor(username, idOpts = {}) {
      const redirectUri = [...redirectUris][0] ?? PLACEHOLDER_REDIRECT;
      redirectUris.add(redirectUri);
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const state = randomBytes(8).toString('hex');
      const browser = new ScriptedBrowser(issuer, fetcher);
      const authorize = new URL('/auth', issuer);
      authorize.search = new URLSearchParams({
        client_id: webClientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: `openid profile email ${GROUPS_SCOPE}`,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state,
        nonce: idOpts.nonce ?? randomBytes(8).toString('hex'),
      }).toString();
      const first = await browser.follow(authorize.href);
      if (!first.response) throw new Error('the provider did not show a login page');
      const done = await browser.follow(formAction(await first.response.text()), new URLSearchParams({ username }));
      const code = done.leftTo?.searchParams.get('code');
      if (!code || done.leftTo?.searchParams.get('state') !== state) {
        throw new Error(`no authorization code for ${username} (${done.response?.status ?? done.leftTo?.search})`);
      }
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: webClientId });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (webSecret !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${webClientId}:${webSecret}`).toString('base64')}`;
      const token = await fetcher(new URL('/token', issuer), { method: 'POST', headers, body: body.toString() });
      const json = (await token.json()) as { id_token?: string; error?: string };
      if (!json.id_token) throw new Error(`the token endpoint refused the code: ${json.error ?? token.status}`);
      return json.id_token;
    },

    async completeDeviceLogin(verificationUriComplete, username) {
      const browser = new ScriptedBrowser(issuer, fetcher);
      // The verification URL answers a self-submitting form, then the confirmation page: submit
      // each page's hidden fields (as pressing its button would) until the login page shows.
      let step = await browser.follow(verificationUriComplete);
      let html = (await step.response?.text()) ?? '';
      for (let pages = 0; !html.includes('name="username"'); pages++) {
        if (pages === 3 || !step.response) throw new Error(`the provider did not show a login page (${step.response?.status})`);
        step = await browser.follow(formAction(html), hiddenInputs(html));
        html = (await step.response?.text()) ?? '';
      }
      const done = await browser.follow(formAction(html), new URLSearchParams({ username }));
      const text = (await done.response?.text()) ?? '';
      if (!text.includes('Signed in')) throw new Error(`the device login as ${username} did not succeed (${done.response?.status})`);
    },

    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
