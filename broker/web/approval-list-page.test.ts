import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderApprovalList } from './approval-list-page.js';
import { HOSTILE, sampleApproval } from './sample-approval.test.js';

test('pending requests with age, target, rule, requester, CI context, preview and votes', () => {
  const record = sampleApproval();
  const html = renderApprovalList({ pending: [record], recent: [], now: Date.parse(record.createdAt) + 185_000 });
  assert.match(html, /<tr class="pending" data-id="apr-abc234">/);
  assert.match(html, /<a href="\/approvals\/apr-abc234">apr-abc234<\/a>/);
  assert.match(html, /<td>3m 05s<br><span class="muted">expires in/);
  assert.match(html, /<td>orders-db<\/td>\s*<td>deletes-need-approval<\/td>/);
  assert.match(html, /title="https:\/\/token.actions.githubusercontent.com">repo:acme\/api:ref:refs\/heads\/main</);
  assert.match(html, /<td>acme\/api<br>migrate<br>by carol<\/td>/);
  assert.match(html, /<td class="preview">DELETE FROM orders WHERE id = \$1 AND note = \$2<\/td>/);
  assert.match(html, /<td>0 \/ 2<\/td>/);
  assert.match(html, /No decisions yet/);
});

test('recent decisions show outcome, who and why; an empty queue says so', () => {
  const decided = sampleApproval({ status: 'denied', decidedBy: 'bob', reason: 'not in a freeze', decidedAt: new Date(Date.now() - 60_000).toISOString() });
  const html = renderApprovalList({ pending: [], recent: [decided], now: Date.now() });
  assert.match(html, /id="none-pending"/);
  assert.match(html, /<span class="status status-denied">denied<\/span><\/td>\s*<td>1m 0\ds ago<\/td>\s*<td>bob<\/td>/);
  assert.match(html, /<td>not in a freeze<\/td>/);
});

test('hostile strings stay text in the list, attributes included', () => {
  const record = sampleApproval({ command: HOSTILE, target: HOSTILE, rule: HOSTILE, requester: { issuer: HOSTILE, subject: HOSTILE, identities: [] }, ci: { repository: HOSTILE, actor: HOSTILE } });
  const html = renderApprovalList({ pending: [record], recent: [{ ...record, status: 'denied', reason: HOSTILE, decidedBy: HOSTILE }], now: Date.now() });
  assert.equal(html.includes('<img'), false);
  assert.equal(html.includes('<script'), false);
  assert.equal(/title="[^"]*"[^>]*onerror/.test(html), false);
});
