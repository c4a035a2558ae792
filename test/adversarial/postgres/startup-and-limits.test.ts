// Startup and wire side of issue 12: encodings (class 1), the pod-identity fallback (class 10),
// pre-authentication exhaustion and statement size (class 11), and startup settings.
//
// Design rules these cases check:
// - sidegate inspects exactly the bytes the server parses, in the encoding it parses them in: the
//   upstream is pinned to UTF8, a client encoding other than UTF8/SQL_ASCII is refused at
//   startup (every way of asking), invalid UTF-8 anywhere sidegate decodes is an error (22021);
// - only an empty password falls back to the pod's identity;
// - every wait and size before authentication is bounded, and large statements neither stall
//   other sessions nor run uninspected;
// - every startup setting is forwarded or refused by name, never dropped.
import assert from 'node:assert/strict';
import net from 'node:net';
import { corpus, fe, type BackendMessage, type CaseContext, type RawClient } from './corpus.js';

const AUTH_TIMEOUT_MS = 2000;
const MAX_UNAUTHENTICATED = 16;
const POD = { sub: 'system:serviceaccount:ci:runner', project_path: 'acme/pod' };

const c = corpus('startup', {
  harness: {
    env: { SIDEGATE_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS), SIDEGATE_MAX_UNAUTHENTICATED: String(MAX_UNAUTHENTICATED) },
    podToken: POD,
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The smuggle: in the named encoding the two bytes are one character, so the server sees
 * the literal close and a second statement read secrets; a UTF-8 reader sees one statement.
 */
function smuggle(pair: [number, number]): Buffer {
  return Buffer.concat([Buffer.from("SELECT id FROM orders WHERE status <> E'"), Buffer.from(pair), Buffer.from("'; SELECT * FROM secrets; --'")]);
}

const SMUGGLE_BYTES: Record<string, [number, number]> = {
  SJIS: [0x95, 0x5c],
  SHIFT_JIS_2004: [0x95, 0x5c],
  BIG5: [0xa5, 0x5c],
  GBK: [0x81, 0x5c],
  GB18030: [0x81, 0x5c],
  JOHAB: [0x88, 0x5c],
  UHC: [0x81, 0x41],
};

function describe(msgs: BackendMessage[]): string {
  return msgs.map((m) => (m.fields ? `${m.type}${JSON.stringify(m.fields)}` : m.type)).join(' ') || '(nothing)';
}

/**
 * Sends a StartupMessage and expects sidegate to refuse it (FATAL `code`, message matching
 * `re`) before asking for a password. If it asks instead, the case goes on as an attacker would
 * (logs in, sends `then`) so the failure shows what got through.
 */
async function expectStartupRefused(t: CaseContext, params: Record<string, string | Buffer>, code: string, re: RegExp, then?: Buffer): Promise<void> {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database, ...params }));
  const first = await conn.until((m) => m.type === 'R' || m.type === 'E', 10_000);
  const last = first[first.length - 1]!;
  if (last.type === 'R') {
    conn.send(fe.password(await t.token()));
    const ready = await conn.untilReady();
    let got = ready;
    if (then) {
      conn.send(fe.query(then));
      got = await conn.untilReady().catch(() => []);
    }
    assert.fail(`startup with ${JSON.stringify(Object.keys(params))} was accepted; then got ${describe(got)}`);
  }
  assert.equal(last.fields!['S'], 'FATAL');
  assert.equal(last.fields!['C'], code, describe(first));
  assert.match(last.fields!['M'] ?? '', /^sidegate: /);
  assert.match(last.fields!['M'] ?? '', re);
  await conn.closed(5000);
}

/** Messages until the connection closes, which must happen within `ms`. */
async function closedWithin(conn: RawClient, ms: number): Promise<BackendMessage[]> {
  return conn.closed(ms);
}

// ───────────────────────────── class 1: encodings ─────────────────────────────

for (const [encoding, pair] of Object.entries(SMUGGLE_BYTES)) {
  c.case(`client_encoding=${encoding} as a startup parameter is refused before login (the ${encoding} smuggle cannot start)`, async (t) => {
    const ascii = encoding === 'UHC' ? /UHC|UTF8/ : new RegExp(`${encoding} multibyte characters can contain ASCII`);
    await expectStartupRefused(t, { client_encoding: encoding }, '22023', ascii, smuggle(pair));
  });
}

c.case('client_encoding aliases (sjis, Shift_JIS, WIN932, cp936) are refused like their encodings', async (t) => {
  for (const alias of ['sjis', 'Shift_JIS', 'WIN932', 'cp936']) {
    await expectStartupRefused(t, { client_encoding: alias }, '22023', /can contain ASCII/, smuggle([0x95, 0x5c]));
  }
});

c.case('options -c client_encoding=SJIS is refused at startup', async (t) => {
  await expectStartupRefused(t, { options: '-c client_encoding=SJIS' }, '22023', /SJIS/, smuggle([0x95, 0x5c]));
});

c.case('options --client-encoding=BIG5 is refused at startup', async (t) => {
  await expectStartupRefused(t, { options: '--client-encoding=BIG5' }, '22023', /BIG5/, smuggle([0xa5, 0x5c]));
});

c.case('a non-ASCII-unsafe encoding (LATIN1) is refused too: sidegate reads UTF-8 only', async (t) => {
  await expectStartupRefused(t, { client_encoding: 'LATIN1' }, '22023', /set client_encoding=UTF8/);
});

for (const encoding of ['SJIS', 'GBK']) {
  c.case(`psql with PGCLIENTENCODING=${encoding} cannot connect and is told to use UTF8`, async (t) => {
    const r = await t.psql("SELECT 'x';\n", { env: { PGCLIENTENCODING: encoding } });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, new RegExp(`${encoding}.*UTF8`));
  });
}

c.case('node-postgres with options -c client_encoding=SJIS is refused', async (t) => {
  await assert.rejects(t.pg({ options: '-c client_encoding=SJIS' }), (e: { code?: string; message: string }) => {
    t.saw(e.message);
    return e.code === '22023' && /SJIS/.test(e.message);
  });
});

c.case('psql under LANG=C and C.UTF-8 still works, on a UTF8 upstream (interactive psql sends SQL_ASCII / UTF8 there: accepted)', async (t) => {
  for (const lang of ['C', 'C.UTF-8']) {
    const r = await t.psql('SHOW client_encoding;\n', { env: { LANG: lang, LC_ALL: lang }, args: ['-At'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'UTF8', `LANG=${lang}`);
  }
});

c.case('client_encoding UTF-8 / unicode / SQL_ASCII are accepted and the server session is UTF8', async (t) => {
  for (const enc of ['UTF-8', 'unicode', 'SQL_ASCII']) {
    const r = await t.raw({ params: { client_encoding: enc } });
    r.send(fe.query('SHOW client_encoding'));
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    assert.equal(t.rows(msgs)[0]![0]!.toString(), 'UTF8', enc);
  }
});

c.case('set_config(client_encoding) inside a SELECT does not leave a session whose bytes sidegate misreads', async (t) => {
  const r = await t.raw();
  r.send(fe.query("SELECT set_config('client_encoding', 'SJIS', false)"));
  const msgs = await r.until((m) => m.type === 'Z' || (m.type === 'E' && /^sidegate/.test(m.fields?.['M'] ?? '')), 10_000);
  t.expectRefused(msgs);
  await sleep(100);
  if (!r.socket.destroyed) {
    r.send(fe.query(smuggle([0x95, 0x5c])));
    const after = await r.until((m) => m.type === 'Z' || m.type === 'E', 5000).catch(() => [] as BackendMessage[]);
    assert.equal(t.rows(after).length, 0, describe(after));
  }
});

const INVALID_UTF8: Record<string, number[]> = {
  'a lone continuation byte': [0x80],
  'an overlong quote (C0 A7)': [0xc0, 0xa7],
  'a UTF-16 surrogate (ED A0 80)': [0xed, 0xa0, 0x80],
  'a truncated sequence (E2 82) before the closing quote': [0xe2, 0x82],
  'the SJIS pair 95 5C': [0x95, 0x5c],
};

for (const [what, bytes] of Object.entries(INVALID_UTF8)) {
  c.case(`Query with ${what} is refused by sidegate (22021), not read with a replacement character`, async (t) => {
    const r = await t.raw();
    r.send(fe.query(Buffer.concat([Buffer.from("SELECT id FROM orders WHERE status <> E'"), Buffer.from(bytes), Buffer.from("'; SELECT * FROM secrets; --'")])));
    const msgs = await closedWithin(r, 5000);
    t.expectRefused(msgs, '22021');
  });
}

c.case('Parse with invalid UTF-8 in its SQL is refused (22021)', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', Buffer.concat([Buffer.from("SELECT id FROM orders WHERE status <> E'"), Buffer.of(0x95, 0x5c), Buffer.from("'")])), fe.sync());
  t.expectRefused(await closedWithin(r, 5000), '22021');
});

c.case('Parse with an invalid UTF-8 statement name is refused (22021): names are read as the server stores them', async (t) => {
  const r = await t.raw();
  r.send(fe.message('P', Buffer.of(0x73, 0xff, 0), Buffer.from('SELECT 1\0'), Buffer.of(0, 0)), fe.sync());
  t.expectRefused(await closedWithin(r, 5000), '22021');
});

c.case('a startup parameter with invalid UTF-8 is refused (22021)', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database, application_name: Buffer.of(0x61, 0x95, 0x5c) }));
  const msgs = await closedWithin(conn, 5000);
  assert.ok(!msgs.some((m) => m.type === 'R'), describe(msgs));
  t.expectRefused(msgs, '22021');
});

// ───────────────────────────── class 10: pod identity ─────────────────────────────

async function loginWith(t: CaseContext, password: string): Promise<BackendMessage[]> {
  return (await login(t, password)).msgs;
}

async function login(t: CaseContext, password: string): Promise<{ conn: RawClient; msgs: BackendMessage[] }> {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database }));
  await conn.until((m) => m.type === 'R');
  conn.send(fe.password(password));
  return { conn, msgs: await conn.until((m) => m.type === 'Z' || m.type === 'E', 10_000) };
}

/** Whether any audit span of this case names the pod's identity. */
async function podSeen(t: CaseContext): Promise<boolean> {
  return JSON.stringify(await t.spans()).includes(POD.sub);
}

for (const [what, password] of [
  ['"Bearer <valid token>"', 'bearer'],
  ['a plain password', 'hunter2'],
  ['white space only', '   '],
  ['a JWT-shaped string with a bad signature', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'],
] as const) {
  c.case(`in sidecar mode ${what} as the password is rejected, never replaced by the pod identity`, async (t) => {
    const presented = password === 'bearer' ? `Bearer ${await t.token()}` : password;
    const msgs = await loginWith(t, presented);
    const e = msgs.find((m) => m.type === 'E');
    assert.ok(e, `logged in with ${what}: ${describe(msgs)}`);
    assert.match(e.fields!['C'] ?? '', /^28(000|P01)$/);
    assert.ok(!(await podSeen(t)), 'a session ran as the pod');
  });
}

c.case('an expired token is rejected (28000), not replaced by the pod identity', async (t) => {
  const expired = await t.h.issuer.sign({ sub: 'x', project_path: 'acme/api' }, { audience: 'sidegate', expiresIn: -120 });
  const msgs = await loginWith(t, expired);
  assert.equal(msgs.find((m) => m.type === 'E')?.fields?.['C'], '28000', describe(msgs));
});

c.case('an empty password falls back to the pod identity, and a rejected login is audited without its password', async (t) => {
  const { conn, msgs } = await login(t, '');
  t.expectOk(msgs);
  conn.send(fe.query('SELECT 1'));
  t.expectOk(await conn.untilReady());
  assert.ok(await podSeen(t), 'the empty password did not run as the pod');
  const rejected = await loginWith(t, 'hunter2');
  assert.ok(rejected.some((m) => m.type === 'E'));
  const spans = await t.spans();
  assert.ok(
    spans.some((s) => (s.attributes as Record<string, unknown>)['sidegate.rule'] === 'identity'),
    'no audit record of the rejected login',
  );
  assert.ok(!JSON.stringify(spans).includes('hunter2'), 'the presented password reached the audit trail');
});

// ───────────────────────────── class 11: pre-authentication bounds ─────────────────────────────

c.case('a connection that sends nothing is closed at the authentication deadline', async (t) => {
  const conn = await t.connect();
  const msgs = await closedWithin(conn, AUTH_TIMEOUT_MS + 4000);
  t.expectRefused(msgs, '08006');
  assert.match(msgs.find((m) => m.type === 'E')!.fields!['M'] ?? '', /timed out/);
});

c.case('a connection that starts up but never sends its password is closed at the deadline', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database }));
  await conn.until((m) => m.type === 'R');
  t.expectRefused(await closedWithin(conn, AUTH_TIMEOUT_MS + 4000), '08006');
});

c.case('a startup packet sent one byte at a time is still bounded by the deadline', async (t) => {
  const conn = await t.connect();
  const packet = fe.startup({ user: 'ci', database: t.database, application_name: 'x'.repeat(200) });
  let stop = false;
  void (async () => {
    for (const b of packet) {
      if (stop || conn.socket.destroyed) return;
      conn.send(Buffer.of(b));
      await sleep(100);
    }
  })();
  try {
    t.expectRefused(await closedWithin(conn, AUTH_TIMEOUT_MS + 4000), '08006');
  } finally {
    stop = true;
  }
});

c.case('a password message announcing 15 MiB is refused from its header, before any of it is buffered', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database }));
  await conn.until((m) => m.type === 'R');
  const header = Buffer.alloc(5);
  header[0] = 0x70;
  header.writeInt32BE(15 * 1024 * 1024, 1);
  conn.send(header, Buffer.from('eyJ'));
  const msgs = await closedWithin(conn, 1500);
  t.expectRefused(msgs, '28000');
  assert.match(msgs.find((m) => m.type === 'E')!.fields!['M'] ?? '', /token size limit/);
});

c.case('a password message just above the token size limit (16 KiB) is refused from its header', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database }));
  await conn.until((m) => m.type === 'R');
  const header = Buffer.alloc(5);
  header[0] = 0x70;
  header.writeInt32BE(16 * 1024 + 64, 1);
  conn.send(header);
  t.expectRefused(await closedWithin(conn, 1500), '28000');
});

c.case('a startup packet announcing 20 000 bytes is refused from its header (08P01)', async (t) => {
  const conn = await t.connect();
  const head = Buffer.alloc(8);
  head.writeInt32BE(20_000, 0);
  head.writeInt32BE(196608, 4);
  conn.send(head);
  t.expectRefused(await closedWithin(conn, 1500), '08P01');
});

c.case(`beyond ${MAX_UNAUTHENTICATED} unauthenticated connections the oldest idle ones are closed (53300) and a real client is still served`, async (t) => {
  const idle: RawClient[] = [];
  for (let i = 0; i < MAX_UNAUTHENTICATED + 24; i++) idle.push(await t.connect());
  await sleep(200);
  const r = await t.raw();
  r.send(fe.query('SELECT count(*) FROM orders'));
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  assert.equal(t.rows(msgs)[0]![0]!.toString(), '20');
  const evicted = await Promise.all(idle.slice(0, 24).map((conn) => closedWithin(conn, 2000).catch(() => [] as BackendMessage[])));
  const codes = evicted.map((msgs) => msgs.find((m) => m.type === 'E')?.fields?.['C']);
  assert.ok(codes.filter((code) => code === '53300').length >= 24, `evicted: ${JSON.stringify(codes)}`);
});

c.case('half-open connections opened in a burst (200) neither starve a real client nor stay open', async (t) => {
  const sockets: net.Socket[] = [];
  let closed = 0;
  try {
    await Promise.all(
      Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
        const s = net.connect(t.h.port, '127.0.0.1', () => resolve());
        s.on('error', () => resolve());
        s.on('close', () => closed++);
        s.resume();
        sockets.push(s);
      })),
    );
    const r = await t.raw();
    r.send(fe.query('SELECT 1'));
    t.expectOk(await r.untilReady());
    await sleep(300);
    const open = sockets.length - closed;
    assert.ok(open <= MAX_UNAUTHENTICATED, `${open} half-open connections still open`);
  } finally {
    for (const s of sockets) s.destroy();
  }
});

c.case('a statement above the 1 MiB limit is refused (54000), never forwarded, and another session is unaffected', async (t) => {
  const other = await t.raw();
  const r = await t.raw();
  r.send(fe.query(`SELECT 1 /* ${'x'.repeat(1024 * 1024 + 1)} */`));
  const msgs = await closedWithin(r, 20_000);
  t.expectRefused(msgs, '54000');
  assert.ok(!msgs.some((m) => m.type === 'D'));
  other.send(fe.query('SELECT 1'));
  t.expectOk(await other.untilReady());
});

/** A statement whose parse takes seconds: many small tokens. */
function slowToParse(prefix: string, bytes: number): string {
  const parts: string[] = [prefix, ' WHERE id NOT IN (0'];
  let size = prefix.length;
  for (let i = 100_000; size < bytes; i++) {
    const s = `,${i}`;
    parts.push(s);
    size += s.length;
  }
  parts.push(')');
  return parts.join('');
}

c.case('a 1 MiB statement is inspected off the event loop: another session is answered meanwhile, and the decision holds', async (t) => {
  const big = await t.raw();
  const other = await t.raw();
  big.send(fe.query(slowToParse('SELECT * FROM secrets', 1000 * 1024)));
  await sleep(150);
  other.send(fe.query('SELECT 1'));
  let otherDone = 0;
  let bigDone = 0;
  await Promise.all([
    other.untilReady(20_000).then((m) => {
      otherDone = performance.now();
      t.expectOk(m);
    }),
    big.untilReady(60_000).then((m) => {
      bigDone = performance.now();
      t.expectDenied(m, 'no-secrets');
    }),
  ]);
  assert.ok(otherDone < bigDone, 'the other session waited for the large statement to be parsed');
});

c.case('a large Parse (200 KiB) goes through the worker with the same decision, in pipeline order', async (t) => {
  const r = await t.raw();
  const allowed = slowToParse('SELECT count(*) FROM orders', 200 * 1024);
  const denied = slowToParse('SELECT value FROM secrets', 200 * 1024);
  r.send(fe.parse('a', allowed), fe.bind('', 'a'), fe.execute(''), fe.sync(), fe.parse('b', denied), fe.sync());
  const first = await r.untilReady(30_000);
  t.expectOk(first);
  assert.equal(t.rows(first)[0]![0]!.toString(), '20');
  t.expectDenied(await r.untilReady(30_000), 'no-secrets');
});

c.case('a large multi-statement Query hides a DELETE after a read: the worker still sees it (held or refused by its rule)', async (t) => {
  const r = await t.raw();
  r.send(fe.query(`SELECT 1; DELETE FROM orders WHERE id = 3 /* ${'p'.repeat(100 * 1024)} */`));
  const msgs = await r.untilReady(30_000);
  t.expectRefused(msgs, '42501');
  assert.match(t.errors(msgs)[0]!['M'] ?? '', /orders-writes-need-approval|approval .* was denied/);
  assert.equal(t.rows(msgs).length, 0);
});

// ───────────────────────────── startup settings and Terminate ─────────────────────────────

for (const [what, params] of [
  ['options -c search_path', { options: '-c search_path=evil,public' }],
  ['options -c role', { options: '-c role=postgres' }],
  ['options --session-authorization', { options: '--session-authorization=postgres' }],
  ['a search_path startup parameter', { search_path: 'evil' }],
  ['a standard_conforming_strings=off startup parameter', { standard_conforming_strings: 'off' }],
  ['options -c default_transaction_read_only=off', { options: '-c default_transaction_read_only=off' }],
  ['an unknown startup parameter', { 'evil.setting': 'x' }],
] as const) {
  c.case(`${what} is refused by name at startup (42501), not dropped silently`, async (t) => {
    const name = 'options' in params ? params.options.replace(/^(-c |--)/, '').split('=')[0]!.replace(/-/g, '_') : Object.keys(params)[0]!;
    await expectStartupRefused(t, params, '42501', new RegExp(`"${name.replace(/[.]/g, '\\.')}"`));
  });
}

c.case('options with a server switch (-P: ignore system indexes) is refused (42601)', async (t) => {
  await expectStartupRefused(t, { options: '-P' }, '42601', /"-P"/);
});

c.case('replication=database is refused (0A000)', async (t) => {
  await expectStartupRefused(t, { replication: 'database' }, '0A000', /replication/);
});

c.case('statement_timeout as a startup parameter reaches the server (it is no longer dropped)', async (t) => {
  const r = await t.raw({ params: { statement_timeout: '100' } });
  r.send(fe.query('SELECT pg_sleep(1)'));
  const msgs = await r.untilReady();
  assert.equal(t.errors(msgs)[0]?.['C'], '57014', describe(msgs));
});

c.case('options -c lock_timeout and --idle-in-transaction-session-timeout reach the server', async (t) => {
  const r = await t.raw({ params: { options: '-c lock_timeout=1234 --idle-in-transaction-session-timeout=4321' } });
  r.send(fe.query('SHOW lock_timeout'));
  const a = await r.untilReady();
  r.send(fe.query('SHOW idle_in_transaction_session_timeout'));
  const b = await r.untilReady();
  assert.equal(t.rows(a)[0]![0]!.toString(), '1234ms');
  assert.equal(t.rows(b)[0]![0]!.toString(), '4321ms');
});

c.case('node-postgres statement_timeout reaches the server', async (t) => {
  const client = await t.pg({ statement_timeout: 150 });
  const r = await client.query('SHOW statement_timeout');
  assert.equal(r.rows[0].statement_timeout, '150ms');
});

c.case('a _pq_ protocol option is answered with NegotiateProtocolVersion listing it, then login proceeds', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database, '_pq_.sidegate_test': 'on' }));
  const msgs = await conn.until((m) => m.type === 'R' || m.type === 'E');
  const v = msgs.find((m) => m.type === 'v');
  assert.ok(v, describe(msgs));
  assert.equal(v.body.readInt32BE(0), 196608);
  assert.equal(v.body.readInt32BE(4), 1);
  assert.equal(v.body.subarray(8, v.body.indexOf(0, 8)).toString(), '_pq_.sidegate_test');
  conn.send(fe.password(await t.token()));
  t.expectOk(await conn.untilReady());
});

c.case('protocol 3.2 is answered with NegotiateProtocolVersion 3.0', async (t) => {
  const conn = await t.connect();
  const packet = fe.startup({ user: 'ci', database: t.database });
  packet.writeInt32BE((3 << 16) | 2, 4);
  conn.send(packet);
  const msgs = await conn.until((m) => m.type === 'R' || m.type === 'E');
  const v = msgs.find((m) => m.type === 'v');
  assert.ok(v, describe(msgs));
  assert.equal(v.body.readInt32BE(0), 196608);
  conn.send(fe.password(await t.token()));
  t.expectOk(await conn.untilReady());
});

c.case('Terminate instead of a startup packet closes silently, like PostgreSQL', async (t) => {
  const conn = await t.connect();
  conn.send(fe.terminate());
  await closedWithin(conn, 3000);
  assert.equal(conn.bytes().length, 0, `got ${conn.bytes().toString('latin1')}`);
});

c.case('Terminate after SSLRequest closes silently (only the N answer)', async (t) => {
  const conn = await t.connect();
  conn.send(fe.sslRequest());
  await sleep(100);
  conn.send(fe.terminate());
  await closedWithin(conn, 3000);
  assert.equal(conn.bytes().toString('latin1'), 'N');
});

c.case('Terminate instead of the password closes silently', async (t) => {
  const conn = await t.connect();
  conn.send(fe.startup({ user: 'ci', database: t.database }));
  await conn.until((m) => m.type === 'R');
  conn.send(fe.terminate());
  const msgs = await closedWithin(conn, 3000);
  assert.ok(!msgs.some((m) => m.type === 'E'), describe(msgs));
});
