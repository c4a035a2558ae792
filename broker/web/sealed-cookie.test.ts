import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieOf, exchange, setCookies } from './cookie-exchange.test.js';
import { MAX_COOKIE_CHARS, SealedCookie, type SealedCookieOptions } from './sealed-cookie.js';

interface Note {
  who: string;
}

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);

function sealed(over: Partial<SealedCookieOptions<Note>> = {}) {
  let clock = 1_700_000_000_000;
  const cookie = new SealedCookie<Note>({
    name: 'sid',
    purpose: 'test notes',
    secrets: [OLD],
    ttlMs: 60_000,
    secure: false,
    parse: (v) => (typeof v === 'object' && v !== null && typeof (v as Note).who === 'string' ? { who: (v as Note).who } : undefined),
    now: () => clock,
    ...over,
  });
  return { cookie, advance: (ms: number) => (clock += ms), at: (ms: number) => (clock = ms) };
}

/** The value sealed by one cookie codec, and what another makes of it. */
function across(sealer: SealedCookie<Note>, opener: SealedCookie<Note>, who = 'alice') {
  const text = sealer.seal({ who });
  assert.ok(text);
  return opener.open(text);
}

test('a value goes out sealed and comes back: its content is not in the cookie', () => {
  const { cookie } = sealed();
  const { res } = exchange();
  assert.equal(cookie.set(res, { who: 'alice' }), true);
  const [header] = setCookies(res);
  assert.match(header ?? '', /^sid=[A-Za-z0-9_-]{60,}; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/);
  assert.equal(header?.includes('alice'), false);
  assert.equal(Buffer.from(cookieOf(res).slice(4), 'base64url').includes('alice'), false, 'encrypted, not merely encoded');
  const opened = cookie.read(exchange(cookieOf(res)).req);
  assert.deepEqual(opened, { value: { who: 'alice' }, issuedAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000, secretIndex: 0 });
  // A fresh IV each time: the same value never seals to the same text.
  assert.notEqual(cookie.seal({ who: 'alice' }), cookie.seal({ who: 'alice' }));
});

test('over https the cookie is Secure with the __Host- prefix', () => {
  const { cookie } = sealed({ secure: true });
  const { res } = exchange();
  cookie.set(res, { who: 'alice' });
  assert.match(setCookies(res)[0] ?? '', /^__Host-sid=[^;]+; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax; Secure$/);
  assert.ok(cookie.read(exchange(cookieOf(res)).req));
  assert.equal(cookie.read(exchange(cookieOf(res).replace('__Host-', '')).req), undefined, 'the unprefixed name is not the cookie');
  cookie.clear(res);
  assert.equal(setCookies(res).at(-1), '__Host-sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure');
});

test('any altered byte, truncation or malformed text is refused', () => {
  const { cookie } = sealed();
  const text = cookie.seal({ who: 'alice' }) as string;
  const bytes = Buffer.from(text, 'base64url');
  // Version, IV, ciphertext and tag: each byte is covered.
  for (let i = 0; i < bytes.length; i++) {
    const altered = Buffer.from(bytes);
    altered[i] = (altered[i] as number) ^ 0x01;
    assert.equal(cookie.open(altered.toString('base64url')), undefined, `byte ${i}`);
  }
  assert.equal(cookie.open(bytes.subarray(0, -1).toString('base64url')), undefined);
  assert.equal(cookie.open(Buffer.concat([bytes, Buffer.of(0)]).toString('base64url')), undefined);
  for (const junk of ['', 'x', `${text}=`, `${text}.`, text.replace(/.$/, '+'), 'A'.repeat(MAX_COOKIE_CHARS + 1)]) assert.equal(cookie.open(junk), undefined, junk.slice(0, 20));
  assert.ok(cookie.open(text), 'the original still opens');
});

test('a sealed value expires absolutely; a shorter lifetime here caps a longer one sealed elsewhere', () => {
  const { cookie, advance } = sealed();
  const text = cookie.seal({ who: 'alice' }) as string;
  advance(59_999);
  assert.ok(cookie.open(text));
  advance(1);
  assert.equal(cookie.open(text), undefined, 'expired at its ttl');

  const long = sealed({ ttlMs: 3600_000 });
  const short = sealed({ ttlMs: 60_000 });
  const text2 = long.cookie.seal({ who: 'bob' }) as string;
  short.advance(60_000);
  assert.equal(short.cookie.open(text2), undefined);
  assert.ok(long.cookie.open(text2));
});

test("another purpose's key, or another secret, opens nothing", () => {
  const { cookie } = sealed();
  assert.equal(across(cookie, sealed({ purpose: 'test other notes' }).cookie), undefined, 'same secret, other purpose');
  assert.equal(across(cookie, sealed({ secrets: [NEW] }).cookie), undefined, 'same purpose, other secret');
  assert.equal(across(cookie, sealed({ name: 'other' }).cookie)?.value.who, 'alice', 'the name is not the key: the purpose is');
});

test('rotation: the first secret seals, every listed secret opens', () => {
  const before = sealed({ secrets: [OLD] }).cookie;
  const during = sealed({ secrets: [NEW, OLD] }).cookie;
  const after = sealed({ secrets: [NEW] }).cookie;
  assert.equal(across(before, during)?.secretIndex, 1, 'a cookie from before the rotation still opens');
  assert.equal(across(during, during)?.secretIndex, 0);
  assert.equal(across(during, after)?.secretIndex, 0, 'new cookies are sealed with the new secret');
  assert.equal(across(during, before), undefined, 'a replica without the new secret cannot open them');
  assert.equal(across(before, after), undefined, 'once dropped, the old secret opens nothing');
});

test('a value of the wrong shape is refused after opening', () => {
  const { cookie } = sealed();
  const loose = sealed({ parse: (v) => v as Note }).cookie;
  const text = loose.seal({ whom: 'x' } as unknown as Note) as string;
  assert.ok(loose.open(text));
  assert.equal(cookie.open(text), undefined);
});

test('a value too large for a browser cookie is not set', () => {
  const { cookie } = sealed();
  const { res } = exchange();
  assert.equal(cookie.set(res, { who: 'x'.repeat(MAX_COOKIE_CHARS) }), false);
  assert.equal(res.getHeader('set-cookie'), undefined);
  const fits = cookie.seal({ who: 'x'.repeat(2000) });
  assert.ok(fits && fits.length < MAX_COOKIE_CHARS);
});

test('a planted cookie of the same name beside the real one does not hide it', () => {
  const { cookie } = sealed();
  const text = cookie.seal({ who: 'alice' }) as string;
  assert.equal(cookie.read(exchange(`sid=junk; other=1; sid=${text}`).req)?.value.who, 'alice');
  assert.equal(cookie.read(exchange('sid=junk').req), undefined);
  assert.equal(cookie.read(exchange().req), undefined);
});

test('secrets are checked at construction', () => {
  assert.throws(() => sealed({ secrets: [] }), /at least one session secret/);
  assert.throws(() => sealed({ secrets: [NEW, Buffer.alloc(31)] }), /at least 32 bytes/);
  assert.throws(() => sealed({ name: 'a b' }), /cookie name/);
});
