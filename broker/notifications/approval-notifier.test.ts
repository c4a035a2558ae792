// The notifier against real HTTP receivers on 127.0.0.1: what arrives, how it is signed, and how
// delivery behaves when a receiver fails, refuses, throttles, stalls or never answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../core/logging/logger.js';
import type { ApprovalRecord } from '../api/broker-api-schema.js';
import { sampleApprovalRecord } from '../../test/support/approval-record.js';
import type { ApprovalEvent } from './approval-event.js';
import { createApprovalNotifier } from './approval-notifier.js';
import type { DeliveryOptions } from './delivery-queue.js';
import type { SlackMessage } from './slack-message.js';
import { verifyWebhookSignature } from './webhook-signature.js';

const HMAC_SECRET = 'hmac-secret-0123456789abcdef0123456789abcdef';
/** Slack webhook URLs carry their credential in the path. */
const SLACK_PATH = '/services/T0123/B0456/slackSecretPathXyz?token=querySecret';
const FAST: Partial<DeliveryOptions> = { attemptTimeoutMs: 2000, backoffBaseMs: 10, backoffMaxMs: 50 };

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}
type Answer = { status: number; headers?: Record<string, string> } | 'hang';
/** What the receiver does with its n-th request (0-based): answer (perhaps later), or never answer ('hang'). */
type Behaviour = (n: number) => Answer | Promise<Answer>;

async function startReceiver(behaviour: Behaviour = () => ({ status: 200 })) {
  const received: Received[] = [];
  const listeners = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      for (const wake of listeners) wake();
      void Promise.resolve(behaviour(n)).then((answer) => {
        if (answer !== 'hang') res.writeHead(answer.status, answer.headers).end('ok');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    /** Resolves once `count` requests have arrived. */
    waitFor(count: number, timeoutMs = 5000): Promise<Received[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${received.length} of ${count} requests arrived`)), timeoutMs);
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(received);
        };
        listeners.add(check);
        check();
      });
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const record = (over: Partial<ApprovalRecord> = {}): ApprovalRecord =>
  sampleApprovalRecord({ command: "DELETE FROM orders WHERE note = '<!here> <https://evil.example|sign in>'", hash: `sha256:${'c'.repeat(64)}`, ...over });
const decided = (id = 'apr-7k2m9q') =>
  record({ id, status: 'approved', decidedBy: 'alice', decidedAt: '2025-01-01T10:02:00.000Z', reason: 'OPS-42', requester: { ...sampleApprovalRecord().requester, ci: { repository: 'acme/shop', actor: 'octocat' } } });

function captureLog() {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'debug', sink: (line) => lines.push(line) }) };
}

test('Slack: the message arrives as JSON text and blocks, escaped, linking the request; created before decided', async () => {
  const receiver = await startReceiver();
  const notifier = createApprovalNotifier({ publicUrl: 'https://sidegate.example.com', slack: { webhookUrl: receiver.base + SLACK_PATH }, webhooks: [] }, captureLog().log, FAST);
  try {
    notifier.notify(record());
    notifier.notify(decided());
    const [first, second] = await receiver.waitFor(2);
    assert.equal(first!.path, SLACK_PATH);
    assert.equal(first!.headers['content-type'], 'application/json; charset=utf-8');
    const message = JSON.parse(first!.body) as SlackMessage;
    assert.deepEqual(Object.keys(message).sort(), ['blocks', 'text']);
    assert.match(message.text, /^Approval requested: apr-7k2m9q on orders-db/);
    const body = first!.body;
    assert.ok(body.includes('<https://sidegate.example.com/approvals/apr-7k2m9q|Open apr-7k2m9q on the approvals page>'));
    assert.ok(body.includes('&lt;!here&gt; &lt;https://evil.example|sign in&gt;'), 'the statement is escaped');
    assert.ok(!body.includes('<!here>') && !body.includes('<https://evil'), 'the statement adds no mention or link');
    const approved = JSON.parse(second!.body) as SlackMessage;
    assert.match(approved.text, /^Approved: apr-7k2m9q/);
    assert.ok(second!.body.includes('*Approved by* alice'));
    assert.ok(second!.body.includes('actor *octocat*'));
    await notifier.close();
    assert.deepEqual(notifier.counters().total, { sent: 2, retried: 0, failed: 0, dropped: 0, queued: 0 });
  } finally {
    await receiver.close();
  }
});

test('signed webhook: verifies with the documented recipe; tampered or old deliveries do not', async () => {
  const receiver = await startReceiver();
  const decidedOnly = await startReceiver();
  const notifier = createApprovalNotifier(
    {
      publicUrl: 'https://sidegate.example.com/ops',
      webhooks: [
        { url: `${receiver.base}/hook`, secret: HMAC_SECRET },
        { url: `${decidedOnly.base}/hook`, secret: HMAC_SECRET, events: ['approval.decided'] },
      ],
    },
    captureLog().log,
    FAST,
  );
  try {
    notifier.notify(record());
    notifier.notify(decided());
    const [created, approved] = await receiver.waitFor(2);
    for (const delivery of [created!, approved!]) {
      const timestamp = delivery.headers['x-sidegate-timestamp'] as string;
      const signature = delivery.headers['x-sidegate-signature'] as string;
      // The recipe docs/APPROVALS-NOTIFICATIONS.md gives receivers, written out by hand.
      const expected = createHmac('sha256', HMAC_SECRET).update(`${timestamp}.${delivery.body}`).digest('hex');
      assert.equal(signature, `v1=${expected}`);
      assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 5);
      assert.match(delivery.headers['x-sidegate-delivery'] as string, /^[0-9a-f-]{36}$/);
      assert.deepEqual(verifyWebhookSignature(HMAC_SECRET, { body: delivery.body, timestamp, signature }), { ok: true });
      assert.deepEqual(verifyWebhookSignature(HMAC_SECRET, { body: delivery.body.replace('orders-db', 'audit-db'), timestamp, signature }), { ok: false, reason: 'mismatch' });
      assert.deepEqual(verifyWebhookSignature(HMAC_SECRET, { body: delivery.body, timestamp, signature }, Number(timestamp) + 301), { ok: false, reason: 'stale' });
    }
    assert.notEqual(created!.headers['x-sidegate-delivery'], approved!.headers['x-sidegate-delivery']);
    const event = JSON.parse(created!.body) as ApprovalEvent;
    assert.equal(created!.headers['x-sidegate-event'], 'approval.created');
    assert.equal(event.type, 'approval.created');
    assert.equal(event.approval.url, 'https://sidegate.example.com/ops/approvals/apr-7k2m9q');
    assert.equal(event.approval.statement, record().command, 'the statement as the record has it');
    const decidedEvent = JSON.parse(approved!.body) as ApprovalEvent;
    assert.deepEqual(decidedEvent.approval.approvers, [{ name: 'alice' }]);
    assert.deepEqual(decidedEvent.approval.ci, { repository: 'acme/shop', actor: 'octocat' });
    const [onlyDecided] = await decidedOnly.waitFor(1);
    assert.equal(onlyDecided!.headers['x-sidegate-event'], 'approval.decided');
    await notifier.close();
    assert.equal(decidedOnly.received.length, 1, 'a webhook gets only the events it asked for');
  } finally {
    await receiver.close();
    await decidedOnly.close();
  }
});

test('a 500 is retried with backoff under the same delivery id, freshly signed, until it succeeds', async () => {
  const receiver = await startReceiver((n) => ({ status: n < 2 ? 500 : 204 }));
  const { log } = captureLog();
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', webhooks: [{ url: `${receiver.base}/hook`, secret: HMAC_SECRET }] }, log, FAST);
  try {
    notifier.notify(record());
    const attempts = await receiver.waitFor(3);
    await notifier.close();
    assert.equal(new Set(attempts.map((a) => a.headers['x-sidegate-delivery'])).size, 1);
    for (const a of attempts) {
      const check = verifyWebhookSignature(HMAC_SECRET, { body: a.body, timestamp: a.headers['x-sidegate-timestamp'] as string, signature: a.headers['x-sidegate-signature'] as string });
      assert.deepEqual(check, { ok: true });
    }
    assert.ok(attempts[1]!.at - attempts[0]!.at >= 4, 'the retry waited');
    assert.deepEqual(notifier.counters().total, { sent: 1, retried: 2, failed: 0, dropped: 0, queued: 0 });
  } finally {
    await receiver.close();
  }
});

test('a 429 waits as long as Retry-After says, within the cap', async () => {
  const receiver = await startReceiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', webhooks: [{ url: `${receiver.base}/hook`, secret: HMAC_SECRET }] }, captureLog().log, { ...FAST, backoffMaxMs: 5000 });
  const capped = await startReceiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 }));
  const cappedNotifier = createApprovalNotifier({ publicUrl: 'https://b.example', webhooks: [{ url: `${capped.base}/hook`, secret: HMAC_SECRET }] }, captureLog().log, { ...FAST, backoffMaxMs: 300 });
  try {
    notifier.notify(record());
    cappedNotifier.notify(record());
    const [first, second] = await receiver.waitFor(2);
    const gap = second!.at - first!.at;
    assert.ok(gap >= 950 && gap < 2000, `waited ${gap} ms for Retry-After: 1`);
    const [cappedFirst, cappedSecond] = await capped.waitFor(2);
    const cappedGap = cappedSecond!.at - cappedFirst!.at;
    assert.ok(cappedGap >= 250 && cappedGap < 1000, `waited ${cappedGap} ms for Retry-After: 3600 capped at 300`);
    await Promise.all([notifier.close(), cappedNotifier.close()]);
    assert.deepEqual(notifier.counters().total, { sent: 1, retried: 1, failed: 0, dropped: 0, queued: 0 });
  } finally {
    await receiver.close();
    await capped.close();
  }
});

test('a 400 is not retried: counted as failed and logged with its status', async () => {
  const receiver = await startReceiver(() => ({ status: 400 }));
  const { lines, log } = captureLog();
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', slack: { webhookUrl: receiver.base + SLACK_PATH }, webhooks: [] }, log, FAST);
  try {
    notifier.notify(record());
    await receiver.waitFor(1);
    await notifier.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(receiver.received.length, 1);
    assert.deepEqual(notifier.counters().total, { sent: 0, retried: 0, failed: 1, dropped: 0, queued: 0 });
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'notification not delivered');
    assert.deepEqual({ ...warning, time: undefined, delivery: undefined }, {
      time: undefined,
      level: 'warn',
      msg: 'notification not delivered',
      destination: `slack ${receiver.base}`,
      event: 'approval.created',
      approval: 'apr-7k2m9q',
      delivery: undefined,
      attempts: 1,
      failure: 'HTTP 400',
    });
  } finally {
    await receiver.close();
  }
});

test('a receiver that does not answer in time is cut off and tried again', async () => {
  const receiver = await startReceiver((n) => (n === 0 ? 'hang' : { status: 200 }));
  const { lines, log } = captureLog();
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', webhooks: [{ url: `${receiver.base}/hook`, secret: HMAC_SECRET }] }, log, { ...FAST, attemptTimeoutMs: 300 });
  try {
    notifier.notify(record());
    const [first, second] = await receiver.waitFor(2);
    // The 300 ms run from before the connection was made, so a little less may pass at the receiver.
    const gap = second!.at - first!.at;
    assert.ok(gap >= 250, `the second attempt came ${gap} ms after the first`);
    await notifier.close();
    assert.deepEqual(notifier.counters().total, { sent: 1, retried: 1, failed: 0, dropped: 0, queued: 0 });
    assert.ok(lines.some((l) => l.includes('"failure":"timeout after 300 ms"')));
  } finally {
    await receiver.close();
  }
});

test('a full queue drops its oldest events and counts them; the rest arrive in order', async () => {
  let release: () => void = () => {};
  const released = new Promise<Answer>((resolve) => (release = () => resolve({ status: 200 })));
  // The first request is answered only once the queue has overflowed.
  const receiver = await startReceiver((n) => (n === 0 ? released : { status: 200 }));
  const { lines, log } = captureLog();
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', slack: { webhookUrl: `${receiver.base}/slack` }, webhooks: [] }, log, { ...FAST, maxQueued: 3 });
  try {
    notifier.notify(record({ id: 'apr-aaaaa1' }));
    await receiver.waitFor(1);
    for (const n of [2, 3, 4, 5, 6]) notifier.notify(record({ id: `apr-aaaaa${n}` }));
    assert.deepEqual(notifier.counters().total, { sent: 0, retried: 0, failed: 0, dropped: 2, queued: 3 });
    const dropped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'notification dropped');
    assert.deepEqual(dropped.map((l) => [l['approval'], l['why']]), [['apr-aaaaa2', 'queue full'], ['apr-aaaaa3', 'queue full']]);
    release();
    const arrived = await receiver.waitFor(4);
    assert.deepEqual(arrived.map((r) => (JSON.parse(r.body) as SlackMessage).text.split(' ')[2]), ['apr-aaaaa1', 'apr-aaaaa4', 'apr-aaaaa5', 'apr-aaaaa6']);
    await notifier.close();
    assert.deepEqual(notifier.counters().total, { sent: 4, retried: 0, failed: 0, dropped: 2, queued: 0 });
  } finally {
    release();
    await receiver.close();
  }
});

test('close sends what is queued before its deadline', async () => {
  const slow = () => new Promise<Answer>((resolve) => setTimeout(() => resolve({ status: 200 }), 100));
  const receiver = await startReceiver(slow);
  const notifier = createApprovalNotifier({ publicUrl: 'https://b.example', webhooks: [{ url: `${receiver.base}/hook`, secret: HMAC_SECRET }] }, captureLog().log, FAST);
  try {
    for (const n of [1, 2, 3]) notifier.notify(record({ id: `apr-bbbbb${n}` }));
    await notifier.close(5000);
    assert.equal(receiver.received.length, 3);
    assert.deepEqual(notifier.counters().total, { sent: 3, retried: 0, failed: 0, dropped: 0, queued: 0 });
  } finally {
    await receiver.close();
  }
});

test('enqueue returns at once while the receiver hangs; close cuts off at its deadline', async () => {
  const receiver = await startReceiver(() => 'hang');
  const { lines, log } = captureLog();
  const notifier = createApprovalNotifier(
    { publicUrl: 'https://b.example', slack: { webhookUrl: receiver.base + SLACK_PATH }, webhooks: [{ url: `${receiver.base}/hook`, secret: HMAC_SECRET }] },
    log,
    { ...FAST, attemptTimeoutMs: 60_000 },
  );
  try {
    notifier.notify(record());
    await receiver.waitFor(2);
    const started = performance.now();
    for (let i = 0; i < 200; i++) notifier.notify(decided(`apr-${i}`));
    const took = performance.now() - started;
    assert.ok(took < 200, `200 notifications took ${took.toFixed(1)} ms to queue`);
    const closing = performance.now();
    await notifier.close(300);
    const closeTook = performance.now() - closing;
    assert.ok(closeTook >= 250 && closeTook < 2000, `close took ${closeTook.toFixed(0)} ms with a 300 ms deadline`);
    // Per destination: the hung first event failed, the 200 queued behind it were dropped.
    assert.deepEqual(notifier.counters().total, { sent: 0, retried: 0, failed: 2, dropped: 400, queued: 0 });
    assert.equal(lines.filter((l) => l.includes('notifications dropped at shutdown') && l.includes('"count":200')).length, 2);
    notifier.notify(record());
    assert.equal(notifier.counters().total.dropped, 402, 'after close, events are dropped, not sent');
  } finally {
    await receiver.close();
  }
});

test('no log line names a webhook URL path or query, or a secret, whatever fails', async () => {
  const receiver = await startReceiver((n) => (n % 3 === 0 ? { status: 503 } : n % 3 === 1 ? 'hang' : { status: 401 }));
  const refusing = await startReceiver();
  const closedUrl = refusing.base;
  await refusing.close();
  const { lines, log } = captureLog();
  const notifier = createApprovalNotifier(
    {
      publicUrl: 'https://b.example',
      slack: { webhookUrl: receiver.base + SLACK_PATH },
      webhooks: [
        { url: `${receiver.base}/hooks/webhookPathSecret?key=webhookQuerySecret`, secret: HMAC_SECRET },
        { url: `${closedUrl}/gone/refusedPathSecret`, secret: HMAC_SECRET },
      ],
    },
    log,
    { ...FAST, attemptTimeoutMs: 200, maxAttempts: 3 },
  );
  try {
    notifier.notify(record());
    notifier.notify(decided());
    await notifier.close(5000);
    const counts = notifier.counters();
    assert.equal(counts.total.sent, 0);
    assert.equal(counts.total.failed, 6);
    assert.ok(lines.length >= 6, `${lines.length} lines`);
    assert.ok(lines.some((l) => l.includes('ECONNREFUSED')), 'a refused connection is logged by its code');
    assert.ok(lines.some((l) => l.includes('HTTP 503')) && lines.some((l) => l.includes('timeout after 200 ms')));
    for (const line of lines) {
      for (const secret of ['slackSecretPathXyz', 'services/T0123', 'querySecret', 'webhookPathSecret', 'webhookQuerySecret', 'refusedPathSecret', HMAC_SECRET]) {
        assert.ok(!line.includes(secret), `a log line holds ${secret}: ${line}`);
      }
    }
    assert.deepEqual(counts.destinations.map((d) => d.destination), [`slack ${receiver.base}`, `webhook ${receiver.base}`, `webhook ${closedUrl}`]);
  } finally {
    await receiver.close();
  }
});
