import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalEvent } from './approval-event.js';
import { slackMessage } from './slack-message.js';

const created: ApprovalEvent = {
  type: 'approval.created',
  occurredAt: '2025-01-01T10:00:00.000Z',
  approval: {
    id: 'apr-7k2m9q',
    url: 'https://sidegate.example.com/approvals/apr-7k2m9q',
    status: 'pending',
    target: 'orders-db',
    protocol: 'postgres',
    rule: 'deletes-need-approval',
    statement: "DELETE FROM orders WHERE note = '<!channel> <https://evil.example|login here> & more'",
    requester: { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/shop:ref:refs/heads/main', identities: ['acme/shop'] },
    ci: { repository: 'acme/shop', job: 'deploy', actor: '<@U999>', runUrl: 'https://github.com/acme/shop/actions/runs/7' },
    createdAt: '2025-01-01T10:00:00.000Z',
    expiresAt: '2025-01-01T10:10:00.000Z',
    approvers: [],
  },
};

/** Every mrkdwn string of a message, the fallback text included. */
function mrkdwnTexts(message: ReturnType<typeof slackMessage>): string[] {
  const texts = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'section') texts.push(block.text.text, ...(block.fields ?? []).map((f) => f.text));
    if (block.type === 'context') texts.push(...block.elements.map((e) => e.text));
  }
  return texts;
}

test('a created request: headline, page link, target, rule, requester, statement and CI context', () => {
  const message = slackMessage(created);
  assert.equal(message.blocks[0]!.type, 'header');
  assert.deepEqual(message.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'Approval requested: apr-7k2m9q' } });
  const texts = mrkdwnTexts(message).join('\n');
  assert.match(texts, /<https:\/\/sidegate\.example\.com\/approvals\/apr-7k2m9q\|Open apr-7k2m9q on the approvals page>/);
  assert.match(texts, /\*Target\*\norders-db \(postgres\)/);
  assert.match(texts, /\*Rule\*\ndeletes-need-approval/);
  assert.match(texts, /repository \*acme\/shop\*/);
  assert.match(texts, /<https:\/\/github\.com\/acme\/shop\/actions\/runs\/7\|CI run>/);
  assert.match(message.text, /^Approval requested: apr-7k2m9q on orders-db, rule deletes-need-approval, requested by &lt;@U999&gt;$/);
});

test('user-controlled text cannot link or mention: the only links are the page and the CI run', () => {
  const texts = mrkdwnTexts(slackMessage(created));
  const links = texts.flatMap((t) => [...t.matchAll(/<([^>]*)>/g)].map((m) => m[1]!));
  assert.deepEqual(links.sort(), ['https://github.com/acme/shop/actions/runs/7|CI run', 'https://sidegate.example.com/approvals/apr-7k2m9q|Open apr-7k2m9q on the approvals page']);
  const all = texts.join('\n');
  assert.match(all, /&lt;!channel&gt; &lt;https:\/\/evil\.example\|login here&gt; &amp; more/);
  assert.match(all, /actor \*&lt;@U999&gt;\*/);
});

test('a long statement is cut to fit Slack with a marker counting what is missing', () => {
  const statement = `SELECT '${'<'.repeat(5000)}'`;
  const message = slackMessage({ ...created, approval: { ...created.approval, statement, statementOmitted: 7 } });
  const section = message.blocks.find((b) => b.type === 'section' && b.text.text.startsWith('```'));
  assert.ok(section && section.type === 'section');
  assert.ok(section.text.text.length <= 3000, `section is ${section.text.text.length} characters`);
  const shownChars = section.text.text.split('\n')[1]!.replace(/&lt;/g, '<').length;
  assert.match(section.text.text, new RegExp(`_… statement truncated: ${statement.length - shownChars + 7} more characters on the approvals page_$`));
  assert.ok(!/&[a-z]*\n/.test(section.text.text), 'no entity is cut');
});

test('a decided request names its approvers and reason; expired and cancelled say so', () => {
  const approved = slackMessage({
    ...created,
    type: 'approval.decided',
    approval: { ...created.approval, status: 'approved', approvers: [{ name: 'alice', decision: 'approve' }, { name: 'bob<script>', decision: 'approve' }], reason: 'OPS-1 <b>' },
  });
  assert.equal((approved.blocks[0] as { text: { text: string } }).text.text, 'Approved: apr-7k2m9q');
  const decision = approved.blocks.at(-1)!;
  assert.deepEqual(decision, { type: 'section', text: { type: 'mrkdwn', text: '*Approved by* alice, bob&lt;script&gt;\n*Reason:* OPS-1 &lt;b&gt;' } });
  const denied = slackMessage({ ...created, type: 'approval.decided', approval: { ...created.approval, status: 'denied', approvers: [{ name: 'carol' }] } });
  assert.deepEqual(denied.blocks.at(-1), { type: 'section', text: { type: 'mrkdwn', text: '*Denied by* carol' } });
  const expired = slackMessage({ ...created, type: 'approval.decided', approval: { ...created.approval, status: 'expired' } });
  assert.match(expired.text, /^Expired: nobody decided in time: apr-7k2m9q/);
  const cancelled = slackMessage({ ...created, type: 'approval.decided', approval: { ...created.approval, status: 'cancelled', reason: 'client went away' } });
  assert.match(cancelled.text, /^Cancelled by the requester/);
  assert.deepEqual(cancelled.blocks.at(-1), { type: 'section', text: { type: 'mrkdwn', text: '*Reason:* client went away' } });
});

test('a CI run URL that is not http(s) is shown as text, never linked', () => {
  const texts = mrkdwnTexts(slackMessage({ ...created, approval: { ...created.approval, ci: { runUrl: 'javascript:alert(1)' } } })).join('\n');
  assert.ok(!texts.includes('javascript'), 'the URL itself is not shown');
  assert.match(texts, /CI run/);
});
