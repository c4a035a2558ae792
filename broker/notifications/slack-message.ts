// The Slack-compatible incoming-webhook message for an approval event: `text` (what the
// notification and clients without blocks show) and Block Kit `blocks`. Every string a requester,
// a token or an approver controls goes through escapeMrkdwn, so a statement cannot add a link or
// mention anyone; the statement is cut to fit Slack's section limit with a marker saying so. The
// page link is the way to the whole request.
import type { ApprovalStatus } from '../api/broker-api-schema.js';
import type { ApprovalEvent, NotifiedCi } from './approval-event.js';
import { boundText } from './bounded-text.js';
import { escapeMrkdwn, escapeMrkdwnBounded, mrkdwnLink } from './slack-mrkdwn.js';

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

type MrkdwnText = { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: MrkdwnText; fields?: MrkdwnText[] }
  | { type: 'context'; elements: MrkdwnText[] };

/** Slack refuses a section text longer than 3000 characters, a field longer than 2000, a header longer than 150. */
const SECTION_CHARS = 3000;
const HEADER_CHARS = 150;
const FIELD_CHARS = 2000;
/** Room the statement's block leaves for the fences and the truncation marker. */
const STATEMENT_CHARS = SECTION_CHARS - 200;

const HEADLINES: Record<ApprovalStatus, string> = {
  pending: 'Approval requested',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired: nobody decided in time',
  cancelled: 'Cancelled by the requester',
};

export function slackMessage(event: ApprovalEvent): SlackMessage {
  const a = event.approval;
  const headline = HEADLINES[a.status];
  const requester = a.ci.actor ?? a.requester.identities[0] ?? a.requester.subject;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: boundText(`${headline}: ${a.id}`, HEADER_CHARS).text } },
    {
      type: 'section',
      text: mrkdwn(mrkdwnLink(a.url, `Open ${a.id} on the approvals page`)),
      fields: [
        field('Target', `${a.target} (${a.protocol})`),
        field('Rule', a.rule),
        field('Requester', `${a.requester.subject} (${a.requester.issuer})`),
        field('Expires', a.expiresAt),
      ],
    },
    statementBlock(a.statement, a.statementOmitted ?? 0),
  ];
  const ci = ciLine(a.ci);
  if (ci) blocks.push({ type: 'context', elements: [mrkdwn(ci)] });
  const decision = decisionText(event);
  if (decision) blocks.push({ type: 'section', text: mrkdwn(decision) });
  return {
    text: escapeMrkdwn(`${headline}: ${a.id} on ${a.target}, rule ${a.rule}, requested by ${requester}`),
    blocks,
  };
}

function statementBlock(statement: string, alreadyOmitted: number): SlackBlock {
  const shown = escapeMrkdwnBounded(statement, STATEMENT_CHARS, { code: true });
  const omitted = shown.omitted + alreadyOmitted;
  const marker = omitted > 0 ? `\n_… statement truncated: ${omitted} more characters on the approvals page_` : '';
  return { type: 'section', text: mrkdwn(`\`\`\`\n${shown.text}\n\`\`\`${marker}`) };
}

const CI_LABELS: Array<[keyof NotifiedCi, string]> = [
  ['repository', 'repository'],
  ['workflow', 'workflow'],
  ['pipeline', 'pipeline'],
  ['job', 'job'],
  ['ref', 'ref'],
  ['commit', 'commit'],
  ['actor', 'actor'],
  ['environment', 'environment'],
];

function ciLine(ci: NotifiedCi): string {
  const parts = CI_LABELS.flatMap(([key, label]) => (ci[key] ? [`${label} *${escapeMrkdwn(ci[key])}*`] : []));
  if (ci.runUrl) parts.push(mrkdwnLink(ci.runUrl, 'CI run'));
  return bounded(parts.join(' · '), FIELD_CHARS);
}

function decisionText(event: ApprovalEvent): string | undefined {
  const a = event.approval;
  if (a.status === 'pending') return undefined;
  const lines: string[] = [];
  const approved = a.approvers.filter((p) => p.decision !== 'deny');
  const denied = a.approvers.filter((p) => p.decision === 'deny');
  const names = (list: typeof a.approvers) => list.map((p) => escapeMrkdwn(p.name)).join(', ');
  if (a.status === 'approved' && approved.length > 0) lines.push(`*Approved by* ${names(approved)}`);
  if (a.status === 'denied') lines.push(`*Denied by* ${names(denied.length > 0 ? denied : a.approvers) || 'the broker'}`);
  if (a.reason) lines.push(`*Reason:* ${escapeMrkdwn(a.reason)}`);
  return lines.length > 0 ? bounded(lines.join('\n'), SECTION_CHARS) : undefined;
}

function field(label: string, value: string): MrkdwnText {
  return mrkdwn(`*${label}*\n${escapeMrkdwnBounded(value, FIELD_CHARS - label.length - 10).text}`);
}

function mrkdwn(text: string): MrkdwnText {
  return { type: 'mrkdwn', text };
}

// Escaped text cut at a whole line element: only reached with absurd claims, so a plain cut will do,
// as long as it does not split an entity or a link.
function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const safe = cut.replace(/<[^>]*$/, '').replace(/&[a-z]*$/, '');
  return `${safe}…`;
}
