import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logging/logger.js';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { DeliveryBacklog } from './delivery-backlog.js';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';

test('the backlog counts records in order and dates the oldest one waiting', () => {
  const backlog = new DeliveryBacklog({ records: 3, sinceUnixMs: 1_000 });
  assert.equal(backlog.records, 3);
  assert.equal(backlog.oldestUnixMs, 1_000);
  backlog.added(2, 5_000);
  backlog.added(1, 5_400); // the same second: one bucket
  backlog.added(1, 9_000);
  assert.equal(backlog.records, 7);
  backlog.delivered(3);
  assert.equal(backlog.oldestUnixMs, 5_000, 'what the previous run left is gone; the next oldest is dated');
  backlog.delivered(3);
  assert.equal(backlog.records, 1);
  assert.equal(backlog.oldestUnixMs, 9_000);
  backlog.delivered(5);
  assert.equal(backlog.records, 0, 'never below zero');
  assert.equal(backlog.oldestUnixMs, undefined);
  backlog.added(1, 12_000);
  assert.equal(backlog.oldestUnixMs, 12_000);
});

function endSpans(trail: AuditTrail, n: number): void {
  const session = trail.startSession({ 'sidegate.protocol': 'postgres', 'sidegate.target': 't' });
  for (let i = 0; i < n - 1; i++) session.startCommand('SELECT', { 'db.operation.name': 'SELECT' }).end();
  session.end();
}

test('OTLP: the backlog holds what the collector refused, counts the failed exports, and empties on delivery', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-backlog-'));
  const receiver = await startOtlpReceiver();
  try {
    receiver.setFailing(1_000_000);
    const options = {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      spoolDir: join(dir, 'spool'),
      retryDelayMs: { initial: 20, max: 50 },
      exportTimeoutMs: 500,
      log: silentLogger,
    };
    const trail = await createAuditTrail(options);
    const before = Date.now();
    endSpans(trail, 4);
    await trail.flush();
    const held = trail.backlog();
    assert.equal(held.records, 4);
    assert.ok(held.bytes > 0);
    assert.ok(held.failedExports >= 1);
    assert.ok(held.oldestUnixMs !== undefined && held.oldestUnixMs >= before - 1000 && held.oldestUnixMs <= Date.now());
    await trail.shutdown();

    // The next run on the same spool starts with what this one left.
    receiver.setFailing(1_000_000);
    const next = await createAuditTrail(options);
    const carried = next.backlog();
    assert.equal(carried.records, 4);
    assert.ok(carried.oldestUnixMs !== undefined && carried.oldestUnixMs <= Date.now());
    receiver.setFailing(0);
    await receiver.waitForSpans((s) => s.length >= 4, 5000);
    await next.flush();
    assert.deepEqual({ ...next.backlog(), failedExports: 0 }, { records: 0, bytes: 0, oldestUnixMs: undefined, failedExports: 0 });
    await next.shutdown();
  } finally {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('file mode: the backlog empties once the spans are in the file; no exports, no failures', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-backlog-'));
  try {
    const trail = await createAuditTrail({ env: {}, filePath: join(dir, 'audit.jsonl'), log: silentLogger });
    endSpans(trail, 3);
    await trail.flush();
    assert.deepEqual(trail.backlog(), { records: 0, bytes: 0, oldestUnixMs: undefined, failedExports: 0 });
    await trail.shutdown();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
