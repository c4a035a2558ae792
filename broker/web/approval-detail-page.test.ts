import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderApprovalDetail } from './approval-detail-page.js';
import { HOSTILE, sampleApproval } from './sample-approval.test.js';
import type { WebSession } from './web-deps.js';

const session: WebSession = { approver: { issuer: 'https://id.example', subject: 'u1', name: 'alice', groups: ['dba'] }, csrfToken: 'tok-123' };
const render = (over = {}, extra = {}) => renderApprovalDetail({ record: sampleApproval(over), now: Date.now(), session, ...extra });

test('the detail shows exactly what will run: statement, every parameter, target, rule, hash', () => {
  const html = render();
  assert.match(html, /<pre class="statement" id="statement">DELETE FROM orders WHERE id = \$1 AND note = \$2<\/pre>/);
  assert.match(html, /<dd id="target">orders-db<\/dd>/);
  assert.match(html, /<dd id="rule">deletes-need-approval<\/dd>/);
  assert.match(html, new RegExp(`<code>sha256:${'ab'.repeat(32)}</code>`));
  assert.match(html, /<td>\$1<\/td>\s*<td>text<\/td>\s*<td>23<\/td>\s*<td class="preview">42<\/td>\s*<td><\/td>\s*<td>2<\/td>\s*<td><\/td>/);
  assert.match(html, /<td>\$2<\/td>\s*<td>binary<\/td>\s*<td><span class="muted">inferred<\/span><\/td>\s*<td class="preview">deadbeef<\/td>\s*<td><span class="flag">hex<\/span><\/td>\s*<td>300<\/td>\s*<td><span class="flag">truncated<\/span><\/td>/);
  assert.match(html, /<td>\$3<\/td>[\s\S]*?<span class="null">NULL<\/span>/);
});

test('who asked: requester and CI context, the run URL a link only when http(s)', () => {
  const html = render();
  assert.match(html, /<dd id="requester-subject">repo:acme\/api:ref:refs\/heads\/main<\/dd>/);
  for (const [key, value] of [['repository', 'acme/api'], ['workflow', 'deploy'], ['job', 'migrate'], ['commit', 'c0ffee'], ['actor', 'carol']]) {
    assert.match(html, new RegExp(`<dd id="ci-${key}">${value}</dd>`));
  }
  assert.match(html, /<dd id="ci-runUrl"><a href="https:\/\/github.com\/acme\/api\/actions\/runs\/991" rel="noreferrer noopener">/);
  const hostileUrl = render({ ci: { runUrl: 'javascript:alert(1)' } });
  assert.match(hostileUrl, /<dd id="ci-runUrl">javascript:alert\(1\)<\/dd>/);
  assert.equal(hostileUrl.includes('href="javascript'), false);
});

test('votes so far against the threshold; the form only while pending', () => {
  const html = render({ votes: [{ approver: { name: 'bob', subject: 'u2' }, verdict: 'approved', reason: 'ok', at: '2025-01-01T00:00:00Z' }] });
  assert.match(html, /<dd id="votes-count">1 of 2 needed<\/dd>/);
  assert.match(html, /<table id="votes">[\s\S]*<td>bob<\/td><td>approved<\/td><td>ok<\/td>/);
  assert.match(html, /<form class="decision" method="post" action="\/approvals\/apr-abc234\/decision">/);
  assert.match(html, /<input type="hidden" name="csrf" value="tok-123">/);
  const decided = render({ status: 'approved', decidedBy: 'bob', reason: 'fine', decidedAt: new Date().toISOString() });
  assert.equal(decided.includes('<form class="decision"'), false);
  assert.match(decided, /<dd id="decided-by">bob<\/dd>/);
});

test('every string from the record is inert: no element, no attribute escapes', () => {
  const html = render({
    command: HOSTILE,
    target: HOSTILE,
    rule: HOSTILE,
    context: HOSTILE,
    requester: { issuer: HOSTILE, subject: HOSTILE, identities: [HOSTILE] },
    parameters: [{ position: 1, format: 'text', typeOid: 25, value: HOSTILE, bytes: 10 }],
    ci: { repository: HOSTILE, actor: HOSTILE, runUrl: `https://ci.example/"${HOSTILE}` },
    votes: [{ approver: HOSTILE, reason: HOSTILE }],
    groups: [HOSTILE],
    approvers: [HOSTILE],
  }, { reason: `</textarea>${HOSTILE}`, notice: { kind: 'error', text: HOSTILE } });
  assert.equal(html.includes('<img'), false);
  assert.equal(html.includes('<script'), false);
  assert.equal(html.includes('</textarea><'), false);
  assert.equal(/onerror="/.test(html), false);
  assert.ok(html.includes('&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;'));
});
