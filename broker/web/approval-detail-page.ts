// One request, shown as exactly what will run: the full statement and every parameter as the
// requester bound them (the binding hash covers these and nothing else), the target, the rule
// that asked, who asked from which CI run, the votes so far, and the approve / deny form while it
// is pending. Pure: record, clock and session in, HTML out; every string from the record escaped.
import { escapeHtml, httpUrlOrUndefined } from './html-escape.js';
import { csrfField } from './page-layout.js';
import { approvalsSoFar, ciOf, formatDuration, thresholdOf, voterName, votesOf } from './shown-approval.js';
import type { ShownApproval, WebSession } from './web-deps.js';

/** Most characters of a reason the form accepts (the API's bound). */
export const MAX_REASON_CHARS = 2000;

export interface ApprovalDetailView {
  record: ShownApproval;
  now: number;
  session: WebSession;
  notice?: { kind: 'error' | 'ok'; text: string };
  /** The reason the approver typed, kept when the decision failed. */
  reason?: string;
}

/** CI claims in the order an approver reads them, with their labels. */
const CI_FIELDS: [key: string, label: string][] = [
  ['system', 'CI system'],
  ['repository', 'Repository'],
  ['ref', 'Ref'],
  ['workflow', 'Workflow'],
  ['pipeline', 'Pipeline'],
  ['job', 'Job'],
  ['runId', 'Run'],
  ['runUrl', 'Run URL'],
  ['commit', 'Commit'],
  ['actor', 'Actor'],
  ['environment', 'Environment'],
];

export function renderApprovalDetail(view: ApprovalDetailView): string {
  const r = view.record;
  const notice = view.notice ? `<p class="notice ${view.notice.kind}" id="notice" role="alert">${escapeHtml(view.notice.text)}</p>` : '';
  return `<h1>Request <code>${escapeHtml(r.id)}</code> <span class="status status-${escapeHtml(r.status)}" id="status">${escapeHtml(r.status)}</span></h1>
${notice}
<h2>What will run</h2>
<dl id="what">
${item('Target', escapeHtml(r.target), 'target')}
${item('Protocol', escapeHtml(r.protocol))}
${item('Rule', escapeHtml(r.rule), 'rule')}
${item('Binding hash', `<code>${escapeHtml(r.hash)}</code>`, 'hash')}
${item('Session', escapeHtml(r.sessionId))}
</dl>
<h2>Statement</h2>
${r.commandEscaped ? '<p class="muted">The statement is not valid UTF-8: bytes from 0x80 are shown as \\xNN.</p>' : ''}
<pre class="statement" id="statement">${escapeHtml(r.command)}</pre>
${r.context ? `<h2>Also runs</h2><pre id="context">${escapeHtml(r.context)}</pre>` : ''}
${parametersSection(r)}
<h2>Who asked</h2>
<dl id="requester">
${item('Subject', escapeHtml(r.requester.subject), 'requester-subject')}
${item('Issuer', escapeHtml(r.requester.issuer))}
${r.requester.identities.length ? item('Also known as', escapeHtml(r.requester.identities.join(', '))) : ''}
${ciItems(r)}
</dl>
<h2>Approval</h2>
${approvalSection(r, view.now)}
${r.status === 'pending' ? decisionForm(r, view.session, view.reason) : ''}
<p><a href="/">All requests</a></p>`;
}

function item(label: string, html: string, id?: string): string {
  return `<dt>${escapeHtml(label)}</dt><dd${id ? ` id="${id}"` : ''}>${html}</dd>`;
}

function parametersSection(r: ShownApproval): string {
  const params = r.parameters ?? [];
  if (params.length === 0 && !r.parametersOmitted) return '';
  const rows = params.map(
    (p) => `<tr>
<td>$${p.position}</td>
<td>${escapeHtml(p.format)}</td>
<td>${p.typeOid === 0 ? '<span class="muted">inferred</span>' : p.typeOid}</td>
<td class="preview">${p.value === null ? '<span class="null">NULL</span>' : escapeHtml(p.value)}</td>
<td>${p.hex ? '<span class="flag">hex</span>' : ''}</td>
<td>${p.bytes}</td>
<td>${p.truncated ? '<span class="flag">truncated</span>' : ''}</td>
</tr>`,
  );
  const omitted = r.parametersOmitted ? `<p class="notice error">${r.parametersOmitted} more parameters are not listed here (the binding hash covers them).</p>` : '';
  return `<h2>Parameters</h2>
<table id="parameters"><thead><tr><th>Position</th><th>Format</th><th>Type OID</th><th>Value</th><th>Hex</th><th>Bytes</th><th>Truncated</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${omitted}`;
}

function ciItems(r: ShownApproval): string {
  const ci = ciOf(r);
  return CI_FIELDS.filter(([key]) => ci[key] !== undefined)
    .map(([key, label]) => {
      const value = ci[key] as string;
      if (key !== 'runUrl') return item(label, escapeHtml(value), `ci-${key}`);
      const href = httpUrlOrUndefined(value);
      const html = href ? `<a href="${escapeHtml(href)}" rel="noreferrer noopener">${escapeHtml(value)}</a>` : escapeHtml(value);
      return item(label, html, 'ci-runUrl');
    })
    .join('\n');
}

function approvalSection(r: ShownApproval, now: number): string {
  const expires = Date.parse(r.expiresAt);
  const votes = votesOf(r);
  const voteRows = votes.map(
    (v) => `<tr><td>${escapeHtml(voterName(v))}</td><td>${escapeHtml(v.verdict ?? 'approved')}</td><td>${escapeHtml(v.reason ?? '')}</td><td>${escapeHtml(v.at ?? '')}</td></tr>`,
  );
  const groups = r.groups ?? [];
  return `<dl id="approval">
${item('Approvals', `${approvalsSoFar(r)} of ${thresholdOf(r)} needed`, 'votes-count')}
${r.approvers.length ? item('Approvers', escapeHtml(r.approvers.join(', '))) : ''}
${groups.length ? item('Approver groups', escapeHtml(groups.join(', '))) : ''}
${item('Asked', `${escapeHtml(r.createdAt)} <span class="muted">(${escapeHtml(formatDuration(now - Date.parse(r.createdAt)))} ago)</span>`)}
${item(r.status === 'pending' ? 'Expires' : 'Would have expired', `${escapeHtml(r.expiresAt)}${r.status === 'pending' ? ` <span class="muted">(in ${escapeHtml(formatDuration(expires - now))})</span>` : ''}`)}
${r.decidedBy ? item('Decided by', escapeHtml(r.decidedBy), 'decided-by') : ''}
${r.decidedAt ? item('Decided at', escapeHtml(r.decidedAt)) : ''}
${r.reason ? item('Reason', escapeHtml(r.reason), 'reason') : ''}
${r.consumedAt ? item('Ran at', escapeHtml(r.consumedAt)) : ''}
</dl>
${votes.length ? `<table id="votes"><thead><tr><th>Approver</th><th>Vote</th><th>Reason</th><th>At</th></tr></thead><tbody>${voteRows.join('\n')}</tbody></table>` : ''}`;
}

function decisionForm(r: ShownApproval, session: WebSession, reason = ''): string {
  return `<form class="decision" method="post" action="/approvals/${encodeURIComponent(r.id)}/decision">
${csrfField(session)}
<label for="reason">Reason (recorded with your name, <strong>${escapeHtml(session.approver.name)}</strong>)</label>
<textarea id="reason" name="reason" required maxlength="${MAX_REASON_CHARS}">${escapeHtml(reason)}</textarea>
<button type="submit" name="verdict" value="approved" class="approve">Approve</button>
<button type="submit" name="verdict" value="denied" class="deny">Deny</button>
</form>`;
}
