// A browser without a screen for the broker's approval page: HTTPS to the broker and to the OpenID
// provider, each trusted by its own certificate only, cookies kept per origin as a browser keeps
// them, redirects followed by hand across both. `signIn` walks the page's real login (the broker's
// /login → the provider's login form → the broker's callback); everything else is plain requests,
// so an attacker's test can replay, forge or drop any of them.
import { request } from 'node:https';

export interface PageResponse {
  status: number;
  url: URL;
  headers: Headers;
  body: string;
}

export class BrokerPageBrowser {
  /** origin → cookie name → value */
  readonly jar = new Map<string, Map<string, string>>();

  constructor(
    readonly brokerUrl: string,
    private readonly ca: string[],
  ) {}

  /** One request, no redirect followed. `headers` replace the browser's own (cookie included). */
  async request(url: string | URL, init: { method?: string; form?: URLSearchParams | string; body?: string; headers?: Record<string, string> } = {}): Promise<PageResponse> {
    const target = new URL(url, this.brokerUrl);
    const body = init.form !== undefined ? init.form.toString() : init.body;
    const headers: Record<string, string> = {
      ...(this.cookieHeader(target) ? { cookie: this.cookieHeader(target) } : {}),
      ...(init.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    };
    return new Promise((resolve, reject) => {
      const req = request(target, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, ca: this.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [name, value] of Object.entries(res.headers)) for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) h.append(name, v);
          this.take(target, h.getSetCookie());
          resolve({ status: res.statusCode ?? 0, url: target, headers: h, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Follows redirects (anywhere) until a page that is not one. */
  async follow(url: string | URL, init: { form?: URLSearchParams } = {}): Promise<PageResponse> {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 15; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response;
      response = await this.request(new URL(location, response.url));
    }
    throw new Error('too many redirects');
  }

  /** Signs in as `username` through the provider; returns the page the broker sent the browser back to. */
  async signIn(username: string, next = '/'): Promise<PageResponse> {
    const form = await this.follow(`/login?next=${encodeURIComponent(next)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(form.body)?.[1];
    if (!action) throw new Error(`no login form at ${form.url.href} (${form.status}): ${form.body.slice(0, 200)}`);
    return this.follow(new URL(action, form.url), { form: new URLSearchParams({ username }) });
  }

  /** The CSRF token of the page at `path` (a request's detail page). */
  async csrf(path: string): Promise<string> {
    const page = await this.request(path);
    const token = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no CSRF token on ${path} (${page.status})`);
    return token;
  }

  cookie(name: string): string | undefined {
    return this.jar.get(new URL(this.brokerUrl).origin)?.get(name);
  }

  setCookie(name: string, value: string): void {
    const origin = new URL(this.brokerUrl).origin;
    if (!this.jar.has(origin)) this.jar.set(origin, new Map());
    this.jar.get(origin)!.set(name, value);
  }

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private take(url: URL, lines: string[]): void {
    if (!this.jar.has(url.origin)) this.jar.set(url.origin, new Map());
    const cookies = this.jar.get(url.origin)!;
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
  }
}
