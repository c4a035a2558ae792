import { createMetricsRegistry } from '../metrics/metrics-registry.js';
import { registerAuditMetrics } from '../metrics/audit-metrics.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../logging/logger.js';
import { createAuditTrail, type AuditTrail, type AuditTrailOptions } from './audit-trail.js';
import { CHAIN_ATTR, verifyChain } from './hash-chain.js';
import { AttributeSet, MAX_ATTRIBUTE_STRING_CHARS } from './attribute-values.js';
import { readOtlpJsonFile, startOtlpReceiver, type ReceivedSpan } from '../../test/support/otlp-receiver.js';
import { makeSelfSignedCertificate } from '../../test/support/self-signed-certificate.js';

const OTLP_KIND_SERVER = 2;
const OTLP_KIND_CLIENT = 3;

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-audit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function capturingLog() {
  const lines: { level: string; msg: string }[] = [];
  return { lines, log: createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as { level: string; msg: string }) }) };
}

/** Fast retries and short export timeouts so failure tests take well under a second. */
function otlpOptions(endpoint: string, dir: string, extra: Partial<AuditTrailOptions> = {}): AuditTrailOptions {
  return {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    spoolDir: join(dir, 'spool'),
    retryDelayMs: { initial: 20, max: 100 },
    exportTimeoutMs: 500,
    log: capturingLog().log,
    ...extra,
  };
}

/** A session with `n` commands, the first failing. Returns the session's trace id. */
function runSession(trail: AuditTrail, n: number, label: string): string {
  const session = trail.startSession({ 'sidegate.protocol': 'postgres', 'sidegate.target': 'orders-db', 'db.system.name': 'postgresql' });
  for (let i = 0; i < n; i++) {
    const cmd = session.startCommand('SELECT customers', { 'db.query.text': `SELECT ? -- ${label}${i}`, 'db.operation.name': 'SELECT' });
    cmd.addEvent('sidegate.decided', { 'sidegate.rule': 'read-only' });
    cmd.setAttributes({ 'sidegate.decision': 'allow', 'sidegate.rows_returned': i });
    cmd.end(i === 0 ? { error: 'relation "x" does not exist' } : undefined);
  }
  session.setAttributes({ 'sidegate.commands': n });
  session.end();
  return session.traceId;
}

const byQuery = (spans: ReceivedSpan[], text: string) => spans.find((s) => s.attributes['db.query.text'] === text);

/** A URL where nothing listens: a receiver started and closed again. */
async function deadEndpoint(): Promise<string> {
  const r = await startOtlpReceiver();
  await r.close();
  return r.endpoint;
}

for (const protocol of ['http/protobuf', 'http/json'] as const) test(`OTLP ${protocol}: session and command spans reach a real receiver with structure, attributes and an intact chain`, async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    try {
      const options = otlpOptions(receiver.endpoint, dir, { resourceAttributes: { 'k8s.pod.name': 'runner-1' } });
      // http/protobuf is what no protocol variable means (the specification's default).
      if (protocol === 'http/json') options.env = { ...options.env, OTEL_EXPORTER_OTLP_PROTOCOL: protocol };
      const trail = await createAuditTrail(options);
      assert.equal(trail.destination, `${receiver.endpoint}/v1/traces`);
      const traceId = runSession(trail, 3, 'q');
      await trail.flush();
      // flush() means delivered: no polling needed.
      const spans = receiver.spans();
      assert.equal(spans.length, 4);
      const session = spans.find((s) => s.name === 'postgres session orders-db')!;
      assert.ok(session, 'session span named after protocol and target');
      assert.equal(session.traceId, traceId);
      assert.equal(session.parentSpanId, undefined);
      assert.equal(session.kind, OTLP_KIND_SERVER);
      assert.equal(session.attributes['sidegate.commands'], 3);
      assert.equal(session.resource['service.name'], 'sidegate');
      assert.equal(session.resource['k8s.pod.name'], 'runner-1');
      const commands = spans.filter((s) => s.parentSpanId === session.spanId);
      assert.equal(commands.length, 3);
      for (const c of commands) {
        assert.equal(c.traceId, traceId);
        assert.equal(c.kind, OTLP_KIND_CLIENT);
        assert.equal(c.attributes['db.operation.name'], 'SELECT');
        assert.equal(c.attributes['sidegate.decision'], 'allow');
        assert.equal(c.events[0]!.name, 'sidegate.decided');
      }
      const failed = byQuery(spans, 'SELECT ? -- q0')!;
      assert.deepEqual(failed.status, { code: 2, message: 'relation "x" does not exist' });
      // The chain verifies over what the receiver decoded: the encoding lost nothing the hash covers.
      assert.deepEqual(verifyChain(spans), { ok: true, chains: 1, spans: 4 });
      assert.deepEqual(receiver.encodings, [protocol === 'http/json' ? 'json' : 'protobuf']);
      // seq follows end order: commands first, the session last.
      assert.equal(session.attributes[CHAIN_ATTR.seq], 4);
      await trail.shutdown();
      assert.equal(trail.healthy, false, 'a shut-down trail accepts no more commands');
    } finally {
      await receiver.close();
    }
  });
});

test('file mode: one valid OTLP/JSON ExportTraceServiceRequest per line, chain intact', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'state', 'audit.otlp.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, log: capturingLog().log });
    assert.equal(trail.destination, file);
    const traceId = runSession(trail, 2, 'f');
    await trail.flush();
    runSession(trail, 1, 'g');
    await trail.shutdown();
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    assert.ok(lines.length >= 2, 'two flushes, at least two lines');
    for (const line of lines) {
      const req = JSON.parse(line) as { resourceSpans: { resource: unknown; scopeSpans: { scope: { name: string }; spans: { traceId: string; startTimeUnixNano: string }[] }[] }[] };
      assert.ok(Array.isArray(req.resourceSpans) && req.resourceSpans.length > 0);
      const span = req.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      assert.match(span.traceId, /^[0-9a-f]{32}$/);
      assert.match(span.startTimeUnixNano, /^\d+$/);
      assert.equal(req.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'sidegate.audit');
    }
    const spans = readOtlpJsonFile(file);
    assert.equal(spans.length, 5);
    const session = spans.find((s) => s.traceId === traceId && !s.parentSpanId)!;
    assert.equal(spans.filter((s) => s.parentSpanId === session.spanId).length, 2);
    assert.equal(verifyChain(spans).ok, true);
  });
});

test('OTLP: a collector answering 503 for a while loses nothing; flush means spooled; delivery follows recovery', async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    const { lines, log } = capturingLog();
    try {
      receiver.setFailing(1_000_000);
      const trail = await createAuditTrail(otlpOptions(receiver.endpoint, dir, { log }));
      runSession(trail, 20, 'r');
      await trail.flush(); // resolves once the spans are durable and the collector refused them
      assert.equal(receiver.spans().length, 0);
      assert.ok(receiver.requests >= 1);
      assert.equal(trail.healthy, true, 'a refusing collector alone does not block commands while the spool has room');
      assert.ok(lines.some((l) => l.level === 'warn' && /export failed/.test(l.msg)), 'the failure is logged');
      receiver.setFailing(0);
      await receiver.waitForSpans((s) => s.length >= 21, 5000);
      await trail.flush();
      const spans = receiver.spans();
      assert.equal(spans.length, 21, 'each span delivered once');
      assert.ok(byQuery(spans, 'SELECT ? -- r19'));
      assert.equal(verifyChain(spans).ok, true);
      assert.ok(lines.some((l) => /reachable again/.test(l.msg)));
      await trail.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('OTLP: spans spooled by a run that could not deliver are re-exported by the next run on the same spool', async () => {
  await withDir(async (dir) => {
    const first = await createAuditTrail(otlpOptions(await deadEndpoint(), dir));
    runSession(first, 2, 'first-run-');
    await first.flush();
    await first.shutdown();

    const receiver = await startOtlpReceiver();
    try {
      const { lines, log } = capturingLog();
      const second = await createAuditTrail(otlpOptions(receiver.endpoint, dir, { log }));
      assert.ok(lines.some((l) => /previous run/.test(l.msg)));
      runSession(second, 1, 'second-run-');
      await second.flush();
      const spans = receiver.spans();
      assert.ok(byQuery(spans, 'SELECT ? -- first-run-1'), 'the first run’s spans arrived');
      assert.ok(byQuery(spans, 'SELECT ? -- second-run-0'));
      assert.equal(spans.length, 5);
      assert.deepEqual(verifyChain(spans), { ok: true, chains: 2, spans: 5 });
      await second.shutdown();
      // Delivered data is not delivered again by a third run.
      const third = await createAuditTrail(otlpOptions(receiver.endpoint, dir));
      await third.flush();
      await third.shutdown();
      assert.equal(receiver.spans().length, 5);
    } finally {
      await receiver.close();
    }
  });
});

test('OTLP: over the spool bound the trail is unhealthy and says so, keeps everything, and recovers', async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    const { lines, log } = capturingLog();
    try {
      receiver.setFailing(1_000_000);
      const trail = await createAuditTrail(otlpOptions(receiver.endpoint, dir, { log, maxSpoolBytes: 4000 }));
      assert.equal(trail.healthy, true);
      runSession(trail, 15, 'b');
      await trail.flush();
      assert.equal(trail.healthy, false);
      assert.ok(lines.some((l) => l.level === 'error' && /spool bound/.test(l.msg)), 'a log line says why commands are denied');
      receiver.setFailing(0);
      await receiver.waitForSpans((s) => s.length >= 16, 5000);
      await trail.flush();
      assert.equal(trail.healthy, true);
      assert.equal(verifyChain(receiver.spans()).ok, true, 'nothing was dropped');
      await trail.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('file mode: an unwritable audit file makes the trail unhealthy and keeps the spans until it can write', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'audit.otlp.jsonl');
    await mkdir(file); // a directory where the file should be: appending fails, even as root
    const { lines, log } = capturingLog();
    const trail = await createAuditTrail({ env: {}, filePath: file, log });
    runSession(trail, 2, 'kept-');
    await assert.rejects(trail.flush(300), /2 span\(s\)|span\(s\) not yet written/, 'flush does not pretend the spans are safe');
    assert.equal(trail.healthy, false);
    assert.ok(lines.some((l) => l.level === 'error' && /cannot write/.test(l.msg)));
    await rm(file, { recursive: true });
    await trail.flush();
    assert.equal(trail.healthy, true);
    const spans = readOtlpJsonFile(file);
    assert.ok(byQuery(spans, 'SELECT ? -- kept-1'), 'nothing was dropped');
    assert.equal(verifyChain(spans).ok, true);
    await trail.shutdown();
  });
});

test('oversized attribute values are bounded before hashing, so the exported span still verifies', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'audit.otlp.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, log: capturingLog().log });
    const session = trail.startSession({ 'sidegate.target': 'db' }, 'custom session name');
    const cmd = session.startCommand('INSERT t', { 'db.query.text': 'x'.repeat(100_000), nan: Number.NaN, nothing: undefined });
    cmd.end();
    cmd.end(); // a second end is a no-op, not a second chain link
    session.end();
    await trail.shutdown();
    const spans = readOtlpJsonFile(file);
    assert.equal(spans.length, 2);
    const text = spans.find((s) => s.name === 'INSERT t')!.attributes['db.query.text'] as string;
    assert.equal(text.length, MAX_ATTRIBUTE_STRING_CHARS);
    assert.equal(spans.find((s) => s.name === 'INSERT t')!.attributes['nan'], 'NaN');
    assert.ok(spans.some((s) => s.name === 'custom session name'));
    assert.equal(verifyChain(spans).ok, true);
  });
});

test('commands started from one AttributeSet carry its bounded values, each span its own copy, with its own start time', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'audit.otlp.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, log: capturingLog().log });
    const session = trail.startSession({ 'sidegate.target': 'db' });
    const kinds = ['select', 'read'];
    const set = new AttributeSet({ 'db.query.text': 'y'.repeat(20_000), 'sidegate.statement.kinds': kinds, nan: Number.NaN, gone: null, constructor: 'from the set' });
    kinds.push('write'); // the set kept its own bounded copy
    const first = session.startCommand('SELECT a', set, '1700000000000000001');
    const second = session.startCommand('SELECT b', set);
    first.setAttributes({ 'sidegate.rows_returned': 1, 'db.query.text': 'first only' });
    second.setAttributes({ 'sidegate.rows_returned': 2 });
    first.end();
    second.end();
    session.end();
    await trail.shutdown();
    const spans = readOtlpJsonFile(file);
    const a = spans.find((s) => s.name === 'SELECT a')!;
    const b = spans.find((s) => s.name === 'SELECT b')!;
    assert.equal(a.attributes['db.query.text'], 'first only');
    assert.equal((b.attributes['db.query.text'] as string).length, MAX_ATTRIBUTE_STRING_CHARS);
    assert.deepEqual(b.attributes['sidegate.statement.kinds'], ['select', 'read']);
    assert.equal(b.attributes['nan'], 'NaN');
    assert.equal('gone' in b.attributes, false);
    assert.equal(b.attributes['constructor'], 'from the set'); // a key an object inherits is still the set's value
    assert.equal(a.attributes['sidegate.rows_returned'], 1);
    assert.equal(b.attributes['sidegate.rows_returned'], 2);
    assert.equal(a.startTimeUnixNano, '1700000000000000001');
    assert.ok(BigInt(b.startTimeUnixNano) > 1700000000000000001n);
    assert.equal(verifyChain(spans).ok, true);
  });
});

test('OTLP: a span of its own links to another trace\'s span, the link is hashed, and persist means spooled while the collector is away', async () => {
  const receiver = await startOtlpReceiver();
  await withDir(async (dir) => {
    const trail = await createAuditTrail(otlpOptions(receiver.endpoint, dir));
    try {
      const held = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
      receiver.setFailing(1000);
      const span = trail.startSpan('approval vote', { 'sidegate.approval.id': 'x' }, { traceId: 'c'.repeat(32), links: [held] });
      span.end();
      await trail.persist(2000);
      assert.equal(receiver.accepted, 0, 'persist does not wait for the collector');
      receiver.setFailing(0);
      const [got] = await receiver.waitForSpans((spans) => (spans.length === 1 ? spans : undefined));
      assert.equal(got!.traceId, 'c'.repeat(32));
      assert.equal(got!.spanId, span.spanId);
      assert.equal(got!.kind, 1);
      assert.equal(got!.parentSpanId, undefined);
      assert.deepEqual(got!.links, [held]);
      assert.equal(verifyChain(receiver.spans()).ok, true);
      assert.equal(verifyChain([{ ...got!, links: [{ ...held, spanId: '1'.repeat(16) }] }]).ok, false);
    } finally {
      await trail.shutdown();
      await receiver.close();
    }
  });
});

test('persist rejects once the trail is shut down: no evidence can be written then', async () => {
  await withDir(async (dir) => {
    const trail = await createAuditTrail({ filePath: join(dir, 'audit.jsonl'), env: {} });
    await trail.shutdown();
    await assert.rejects(trail.persist(100), /closed/);
  });
});

test('a session span links to a span learnt after it started; the chain covers the link', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'audit.otlp.jsonl');
    const trail = await createAuditTrail({ env: {}, filePath: file, log: capturingLog().log });
    const session = trail.startSession({ 'sidegate.protocol': 'postgres', 'sidegate.target': 'orders-db' });
    const link = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    session.addLink(link);
    session.addLink({ ...link });
    session.end();
    runSession(trail, 1, 'unlinked');
    await trail.shutdown();
    const spans = readOtlpJsonFile(file);
    assert.deepEqual(spans.find((s) => s.spanId === session.spanId)!.links, [link], 'one link, kept once');
    assert.equal(spans.filter((s) => s.links?.length).length, 1, 'spans without links carry none');
    assert.equal(verifyChain(spans).ok, true);
    await writeFile(file, (await readFile(file, 'utf8')).replace('00f067aa0ba902b7', '00f067aa0ba902b8'));
    assert.equal(verifyChain(readOtlpJsonFile(file)).ok, false, 'a link changed after sealing breaks the chain');
  });
});

for (const protocol of ['http/protobuf', 'http/json'] as const) test(`OTLP ${protocol}: a partialSuccess rejecting spans is a failed export: spooled, counted, logged, retried`, async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    const { lines, log } = capturingLog();
    try {
      receiver.setRejecting(1_000_000, 'tenant over quota');
      const trail = await createAuditTrail(otlpOptions(receiver.endpoint, dir, { log, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol } }));
      runSession(trail, 2, 'p');
      await trail.flush(); // durable, and the collector has answered (rejecting)
      // Two rejections answered by the receiver and counted by the trail (the count follows the answer).
      await receiver.waitForSpans(() => receiver.partialAnswers >= 2 && trail.exportStats().partialSuccessExports >= 2, 5000);
      assert.equal(receiver.spans().length, 0);
      const stats = trail.exportStats();
      assert.ok(stats.partialSuccessExports >= 2 && stats.failedExports >= stats.partialSuccessExports, JSON.stringify(stats));
      assert.ok(stats.rejectedSpans >= 6, 'each rejection counts the spans the collector gave');
      assert.equal(stats.exportedSpans, 0);
      // What an operator's Prometheus reads meanwhile: failures and rejections, the spans still spooled.
      const registry = createMetricsRegistry();
      registerAuditMetrics(registry, () => trail);
      const scraped = await registry.metrics();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(scraped)?.[1]);
      assert.ok(value('sidegate_audit_export_failures_total') >= 2, scraped);
      assert.ok(value('sidegate_audit_rejected_spans_total') >= 6, scraped);
      assert.equal(value('sidegate_audit_spool_records'), 3);
      assert.equal(value('sidegate_audit_exported_spans_total'), 0);
      const logged = lines.find((l) => /rejected spans \(partialSuccess\)/.test(l.msg)) as Record<string, unknown> | undefined;
      assert.ok(logged && logged['level'] === 'error' && logged['rejectedSpans'] === 3 && logged['collectorMessage'] === 'tenant over quota', JSON.stringify(logged));
      receiver.setRejecting(0);
      await receiver.waitForSpans((s) => s.length >= 3, 5000);
      await trail.flush();
      assert.equal(receiver.spans().length, 3, 'the rejected batch arrives whole on retry');
      assert.equal(verifyChain(receiver.spans()).ok, true);
      assert.equal(trail.exportStats().exportedSpans, 3);
      await trail.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('OTLP drain: a collector unavailable, then slow, then answering gets everything within the drain; nothing is reported', async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    try {
      // Long backoff: the drain must not wait it out, it retries at its own short pace.
      const trail = await createAuditTrail({ ...otlpOptions(receiver.endpoint, dir), retryDelayMs: { initial: 10_000, max: 10_000 } });
      receiver.setFailing(3);
      receiver.setDelayMs(150);
      runSession(trail, 5, 'd');
      const started = Date.now();
      const report = await trail.drain(5000);
      assert.deepEqual(report, { spans: 0, unwrittenBytes: 0 });
      assert.ok(Date.now() - started < 5000);
      assert.equal(receiver.spans().length, 6);
      assert.equal(verifyChain(receiver.spans()).ok, true);
      assert.equal(trail.healthy, false, 'a drained trail takes no more commands');
    } finally {
      await receiver.close();
    }
  });
});

test('OTLP drain: a collector that stays away leaves a report of the spans not delivered and the oldest start time, on time', async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    try {
      receiver.setFailing(1_000_000);
      const trail = await createAuditTrail(otlpOptions(receiver.endpoint, dir));
      // A second of slack: span times come from the monotonic clock anchored at start, not Date.now().
      const before = BigInt(Date.now() - 1000) * 1_000_000n;
      runSession(trail, 3, 'lost');
      const started = Date.now();
      const report = await trail.drain(600);
      const took = Date.now() - started;
      assert.ok(took >= 550 && took < 2500, `the drain keeps to its bound (${took} ms)`);
      assert.equal(report.spans, 4);
      assert.equal(report.unwrittenBytes, 0);
      assert.ok(report.oldestStartTimeUnixNano && BigInt(report.oldestStartTimeUnixNano) >= before, report.oldestStartTimeUnixNano);
      assert.ok(receiver.requests >= 2, 'it kept retrying within the drain');
      // The spool still holds them: a run on the same volume delivers them.
      receiver.setFailing(0);
      const next = await createAuditTrail(otlpOptions(receiver.endpoint, dir));
      await next.flush();
      assert.equal(receiver.spans().length, 4);
      await next.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('Resource: OTEL_RESOURCE_ATTRIBUTES over the process\'s own attributes, OTEL_SERVICE_NAME over both', async () => {
  await withDir(async (dir) => {
    const receiver = await startOtlpReceiver();
    try {
      const trail = await createAuditTrail({
        ...otlpOptions(receiver.endpoint, dir),
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_SERVICE_NAME: 'ci-db-gateway',
          OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,deployment.environment.name=prod%20eu,k8s.cluster.name=c1',
        },
        resourceAttributes: { 'k8s.pod.name': 'runner-1', 'deployment.environment.name': 'dev' },
      });
      runSession(trail, 1, 'r');
      await trail.flush();
      assert.deepEqual(receiver.spans()[0]!.resource, {
        'service.name': 'ci-db-gateway',
        'k8s.pod.name': 'runner-1',
        'deployment.environment.name': 'prod eu',
        'k8s.cluster.name': 'c1',
      });
      await trail.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('TLS files named by OTEL_EXPORTER_OTLP_* that cannot be read stop the start, naming the file', async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      createAuditTrail({ ...otlpOptions('https://collector.invalid:4318', dir), env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.invalid:4318', OTEL_EXPORTER_OTLP_CERTIFICATE: join(dir, 'missing-ca.crt') } }),
      /OTLP CA certificate file .*missing-ca\.crt cannot be read \(ENOENT\)/,
    );
  });
});

test('TLS: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE trusts the collector; without it its certificate is refused and spans wait', async () => {
  await withDir(async (dir) => {
    const server = makeSelfSignedCertificate(dir, 'collector');
    const receiver = await startOtlpReceiver(0, '127.0.0.1', { certFile: server.certFile, keyFile: server.keyFile });
    try {
      const untrusted = await createAuditTrail({ ...otlpOptions(receiver.endpoint, join(dir, 'a')), env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
      runSession(untrusted, 1, 'u');
      await untrusted.flush();
      assert.equal(receiver.spans().length, 0, 'an unknown CA is refused');
      assert.ok(untrusted.exportStats().failedExports >= 1);
      await untrusted.shutdown();

      const trusted = await createAuditTrail({
        ...otlpOptions(receiver.endpoint, join(dir, 'b')),
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: server.certFile },
      });
      runSession(trusted, 1, 't');
      await trusted.flush();
      assert.equal(receiver.spans().length, 2);
      await trusted.shutdown();
    } finally {
      await receiver.close();
    }
  });
});

test('TLS: mutual TLS with OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY; a collector requiring it refuses a client without', async () => {
  await withDir(async (dir) => {
    const server = makeSelfSignedCertificate(dir, 'collector');
    const client = makeSelfSignedCertificate(dir, 'client');
    const receiver = await startOtlpReceiver(0, '127.0.0.1', { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: client.certFile });
    try {
      const base = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_CERTIFICATE: server.certFile };
      const anonymous = await createAuditTrail({ ...otlpOptions(receiver.endpoint, join(dir, 'a')), env: base });
      runSession(anonymous, 1, 'n');
      await anonymous.flush();
      assert.equal(receiver.spans().length, 0, 'no client certificate, no delivery');
      await anonymous.shutdown();

      const mutual = await createAuditTrail({
        ...otlpOptions(receiver.endpoint, join(dir, 'b')),
        env: { ...base, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: client.certFile, OTEL_EXPORTER_OTLP_CLIENT_KEY: client.keyFile },
      });
      runSession(mutual, 1, 'm');
      await mutual.flush();
      assert.equal(receiver.spans().length, 2);
      await mutual.shutdown();
    } finally {
      await receiver.close();
    }
  });
});
