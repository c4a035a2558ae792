import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { CookieSessions, cookieValues, type CookieSessionOptions } from './cookie-session.js';

function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  if (cookie !== undefined) req.headers.cookie = cookie;
  return { req, res: new ServerResponse(req) };
}

/** The name=value part of each Set-Cookie the response carries, and their attributes. */
function setCookies(res: ServerResponse): string[] {
  return (res.getHeader('set-cookie') as string[] | undefined) ?? [];
}

function sessions(over: Partial<CookieSessionOptions> = {}) {
  let clock = 1_000_000;
  const store = new CookieSessions<{ who: string }>({ name: 'sid', secret: Buffer.alloc(32, 1), ttlMs: 60_000, maxSessions: 3, secure: false, now: () => clock, ...over });
  return { store, advance: (ms: number) => (clock += ms) };
}

function cookieOf(res: ServerResponse): string {
  const header = setCookies(res).at(-1);
  assert.ok(header);
  return header.split(';')[0] as string;
}

test('a created session is read back through its cookie, which carries only id and signature', () => {
  const { store } = sessions();
  const { res } = exchange();
  const created = store.create(res, { who: 'alice' });
  const [header] = setCookies(res);
  assert.match(header ?? '', /^sid=[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/);
  assert.equal(header?.includes('alice'), false);
  const read = store.read(exchange(cookieOf(res)).req);
  assert.equal(read?.id, created.id);
  assert.deepEqual(read?.data, { who: 'alice' });
});

test('over https the cookie is Secure with the __Host- prefix', () => {
  const { store } = sessions({ secure: true });
  const { res } = exchange();
  store.create(res, { who: 'alice' });
  assert.match(setCookies(res)[0] ?? '', /^__Host-sid=.*; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax; Secure$/);
  assert.ok(store.read(exchange(cookieOf(res)).req));
  assert.equal(store.read(exchange(cookieOf(res).replace('__Host-', '')).req), undefined, 'the unprefixed name is not the cookie');
});

test('a forged, altered or foreign-secret cookie names no session', () => {
  const { store } = sessions();
  const { res } = exchange();
  const created = store.create(res, { who: 'alice' });
  const cookie = cookieOf(res);
  const [id, sig] = cookie.slice('sid='.length).split('.') as [string, string];
  assert.equal(store.read(exchange(`sid=${id}`).req), undefined);
  assert.equal(store.read(exchange(`sid=${id}.`).req), undefined);
  assert.equal(store.read(exchange(`sid=${id}.${sig.slice(0, -2)}AA`).req), undefined);
  assert.equal(store.read(exchange(`sid=${id.slice(0, -1)}x.${sig}`).req), undefined);
  const other = new CookieSessions<{ who: string }>({ name: 'sid', secret: Buffer.alloc(32, 2), ttlMs: 60_000, maxSessions: 3, secure: false });
  assert.equal(other.read(exchange(cookie).req), undefined);
  // A planted cookie of the same name beside the real one does not hide it.
  assert.equal(store.read(exchange(`sid=junk.junk; ${cookie}`).req)?.id, created.id);
});

test('sessions expire absolutely and are bounded, oldest out first', () => {
  const { store, advance } = sessions();
  const first = exchange();
  store.create(first.res, { who: 'a' });
  advance(59_999);
  assert.ok(store.read(exchange(cookieOf(first.res)).req));
  advance(1);
  assert.equal(store.read(exchange(cookieOf(first.res)).req), undefined, 'expired at ttl');

  const made = ['b', 'c', 'd', 'e'].map((who) => {
    const { res } = exchange();
    store.create(res, { who });
    return cookieOf(res);
  });
  assert.equal(store.size, 3);
  assert.equal(store.read(exchange(made[0]).req), undefined, 'the oldest was evicted');
  assert.deepEqual(made.slice(1).map((c) => store.read(exchange(c).req)?.data.who), ['c', 'd', 'e']);
});

test('take reads once; destroy ends the session and clears the cookie', () => {
  const { store } = sessions();
  const { res } = exchange();
  store.create(res, { who: 'alice' });
  const cookie = cookieOf(res);
  const taking = exchange(cookie);
  assert.equal(store.take(taking.req, taking.res)?.data.who, 'alice');
  assert.match(setCookies(taking.res)[0] ?? '', /^sid=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/);
  const again = exchange(cookie);
  assert.equal(store.take(again.req, again.res), undefined);
  assert.equal(store.size, 0);
});

test('cookie values are found by exact name', () => {
  assert.deepEqual(cookieValues('a=1; sid=x.y; sidx=2;sid=z', 'sid'), ['x.y', 'z']);
  assert.deepEqual(cookieValues(undefined, 'sid'), []);
  assert.deepEqual(cookieValues('novalue; =v', 'sid'), []);
});

test('a short secret is refused at construction', () => {
  assert.throws(() => new CookieSessions({ name: 'sid', secret: Buffer.alloc(16), ttlMs: 1, maxSessions: 1, secure: false }), /32 bytes/);
});
