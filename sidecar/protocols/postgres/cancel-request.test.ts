// Against the real test PostgreSQL 15: a running pg_sleep is cancelled with a CancelRequest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { UpstreamTls } from '../../../core/vocabulary.js';
import { MessageFramer, type Frame } from './message-framer.js';
import { serializeQuery, serializeTerminate } from './frontend-messages.js';
import { BackendCode, readErrorFields } from './backend-messages.js';
import { connectUpstream, type UpstreamConnection } from './upstream-connection.js';
import { sendCancelRequest } from './cancel-request.js';

const pg = JSON.parse(readFileSync('/var/tmp/sidegate-test/pg.json', 'utf8')) as {
  host: string;
  port: number;
  database: string;
  caFile: string;
  users: { scram: { user: string; password: string } };
};

function untilReady(conn: UpstreamConnection): Promise<Frame[]> {
  return new Promise((resolve) => {
    const framer = new MessageFramer();
    const frames: Frame[] = [];
    conn.socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      for (const f of framer) {
        frames.push(f);
        if (f.code === BackendCode.ReadyForQuery) resolve(frames);
      }
    });
  });
}

async function cancelSleep(cancelTls: UpstreamTls | undefined): Promise<void> {
  const tls: UpstreamTls = { mode: 'verify-full', caFile: pg.caFile };
  const conn = await connectUpstream({ host: pg.host, port: pg.port, tls, user: pg.users.scram.user, password: pg.users.scram.password, database: pg.database });
  try {
    const done = untilReady(conn);
    const started = Date.now();
    conn.socket.write(serializeQuery('select pg_sleep(10)'));
    await new Promise((r) => setTimeout(r, 200)); // let the statement start
    await sendCancelRequest({ host: pg.host, port: pg.port, tls: cancelTls }, conn.backendKey.processId, conn.backendKey.secretKey);
    const frames = await done;
    const error = frames.find((f) => f.code === BackendCode.ErrorResponse);
    assert.ok(error, 'the query ended with an error');
    assert.equal(readErrorFields(error.body)['C'], '57014');
    assert.ok(Date.now() - started < 5000, 'cancelled long before the 10 s sleep ended');
  } finally {
    conn.socket.end(serializeTerminate());
  }
}

test('CancelRequest over plain TCP cancels a running pg_sleep (57014)', async () => {
  await cancelSleep(undefined);
});

test('CancelRequest over SSLRequest + verified TLS cancels too', async () => {
  await cancelSleep({ mode: 'verify-full', caFile: pg.caFile });
});

test('a CancelRequest with the wrong key cancels nothing', async () => {
  const conn = await connectUpstream({ host: pg.host, port: pg.port, tls: { mode: 'require' }, user: pg.users.scram.user, password: pg.users.scram.password, database: pg.database });
  try {
    const done = untilReady(conn);
    conn.socket.write(serializeQuery('select pg_sleep(0.5)'));
    await sendCancelRequest({ host: pg.host, port: pg.port }, conn.backendKey.processId, conn.backendKey.secretKey ^ 1);
    const frames = await done;
    assert.equal(frames.find((f) => f.code === BackendCode.ErrorResponse), undefined);
    assert.ok(frames.some((f) => f.code === BackendCode.DataRow));
  } finally {
    conn.socket.end(serializeTerminate());
  }
});
