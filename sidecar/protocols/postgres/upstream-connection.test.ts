// Against the real test PostgreSQL 15 (TLS + SCRAM/md5/password logins), see
// /var/tmp/sidegate-test/pg.json; started by test/scripts/postgres.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { UpstreamTls } from '../../../core/vocabulary.js';
import { MessageFramer, type Frame } from './message-framer.js';
import { serializeQuery, serializeTerminate } from './frontend-messages.js';
import {
  BackendCode,
  readDataRow,
  readErrorFields,
  readReadyForQuery,
  serializeAuthenticationOk,
  serializeBackendKeyData,
  serializeReadyForQuery,
} from './backend-messages.js';
import { MessageBuilder } from './message-framer.js';
import { connectUpstream, UpstreamError, type UpstreamConnection } from './upstream-connection.js';

interface PgConfig {
  host: string;
  port: number;
  database: string;
  caFile: string;
  users: Record<'scram' | 'md5' | 'plain', { user: string; password: string }>;
}
const pg = JSON.parse(readFileSync('/var/tmp/sidegate-test/pg.json', 'utf8')) as PgConfig;

function connectAs(kind: keyof PgConfig['users'], tls: UpstreamTls, extra: { password?: string; params?: Record<string, string> } = {}) {
  const login = pg.users[kind];
  return connectUpstream({
    host: pg.host,
    port: pg.port,
    tls,
    user: login.user,
    password: extra.password ?? login.password,
    database: pg.database,
    params: extra.params,
  });
}

/** Sends one simple query and collects the frames up to ReadyForQuery. */
function simpleQuery(conn: UpstreamConnection, sql: string): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const framer = new MessageFramer();
    const frames: Frame[] = [];
    const onData = (chunk: Buffer) => {
      framer.push(chunk);
      for (const f of framer) {
        frames.push(f);
        if (f.code === BackendCode.ReadyForQuery) {
          conn.socket.off('data', onData);
          resolve(frames);
        }
      }
    };
    conn.socket.on('data', onData);
    conn.socket.once('close', () => reject(new Error('closed')));
    if (conn.leftover.length > 0) onData(conn.leftover);
    conn.socket.write(serializeQuery(sql));
  });
}

function close(conn: UpstreamConnection): void {
  conn.socket.end(serializeTerminate());
}

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UpstreamError, `expected UpstreamError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the connection to fail');
}

test('SCRAM user over verify-full against the CA: logged in, bound to the certificate, query works', async () => {
  const conn = await connectAs('scram', { mode: 'verify-full', caFile: pg.caFile }, { params: { application_name: 'wire-test' } });
  try {
    assert.equal(conn.encrypted, true);
    assert.equal(conn.authMethod, 'SCRAM-SHA-256-PLUS');
    assert.equal(conn.transactionStatus, 'I');
    assert.match(conn.serverVersion, /^15\./);
    assert.equal(conn.parameters.get('application_name'), 'wire-test');
    assert.ok(conn.backendKey.processId > 0);
    assert.equal(conn.leftover.length, 0);

    const frames = await simpleQuery(conn, 'select 1 as one, current_user as who, ssl from pg_stat_ssl where pid = pg_backend_pid()');
    const codes = frames.map((f) => String.fromCharCode(f.code)).join('');
    assert.equal(codes, 'TDCZ');
    const row: (Buffer | null)[] = [];
    assert.equal(readDataRow(frames[1]!.body, row), 3);
    assert.deepEqual(
      row.map((v) => v?.toString()),
      ['1', pg.users.scram.user, 't'],
    );
    assert.equal(readReadyForQuery(frames[3]!.body), 'I');
  } finally {
    close(conn);
  }
});

test('md5 user over verify-ca', async () => {
  const conn = await connectAs('md5', { mode: 'verify-ca', caFile: pg.caFile });
  try {
    assert.equal(conn.authMethod, 'md5');
    const frames = await simpleQuery(conn, 'select current_user');
    const row: (Buffer | null)[] = [];
    readDataRow(frames.find((f) => f.code === BackendCode.DataRow)!.body, row);
    assert.equal(row[0]?.toString(), pg.users.md5.user);
  } finally {
    close(conn);
  }
});

test('cleartext (password method) user with TLS disabled', async () => {
  const conn = await connectAs('plain', { mode: 'disable' });
  try {
    assert.equal(conn.authMethod, 'cleartext');
    assert.equal(conn.encrypted, false);
    const frames = await simpleQuery(conn, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    const row: (Buffer | null)[] = [];
    readDataRow(frames.find((f) => f.code === BackendCode.DataRow)!.body, row);
    assert.equal(row[0]?.toString(), 'f');
  } finally {
    close(conn);
  }
});

test('require and prefer use TLS without verifying; client_encoding is pinned to UTF8 whatever is passed', async () => {
  const conn = await connectAs('scram', { mode: 'require' }, { params: { client_encoding: 'SJIS', CLIENT_ENCODING: 'BIG5', user: 'ignored', replication: 'true' } });
  try {
    assert.equal(conn.encrypted, true);
    assert.equal(conn.parameters.get('client_encoding'), 'UTF8');
  } finally {
    close(conn);
  }
  const preferred = await connectAs('md5', { mode: 'prefer' });
  assert.equal(preferred.encrypted, true);
  close(preferred);
});

test('wrong password → UpstreamError 28P01 whose message does not contain the password', async () => {
  for (const kind of ['scram', 'md5', 'plain'] as const) {
    const wrong = `Wrong-${kind}-Pw-0000`;
    const err = await rejection(connectAs(kind, { mode: 'verify-full', caFile: pg.caFile }, { password: wrong }));
    assert.equal(err.sqlState, '28P01', kind);
    assert.equal(err.code, 'server-error');
    assert.ok(!err.message.includes(wrong) && !err.message.includes(pg.users[kind].password), kind);
    assert.ok(!(err.stack ?? '').includes(wrong));
  }
});

test('verify-full fails on a wrong serverName and on an unknown CA; verify-ca ignores the name', async () => {
  const wrongName = await rejection(connectAs('scram', { mode: 'verify-full', caFile: pg.caFile, serverName: 'db.example.internal' }));
  assert.equal(wrongName.code, 'tls-failed');
  assert.match(wrongName.message, /db\.example\.internal/);
  const systemCas = await rejection(connectAs('scram', { mode: 'verify-full' }));
  assert.equal(systemCas.code, 'tls-failed');
  const byName = await connectAs('scram', { mode: 'verify-full', caFile: pg.caFile, serverName: 'localhost' });
  close(byName);
  const caOnly = await connectAs('scram', { mode: 'verify-ca', caFile: pg.caFile, serverName: 'db.example.internal' });
  close(caOnly);
});

test('unknown database → the server SQLSTATE 3D000', async () => {
  const err = await rejection(
    connectUpstream({ host: pg.host, port: pg.port, tls: { mode: 'disable' }, user: pg.users.plain.user, password: pg.users.plain.password, database: 'no_such_db' }),
  );
  assert.equal(err.sqlState, '3D000');
});

test('connection refused and login timeout are bounded errors', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const refused = await rejection(connectUpstream({ host: '127.0.0.1', port, tls: { mode: 'disable' }, user: 'u', password: 'p', database: 'd' }));
  assert.equal(refused.code, 'connect-failed');

  // A listener that accepts and never speaks.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const started = Date.now();
    const err = await rejection(
      connectUpstream({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, tls: { mode: 'require' }, user: 'u', password: 'p', database: 'd', connectTimeoutMs: 200 }),
    );
    assert.equal(err.code, 'timeout');
    assert.ok(Date.now() - started < 2000);
  } finally {
    silent.close();
  }
});

/**
 * A scripted server for the two behaviours the real PostgreSQL cannot be made to show: a
 * GSSAPI request, and a server that claims success without finishing SCRAM (what a man in the
 * middle without the password would have to do).
 */
async function scriptedServer(script: (socket: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((socket) => {
    socket.once('data', () => script(socket)); // the StartupMessage
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

test('GSSAPI authentication is refused with a clear error', async () => {
  const srv = await scriptedServer((s) => s.write(new MessageBuilder(BackendCode.Authentication).int32(7).build()));
  try {
    const err = await rejection(connectUpstream({ host: '127.0.0.1', port: srv.port, tls: { mode: 'disable' }, user: 'u', password: 'p', database: 'd' }));
    assert.equal(err.code, 'auth-unsupported');
    assert.match(err.message, /GSSAPI/);
  } finally {
    srv.close();
  }
});

test('a server that says AuthenticationOk without completing SCRAM is rejected', async () => {
  const srv = await scriptedServer((s) => {
    s.write(new MessageBuilder(BackendCode.Authentication).int32(10).cstring('SCRAM-SHA-256').byte(0).build());
    s.once('data', () => s.write(Buffer.concat([serializeAuthenticationOk(), serializeBackendKeyData(1, 2), serializeReadyForQuery('I')])));
  });
  try {
    const err = await rejection(connectUpstream({ host: '127.0.0.1', port: srv.port, tls: { mode: 'disable' }, user: 'u', password: 'p', database: 'd' }));
    assert.equal(err.code, 'auth-failed');
  } finally {
    srv.close();
  }
});

test('bytes after ReadyForQuery are handed over as leftover, and the socket waits for its new owner', async () => {
  const srv = await scriptedServer((s) => {
    s.write(Buffer.concat([serializeAuthenticationOk(), serializeBackendKeyData(7, 8), serializeReadyForQuery('I'), serializeReadyForQuery('T')]));
    setTimeout(() => s.write(serializeReadyForQuery('E')), 20);
  });
  try {
    const conn = await connectUpstream({ host: '127.0.0.1', port: srv.port, tls: { mode: 'disable' }, user: 'u', password: 'p', database: 'd' });
    assert.equal(conn.authMethod, 'trust');
    assert.deepEqual(conn.backendKey, { processId: 7, secretKey: 8 });
    assert.deepEqual(conn.leftover, serializeReadyForQuery('T'));
    // Attach late: the 'E' written 20 ms after login must not have been lost.
    await new Promise((r) => setTimeout(r, 60));
    const chunk = await new Promise<Buffer>((resolve) => conn.socket.once('data', resolve));
    assert.deepEqual(chunk, serializeReadyForQuery('E'));
    conn.socket.destroy();
  } finally {
    srv.close();
  }
});

test('an ErrorResponse mid-login carries SQLSTATE and message', async () => {
  const srv = await scriptedServer((s) => {
    const b = new MessageBuilder(BackendCode.ErrorResponse).byte(0x53).cstring('FATAL').byte(0x43).cstring('53300').byte(0x4d).cstring('too many connections').byte(0).build();
    s.end(b);
  });
  try {
    const err = await rejection(connectUpstream({ host: '127.0.0.1', port: srv.port, tls: { mode: 'disable' }, user: 'u', password: 'p', database: 'd' }));
    assert.equal(err.sqlState, '53300');
    assert.equal(err.message, 'too many connections');
    assert.equal(readErrorFields(Buffer.from('C53300\0\0'))['C'], '53300');
  } finally {
    srv.close();
  }
});
