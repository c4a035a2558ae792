// The page an approver lands on: what is waiting for a decision, longest waiting first, with
// enough context to pick one (target, rule, who asked, which CI run, the statement's start), and
// what was decided lately. Pure: records and the clock in, HTML out.
import { escapeHtml } from './html-escape.js';
import { approvalsSoFar, ciOf, formatDuration, statementPreview, thresholdOf } from './shown-approval.js';
import type { ShownApproval } from './web-deps.js';

export interface ApprovalListView {
  pending: ShownApproval[];
  recent: ShownApproval[];
  now: number;
}

export function renderApprovalList(view: ApprovalListView): string {
  return `<h1>Waiting for a decision <span class="muted">(${view.pending.length})</span></h1>
${view.pending.length ? pendingTable(view.pending, view.now) : '<p class="muted" id="none-pending">Nothing is waiting.</p>'}
<p><a href="/">Refresh</a></p>
<h2>Recent decisions</h2>
${view.recent.length ? recentTable(view.recent, view.now) : '<p class="muted">No decisions yet.</p>'}`;
}

function pendingTable(records: ShownApproval[], now: number): string {
  const rows = records.map((r) => {
    const age = now - Date.parse(r.createdAt);
    const left = Date.parse(r.expiresAt) - now;
    return `<tr class="pending" data-id="${escapeHtml(r.id)}">
<td>${idLink(r)}</td>
<td>${escapeHtml(formatDuration(age))}<br><span class="muted">expires in ${escapeHtml(formatDuration(left))}</span></td>
<td>${escapeHtml(r.target)}</td>
<td>${escapeHtml(r.rule)}</td>
<td>${requesterCell(r)}</td>
<td>${ciCell(r)}</td>
<td class="preview">${escapeHtml(statementPreview(r.command))}</td>
<td>${approvalsSoFar(r)} / ${thresholdOf(r)}</td>
</tr>`;
  });
  return `<table id="pending"><thead><tr><th>Request</th><th>Waiting</th><th>Target</th><th>Rule</th><th>Requester</th><th>CI</th><th>Statement</th><th>Approvals</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function recentTable(records: ShownApproval[], now: number): string {
  const rows = records.map((r) => {
    const when = r.decidedAt ? `${formatDuration(now - Date.parse(r.decidedAt))} ago` : '';
    return `<tr class="decided" data-id="${escapeHtml(r.id)}">
<td>${idLink(r)}</td>
<td><span class="status status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</span></td>
<td>${escapeHtml(when)}</td>
<td>${escapeHtml(r.decidedBy ?? '')}</td>
<td>${escapeHtml(r.target)}</td>
<td class="preview">${escapeHtml(statementPreview(r.command, 80))}</td>
<td>${escapeHtml(r.reason ?? '')}</td>
</tr>`;
  });
  return `<table id="recent"><thead><tr><th>Request</th><th>Outcome</th><th>When</th><th>By</th><th>Target</th><th>Statement</th><th>Reason</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function idLink(r: ShownApproval): string {
  return `<a href="/approvals/${encodeURIComponent(r.id)}">${escapeHtml(r.id)}</a>`;
}

function requesterCell(r: ShownApproval): string {
  return `<span title="${escapeHtml(r.requester.issuer)}">${escapeHtml(r.requester.subject)}</span>`;
}

function ciCell(r: ShownApproval): string {
  const ci = ciOf(r);
  const parts = [ci.repository, ci.job ?? ci.workflow ?? ci.pipeline, ci.actor && `by ${ci.actor}`].filter((p): p is string => Boolean(p));
  return parts.map(escapeHtml).join('<br>');
}
