// Expiry is announced like a decision: a real broker (embedded store) whose request nobody
// decides, with a Slack receiver and a signed-webhook receiver on 127.0.0.1. The expiry comes from
// the store's own timer, with no requester call to trigger it, and is sent once — the requester's
// cancel after its timeout (what hold-client.ts does) announces nothing more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../core/logging/logger.js';
import { startApprovalBroker } from '../server/broker-server.js';
import type { ApprovalEvent } from './approval-event.js';
import { createApprovalNotifier } from './approval-notifier.js';
import type { SlackMessage } from './slack-message.js';
import { verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'hmac-secret-0123456789abcdef0123456789abcdef';
const REQUESTER = 'requester-token-0123456789';
const ADMIN = 'admin-token-0123456789abcdef';

async function receiver() {
  const bodies: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      bodies.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { bodies, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function call(url: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('an undecided request expires on time and Slack and the signed webhook are told once', async () => {
  const slack = await receiver();
  const hook = await receiver();
  const notifier = createApprovalNotifier(
    { publicUrl: 'https://approvals.example.test', slack: { webhookUrl: slack.url }, webhooks: [{ url: hook.url, secret: SECRET }] },
    createLogger({ level: 'error', sink: () => undefined }),
    { attemptTimeoutMs: 2000, backoffBaseMs: 10, backoffMaxMs: 50 },
  );
  const broker = await startApprovalBroker({ requesterToken: REQUESTER, adminToken: ADMIN, notifier });
  try {
    const created = await call(`${broker.url}/v1/approvals`, REQUESTER, {
      requester: { subject: 'repo:acme/shop', issuer: 'https://token.actions.githubusercontent.com', identities: [], ci: { actor: 'octocat' } },
      target: 'orders-db',
      protocol: 'postgres',
      command: 'DELETE FROM orders',
      hash: `sha256:${'d'.repeat(64)}`,
      rule: 'deletes-need-approval',
      sessionId: 's-1',
      timeoutMs: 300,
    });
    assert.equal(created.status, 201);
    const id = String(created.json['id']);
    for (let i = 0; i < 100 && (slack.bodies.length < 2 || hook.bodies.length < 2); i++) await new Promise((r) => setTimeout(r, 20));
    const expired = JSON.parse(hook.bodies[1]!.body) as ApprovalEvent;
    assert.equal(hook.bodies[1]!.headers['x-sidegate-event'], 'approval.decided');
    assert.deepEqual([expired.type, expired.approval.id, expired.approval.status, expired.approval.reason], ['approval.decided', id, 'expired', 'no decision before the timeout']);
    assert.deepEqual(expired.approval.approvers, [], 'nobody decided an expiry');
    const h = hook.bodies[1]!;
    assert.deepEqual(verifyWebhookSignature(SECRET, { body: h.body, timestamp: String(h.headers['x-sidegate-timestamp']), signature: String(h.headers['x-sidegate-signature']) }), { ok: true });
    const message = JSON.parse(slack.bodies[1]!.body) as SlackMessage;
    assert.match(message.text, new RegExp(`^Expired: nobody decided in time: ${id} on orders-db`));

    // The sidecar stops waiting and cancels: the record stays expired and nothing more is sent.
    const cancelled = await call(`${broker.url}/v1/approvals/${id}/cancel`, REQUESTER, { reason: 'the requester stopped waiting after the timeout' });
    assert.equal(cancelled.json['status'], 'expired');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([slack.bodies.length, hook.bodies.length], [2, 2], 'the expiry is announced once');
  } finally {
    await broker.close();
    await notifier.close();
    await slack.close();
    await hook.close();
  }
});
