// MySQL corpus, class 11: pre-authentication exhaustion. Before a client is identified it can
// hold only a bounded amount of sidegate: a deadline from connect to authenticated, a cap on
// unauthenticated connections per process (the longest waiting is evicted), and a packet size
// bound checked from the 4-byte header before any payload is buffered. Nothing a client sends
// before login reaches the target, and a malformed packet closes that one connection only.
import assert from 'node:assert/strict';
import { corpus, describeReply, sleep } from './corpus.js';
import { framePackets, handshakeResponse41, CLIENT, COM, DEFAULT_CAPABILITIES, type RawMysqlClient } from '../../support/mysql-raw-client.js';

const AUTH_TIMEOUT_MS = 2000;
const MAX_UNAUTHENTICATED = 16;

const c = corpus('pre_auth', {
  harness: { env: { SIDEGATE_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS), SIDEGATE_MAX_UNAUTHENTICATED: String(MAX_UNAUTHENTICATED) } },
});

/** The ERR sidegate sent before closing, if any. */
function lastErr(conn: RawMysqlClient, packets: { payload: Buffer }[]): { code: number; message: string } | undefined {
  const err = packets.find((p) => p.payload[0] === 0xff);
  void conn;
  return err ? { code: err.payload.readUInt16LE(1), message: err.payload.subarray(err.payload[3] === 0x23 ? 9 : 3).toString('utf8') } : undefined;
}

c.case('a client that reads the greeting and says nothing is closed at the deadline, with an ERR', async (t) => {
  const conn = await t.connect();
  const g = await conn.readGreeting();
  assert.ok(!('code' in g), 'greeted');
  const started = Date.now();
  // Generous after the deadline (a starved 2-core CI machine was seen taking 8 s more): the point
  // is that the wait is bounded at all, and not before the deadline (asserted below).
  const rest = await conn.untilClosed(AUTH_TIMEOUT_MS + 10_000);
  const waited = Date.now() - started;
  assert.ok(waited >= AUTH_TIMEOUT_MS - 500, `closed after ${waited} ms, before the deadline`);
  const err = lastErr(conn, rest);
  assert.ok(err, 'an ERR before the close');
  assert.match(err.message, /^sidegate: authentication timed out/);
});

c.case('a half-sent handshake response (header promises more) is closed at the deadline', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const full = framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'ci', authResponse: Buffer.from('x\0') }), 1);
  conn.write(full.subarray(0, 12));
  await conn.untilClosed(AUTH_TIMEOUT_MS + 3000);
});

c.case('a slow-drip handshake (one byte every 300 ms) does not outlive the deadline', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const full = framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'ci', authResponse: Buffer.from(`${await t.token()}\0`) }), 1);
  const started = Date.now();
  for (let i = 0; i < full.length && !conn.closed; i++) {
    conn.write(full.subarray(i, i + 1));
    await sleep(300);
    if (Date.now() - started > AUTH_TIMEOUT_MS + 3000) break;
  }
  assert.ok(conn.closed, 'still open after the deadline');
});

c.case('more silent connections than the cap: the longest waiting are evicted, a real login still works', async (t) => {
  const idle: RawMysqlClient[] = [];
  for (let i = 0; i < MAX_UNAUTHENTICATED + 8; i++) {
    const conn = await t.connect();
    await conn.readGreeting().catch(() => undefined);
    idle.push(conn);
  }
  await sleep(200);
  const closed = idle.filter((x) => x.closed).length;
  assert.ok(closed >= 8, `only ${closed} of ${idle.length} silent connections were closed`);
  const evicted = idle.find((x) => x.closed)!;
  assert.match(evicted.bytes().toString('latin1'), /too many connections are waiting to authenticate/);
  // A client that logs in promptly gets through while the flood is on.
  const conn = await t.mysql();
  const [rows] = await conn.query('SELECT 1 AS one');
  assert.equal((rows as Array<{ one: number }>)[0]!.one, 1);
});

c.case('a packet header announcing 16 MiB before login is refused at the header, without waiting for it', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const head = Buffer.from([0xff, 0xff, 0xff, 1]);
  conn.write(head);
  const rest = await conn.untilClosed(1500);
  const err = lastErr(conn, rest);
  assert.ok(err, 'an ERR before the close');
  assert.match(err.message, /^sidegate/);
});

c.case('a chain of 16 MiB continuation headers before login is refused at the first', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  conn.write(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 1]), chunk]));
  await conn.untilClosed(1500);
});

c.case('an oversized handshake response (a 200 KiB "token") is refused and closed', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const big = Buffer.alloc(200 * 1024, 0x61);
  conn.write(framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'ci', authResponse: Buffer.concat([big, Buffer.from([0])]) }), 1));
  const rest = await conn.untilClosed(3000);
  const err = lastErr(conn, rest);
  assert.ok(err, 'an ERR before the close');
});

c.case('an oversized user name and attributes in the handshake are refused', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  conn.write(framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'u'.repeat(128 * 1024), authResponse: Buffer.from('x\0') }), 1));
  await conn.untilClosed(3000);
});

c.case('a COM_QUERY sent in place of the handshake response never reaches the target', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  conn.write(framePackets(Buffer.concat([Buffer.from([COM.QUERY]), Buffer.from('DELETE FROM customers WHERE id = 3')]), 1));
  const rest = await conn.untilClosed(3000);
  assert.ok(lastErr(conn, rest), 'an ERR before the close');
});

c.case('commands pipelined after a handshake with a bad token never run', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  conn.write(
    Buffer.concat([
      framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'ci', authResponse: Buffer.from('not-a-token\0'), database: t.database }), 1),
      framePackets(Buffer.concat([Buffer.from([COM.QUERY]), Buffer.from('DELETE FROM customers WHERE id = 3')]), 0),
    ]),
  );
  const rest = await conn.untilClosed(5000);
  const err = lastErr(conn, rest);
  assert.ok(err, 'an ERR');
  assert.equal(err.code, 1045);
});

c.case('commands pipelined behind a good login run only after it, and are decided (DELETE denied)', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  conn.write(
    Buffer.concat([
      framePackets(handshakeResponse41({ capabilities: DEFAULT_CAPABILITIES, collation: 45, user: 'ci', authResponse: Buffer.from(`${await t.token()}\0`), database: t.database }), 1),
      framePackets(Buffer.concat([Buffer.from([COM.QUERY]), Buffer.from('DELETE FROM customers WHERE id = 3')]), 0),
    ]),
  );
  const ok = await conn.next();
  assert.equal(ok.payload[0], 0x00, 'logged in');
  t.expectDenied(await conn.readReply(false));
});

c.case('an SSLRequest when TLS is not offered closes that connection only', async (t) => {
  const conn = await t.connect();
  await conn.readGreeting();
  const ssl = Buffer.alloc(32);
  ssl.writeUInt32LE((DEFAULT_CAPABILITIES | CLIENT.SSL) >>> 0, 0);
  ssl.writeUInt32LE(16 * 1024 * 1024, 4);
  ssl[8] = 45;
  conn.write(framePackets(ssl, 1));
  await conn.untilClosed(3000);
  const other = await t.raw();
  assert.equal((await other.query('SELECT 1')).error, undefined);
});

c.case('the compression capability is refused at login', async (t) => {
  const conn = await t.connect();
  const got = await conn.login({ password: await t.token(), capabilities: DEFAULT_CAPABILITIES | CLIENT.COMPRESS, database: t.database });
  assert.ok('code' in got, 'logged in with compression');
  assert.match(got.message, /^sidegate/);
});

c.case('a handshake without protocol 4.1 is refused', async (t) => {
  const conn = await t.connect();
  const got = await conn.login({ password: await t.token(), capabilities: DEFAULT_CAPABILITIES & ~CLIENT.PROTOCOL_41, database: t.database });
  assert.ok('code' in got, 'logged in without protocol 4.1');
});

c.case('a truncated handshake response (garbage after the header) closes with an ERR, the process lives on', async (t) => {
  for (const junk of [Buffer.from([0x01]), Buffer.alloc(31, 0xff), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
    const conn = await t.connect();
    await conn.readGreeting();
    conn.write(framePackets(junk, 1));
    await conn.untilClosed(3000);
  }
  const r = await t.raw();
  const got = await r.query('SELECT 1');
  assert.equal(got.error, undefined, describeReply(got));
});

c.case('COM_CHANGE_USER and COM_BINLOG_DUMP after login are refused; the connection stays usable', async (t) => {
  const r = await t.raw();
  const change = await r.simple(COM.CHANGE_USER, Buffer.from('root\0\0\0', 'latin1'));
  assert.ok(change.error, describeReply(change));
  assert.match(change.error.message, /^sidegate/);
  const dump = await r.simple(COM.BINLOG_DUMP, Buffer.alloc(10));
  assert.ok(dump.error, describeReply(dump));
  assert.equal((await r.query('SELECT 1')).error, undefined);
});

c.case('a 2 MiB statement after login is refused above the inspection limit, not buffered blind', async (t) => {
  const r = await t.raw();
  const got = await r.query(`SELECT '${'a'.repeat(2 * 1024 * 1024)}'; DELETE FROM customers WHERE id = 3`, 30_000);
  assert.ok(got.error, describeReply(got));
  assert.match(got.error.message, /^sidegate/);
});
