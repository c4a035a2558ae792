// Against the real MariaDB of test/scripts/mariadb.sh (info in /var/tmp/sidegate-test/mariadb.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_MULTI_RESULTS,
  CLIENT_PS_MULTI_RESULTS,
  CLIENT_SSL,
  CLIENT_TRANSACTIONS,
  MYSQL_TYPE_DATETIME,
  MYSQL_TYPE_LONGLONG,
  SERVER_STATUS_AUTOCOMMIT,
  hasFlag,
} from './capabilities.js';
import { encodeBinaryValue, binaryValueText } from './binary-values.js';
import { serializeComQuery, serializeComStmtExecute } from './command-packets.js';
import { PacketFramer, framePacket, type Packet } from './packet-framer.js';
import { classifyResponse, classifyRowPacket, parseErr, parseRowsEnd } from './response-packets.js';
import { isUnsignedColumn, parseBinaryRow, parseColumnCount, parseColumnDefinition41, parseStmtPrepareOk, parseTextRow, type ColumnDefinition41 } from './result-packets.js';
import { UpstreamError, connectUpstream, type UpstreamConnectOptions, type UpstreamConnection } from './upstream-connection.js';

interface MariaDbInfo {
  host: string;
  port: number;
  database: string;
  caFile: string;
  users: Record<'native' | 'ed25519', { user: string; password: string }>;
}
const info = JSON.parse(readFileSync('/var/tmp/sidegate-test/mariadb.json', 'utf8')) as MariaDbInfo;

const CAPS = CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_DEPRECATE_EOF;

function options(kind: 'native' | 'ed25519', extra: Partial<UpstreamConnectOptions> = {}): UpstreamConnectOptions {
  return {
    host: info.host,
    port: info.port,
    tls: { mode: 'verify-full', caFile: info.caFile },
    user: info.users[kind].user,
    password: info.users[kind].password,
    database: info.database,
    clientCapabilities: CAPS,
    timeoutMs: 5000,
    ...extra,
  };
}

/** Reads packets of one command's reply from a logged-in connection. */
class Replies {
  private readonly framer = new PacketFramer({ maxPacketBytes: 1 << 24 });
  private queue: Packet[] = [];
  private waiting: ((p: Packet) => void) | undefined;
  constructor(private readonly conn: UpstreamConnection) {
    conn.socket.on('data', (d: Buffer) => {
      this.queue.push(...this.framer.push(d));
      if (this.waiting && this.queue.length) {
        const w = this.waiting;
        this.waiting = undefined;
        w(this.queue.shift()!);
      }
    });
    if (conn.leftover.length) this.queue.push(...this.framer.push(conn.leftover));
  }
  next(): Promise<Packet> {
    const p = this.queue.shift();
    return p ? Promise.resolve(p) : new Promise((r) => (this.waiting = r));
  }
  send(payload: Buffer): void {
    this.conn.socket.write(framePacket(0, payload).bytes);
  }
  /** A result set's column definitions (no EOF after them under DEPRECATE_EOF). */
  async columns(count: number): Promise<ColumnDefinition41[]> {
    const cols = [];
    for (let i = 0; i < count; i++) cols.push(parseColumnDefinition41((await this.next()).payload));
    return cols;
  }
  async query(sql: string): Promise<{ columns: ColumnDefinition41[]; rows: Array<Array<string | null>> }> {
    this.send(serializeComQuery(sql));
    const first = await this.next();
    const kind = classifyResponse(first.payload);
    if (kind === 'err') throw new Error(parseErr(first.payload).message.toString());
    assert.equal(kind, 'result-set');
    const columns = await this.columns(parseColumnCount(first.payload).count);
    const rows = [];
    for (;;) {
      const p = await this.next();
      const k = classifyRowPacket(p.payload, { capabilities: this.conn.capabilities });
      if (k === 'end') break;
      assert.equal(k, 'row');
      rows.push(parseTextRow(p.payload, columns.length).map((v) => (v === null ? null : v.toString())));
    }
    return { columns, rows };
  }
}

test('native password over TLS verify-full: logged in, encrypted, and the session answers', async () => {
  const conn = await connectUpstream(options('native'));
  try {
    assert.equal(conn.encrypted, true);
    assert.ok(conn.isMariaDb);
    assert.match(conn.serverVersion, /MariaDB/);
    assert.equal(conn.authPlugin, 'mysql_native_password');
    assert.ok(hasFlag(conn.capabilities, CLIENT_SSL));
    assert.ok(hasFlag(conn.capabilities, CLIENT_DEPRECATE_EOF));
    assert.ok(hasFlag(conn.statusFlags, SERVER_STATUS_AUTOCOMMIT));
    const r = new Replies(conn);
    const { columns, rows } = await r.query("SELECT CURRENT_USER() AS who, DATABASE() AS db, @@character_set_client AS cs, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version') AS tls");
    assert.deepEqual(columns.map((c) => c.name), ['who', 'db', 'cs', 'tls']);
    assert.equal(rows.length, 1);
    assert.match(rows[0]![0]!, /^sidegate_native@/);
    assert.equal(rows[0]![1], info.database);
    assert.equal(rows[0]![2], 'utf8mb4');
    assert.match(rows[0]![3]!, /^TLSv1\.[23]$/);
  } finally {
    conn.socket.destroy();
  }
});

test('client_ed25519 over TLS verify-full: the server switches plugins and accepts the signature', async () => {
  const conn = await connectUpstream(options('ed25519'));
  try {
    assert.equal(conn.authPlugin, 'client_ed25519');
    assert.equal(conn.encrypted, true);
    const { rows } = await new Replies(conn).query('SELECT CURRENT_USER()');
    assert.match(rows[0]![0]!, /^sidegate_ed25519@/);
  } finally {
    conn.socket.destroy();
  }
});

test('a wrong password: a typed error with the server message and 1045, never the password', async () => {
  for (const kind of ['native', 'ed25519'] as const) {
    const password = `${info.users[kind].password}-wrong`;
    await assert.rejects(connectUpstream(options(kind, { password })), (e: unknown) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.code, 'auth-failed');
      assert.equal(e.errorNumber, 1045);
      assert.equal(e.sqlState, '28000');
      assert.match(e.message, /Access denied for user 'sidegate_/);
      assert.ok(!e.message.includes(password));
      return true;
    });
  }
});

test('TLS verify-full refuses a server whose certificate does not name the target; verify-ca accepts it', async () => {
  await assert.rejects(connectUpstream(options('native', { tls: { mode: 'verify-full', caFile: info.caFile, serverName: 'db.wrong.example' } })), (e: unknown) => {
    assert.ok(e instanceof UpstreamError);
    assert.equal(e.code, 'tls-failed');
    assert.match(e.message, /db\.wrong\.example/);
    return true;
  });
  // an unknown CA: verification fails before any credential is sent
  await assert.rejects(connectUpstream(options('native', { tls: { mode: 'verify-full' } })), (e: unknown) => e instanceof UpstreamError && e.code === 'tls-failed');
  const conn = await connectUpstream(options('native', { tls: { mode: 'verify-ca', caFile: info.caFile, serverName: 'db.wrong.example' } }));
  conn.socket.destroy();
  const req = await connectUpstream(options('native', { tls: { mode: 'require' } }));
  assert.equal(req.encrypted, true);
  req.socket.destroy();
});

test('tls disable: plain TCP, native password still works', async () => {
  const conn = await connectUpstream(options('native', { tls: { mode: 'disable' } }));
  try {
    assert.equal(conn.encrypted, false);
    assert.ok(!hasFlag(conn.capabilities, CLIENT_SSL));
    const { rows } = await new Replies(conn).query("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'");
    assert.equal(rows[0]![0], '');
  } finally {
    conn.socket.destroy();
  }
});

test('prepared statement on the real server: PREPARE OK, parameters sent in binary, a binary row back', async () => {
  const conn = await connectUpstream(options('native'));
  try {
    const r = new Replies(conn);
    r.send(Buffer.concat([Buffer.from([0x16]), Buffer.from('SELECT ? + 1 AS n, CAST(? AS DATETIME(6)) AS t, NULL AS z, 18446744073709551615 AS big')]));
    const prep = parseStmtPrepareOk((await r.next()).payload);
    assert.equal(prep.paramCount, 2);
    assert.equal(prep.columnCount, 4);
    await r.columns(prep.paramCount);
    await r.columns(prep.columnCount);
    r.send(serializeComStmtExecute({
      statementId: prep.statementId, flags: 0, iterationCount: 1, newParamsBound: true, types: [],
      parameters: [
        { type: MYSQL_TYPE_LONGLONG, unsigned: false, value: encodeBinaryValue(MYSQL_TYPE_LONGLONG, false, 41n) },
        { type: MYSQL_TYPE_DATETIME, unsigned: false, value: encodeBinaryValue(MYSQL_TYPE_DATETIME, false, '2024-02-29 23:59:58.000123') },
      ],
    }));
    const count = parseColumnCount((await r.next()).payload).count;
    const columns = await r.columns(count);
    const row = parseBinaryRow((await r.next()).payload, columns);
    assert.deepEqual(
      row.map((v, i) => (v === null ? null : binaryValueText(columns[i]!.type, isUnsignedColumn(columns[i]!), v))),
      ['42', '2024-02-29 23:59:58.000123', null, '18446744073709551615'],
    );
    const end = await r.next();
    assert.equal(classifyRowPacket(end.payload, { capabilities: conn.capabilities }), 'end');
    assert.ok(hasFlag(parseRowsEnd(end.payload, { capabilities: conn.capabilities }).statusFlags, SERVER_STATUS_AUTOCOMMIT));
  } finally {
    conn.socket.destroy();
  }
});

test('a server that never greets: the login times out with a typed error', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const started = Date.now();
  try {
    await assert.rejects(connectUpstream(options('native', { port, timeoutMs: 300 })), (e: unknown) => e instanceof UpstreamError && e.code === 'timeout');
    assert.ok(Date.now() - started < 2000);
  } finally {
    silent.close();
  }
  await assert.rejects(connectUpstream(options('native', { port: 1 })), (e: unknown) => e instanceof UpstreamError && e.code === 'connect-failed');
});
