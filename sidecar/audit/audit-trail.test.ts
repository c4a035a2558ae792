import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditTrail } from './audit-trail.js';
import { verifyChain } from './hash-chain.js';
import { flattenOtlpJson } from './otlp-json-reader.js';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';

async function tmp() {
  return mkdtemp(join(tmpdir(), 'sidegate-audit-'));
}

function emit(trail: Awaited<ReturnType<typeof createAuditTrail>>, n: number, label = 's') {
  const session = trail.startSession({ 'sidegate.protocol': 'postgres', 'sidegate.target': 'db' });
  for (let i = 0; i < n; i++) {
    const c = session.startCommand('SELECT', { 'db.query.text': `SELECT ? -- ${label}${i}`, 'sidegate.rows_returned': i });
    c.setAttributes({ 'sidegate.decision': 'allow' });
    c.end(i === 0 ? { error: 'first one failed' } : undefined);
  }
  session.end();
  return session.traceId;
}

test('file mode: OTLP/JSON lines, session span parents command spans, chain verifies', async () => {
  const dir = await tmp();
  try {
    const file = join(dir, 'audit.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, spoolDir: join(dir, 'spool') });
    const traceId = emit(trail, 3);
    await trail.flush();
    await trail.shutdown();
    const spans = flattenOtlpJson(await readFile(file, 'utf8'));
    assert.equal(spans.length, 4);
    const session = spans.find((s) => !s.parentSpanId)!;
    assert.equal(session.traceId, traceId);
    assert.equal(spans.filter((s) => s.parentSpanId === session.spanId).length, 3);
    assert.equal(spans.find((s) => s.attributes['db.query.text'] === 'SELECT ? -- s0')!.status?.message, 'first one failed');
    assert.deepEqual(verifyChain(spans).ok, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tampering is detected: altered attribute, deleted span, reordered sequence', async () => {
  const dir = await tmp();
  try {
    const file = join(dir, 'audit.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, spoolDir: join(dir, 'spool') });
    emit(trail, 4);
    await trail.shutdown();
    const text = await readFile(file, 'utf8');
    const spans = flattenOtlpJson(text);
    assert.equal(verifyChain(spans).ok, true);
    const altered = flattenOtlpJson(text.replace('SELECT ? -- s2', 'SELECT ? -- s9'));
    assert.equal(verifyChain(altered).ok, false);
    const deleted = spans.filter((s) => s.attributes['db.query.text'] !== 'SELECT ? -- s1');
    assert.match(verifyChain(deleted).reason!, /missing/);
    const swapped = spans.map((s) => ({ ...s, attributes: { ...s.attributes } }));
    const [a, b] = [swapped[1]!, swapped[2]!];
    [a.attributes['sidegate.audit.seq'], b.attributes['sidegate.audit.seq']] = [b.attributes['sidegate.audit.seq']!, a.attributes['sidegate.audit.seq']!];
    assert.equal(verifyChain(swapped).ok, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('OTLP mode: a collector that fails for a while loses nothing', async () => {
  const dir = await tmp();
  const receiver = await startOtlpReceiver();
  try {
    receiver.setFailing(3);
    const warnings: string[] = [];
    const trail = await createAuditTrail({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, filePath: join(dir, 'x'), spoolDir: join(dir, 'spool'), onWarning: (w) => warnings.push(w) });
    emit(trail, 20);
    await trail.flush();
    assert.equal(receiver.spans().length, 21);
    assert.ok(receiver.requests >= 4, 'the failed requests were retried');
    assert.equal(verifyChain(receiver.spans()).ok, true);
    await trail.shutdown();
  } finally {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('OTLP mode: spans spooled by a run that could not deliver are replayed by the next run', async () => {
  const dir = await tmp();
  const spoolDir = join(dir, 'spool');
  try {
    // First run: nothing listens on the endpoint; spans go to the spool only.
    const dead = await startOtlpReceiver();
    const deadEndpoint = dead.endpoint;
    await dead.close();
    const first = await createAuditTrail({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: deadEndpoint }, filePath: join(dir, 'x'), spoolDir, onWarning: () => {} });
    emit(first, 2, 'first-run-');
    await new Promise((r) => setTimeout(r, 500)); // the batch is cut and written within 200 ms
    const spooled = await readFile(join(spoolDir, 'spool.otlp.jsonl'), 'utf8');
    assert.ok(spooled.includes('first-run-1'), 'the spans are on disk before delivery');
    // Second run against a working collector replays them.
    const receiver = await startOtlpReceiver();
    try {
      const second = await createAuditTrail({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, filePath: join(dir, 'x'), spoolDir });
      await receiver.waitForSpans((s) => s.some((x) => x.attributes['db.query.text'] === 'SELECT ? -- first-run-1'), 10_000);
      emit(second, 1, 'second-run-');
      await second.flush();
      assert.ok(receiver.spans().some((x) => x.attributes['db.query.text'] === 'SELECT ? -- second-run-0'));
      await second.shutdown();
      assert.equal((await readFile(join(spoolDir, 'spool.otlp.jsonl'), 'utf8')).length, 0, 'the spool is emptied once delivered');
    } finally {
      await receiver.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('over the spool bound the trail reports unhealthy (the gate then denies)', async () => {
  const dir = await tmp();
  try {
    const dead = await startOtlpReceiver();
    const endpoint = dead.endpoint;
    await dead.close();
    const trail = await createAuditTrail({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, filePath: join(dir, 'x'), spoolDir: join(dir, 'spool'), maxSpoolBytes: 500, onWarning: () => {} });
    assert.equal(trail.healthy, true);
    emit(trail, 10);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(trail.healthy, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


test('an audit file that cannot be written makes the trail unhealthy and keeps the spans until it can', async () => {
  const dir = await tmp();
  try {
    const { mkdir, chmod } = await import('node:fs/promises');
    const locked = join(dir, 'locked');
    await mkdir(locked);
    const file = join(locked, 'audit.jsonl');
    // A directory standing where the file should be: appending fails even for root.
    await mkdir(file);
    const warnings: string[] = [];
    const trail = await createAuditTrail({ env: {}, filePath: file, spoolDir: join(dir, 'spool'), onWarning: (w) => warnings.push(w) });
    emit(trail, 2, 'kept-');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(trail.healthy, false);
    assert.ok(warnings.some((w) => /cannot write/.test(w)));
    await rm(file, { recursive: true });
    await chmod(locked, 0o755);
    await trail.flush();
    assert.equal(trail.healthy, true);
    const spans = flattenOtlpJson(await readFile(file, 'utf8'));
    assert.ok(spans.some((s) => s.attributes['db.query.text'] === 'SELECT ? -- kept-1'), 'nothing was dropped');
    await trail.shutdown();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
