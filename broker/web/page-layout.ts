// The frame every approval page shares: one inline stylesheet (allowed by its hash in the
// Content-Security-Policy, so no script and no other style can run), the signed-in approver and
// a sign-out form. No script at all: the page works with JavaScript disabled.
import { createHash } from 'node:crypto';
import { escapeHtml } from './html-escape.js';
import type { WebSession } from './web-deps.js';

const STYLESHEET = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{display:flex;gap:1em;align-items:center;justify-content:space-between;padding:.6em 1.2em;background:#1b1f24;color:#fff}
header a{color:#fff;font-weight:600;text-decoration:none}
header form{display:inline}
main{padding:1em 1.2em;max-width:80em}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d5d9de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eceff2;font-weight:600}
td:first-child{white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;padding:.6em;border:1px solid #d5d9de}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
pre,code{font:13px/1.4 ui-monospace,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #d5d9de;padding:.6em;margin:0}
pre.statement{border-left:4px solid #b35900}
.preview{font:13px ui-monospace,monospace;overflow-wrap:anywhere}
.null{color:#6a737d;font-style:italic}
.flag{display:inline-block;padding:0 .4em;border-radius:.3em;background:#fff1d6;color:#6b3d00;font-size:.85em}
.status{display:inline-block;padding:.05em .5em;border-radius:.3em;font-weight:600}
.status-pending{background:#fff1d6}.status-approved{background:#d8f5dd}.status-denied{background:#fde0e0}
.status-expired,.status-cancelled{background:#e6e8eb}
.notice{padding:.6em;border:1px solid;margin:1em 0}
.notice.error{background:#fde0e0;border-color:#c62828}
.notice.ok{background:#d8f5dd;border-color:#2e7d32}
form.decision{background:#fff;border:1px solid #d5d9de;padding:.8em;margin-top:1em}
textarea{width:100%;box-sizing:border-box;min-height:4em;font:inherit}
button{font:inherit;padding:.3em 1em;margin:.4em .4em 0 0;cursor:pointer}
button.approve{background:#2e7d32;color:#fff;border:0}
button.deny{background:#c62828;color:#fff;border:0}
.muted{color:#6a737d}
`;

/** The CSP source that allows exactly STYLESHEET. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;

export interface PageFrame {
  title: string;
  /** Already-rendered, already-escaped HTML. */
  body: string;
  session?: WebSession;
}

export function renderPage(frame: PageFrame): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(frame.title)} · sidegate approvals</title><style>${STYLESHEET}</style></head>
<body><header><a href="/">sidegate approvals</a>${frame.session ? signedIn(frame.session) : ''}</header>
<main>${frame.body}</main></body></html>
`;
}

function signedIn(session: WebSession): string {
  const { name, groups } = session.approver;
  const groupText = groups.length ? ` <span class="muted">(${escapeHtml(groups.join(', '))})</span>` : '';
  return `<span>Signed in as <strong class="approver">${escapeHtml(name)}</strong>${groupText}
<form method="post" action="/logout">${csrfField(session)}<button type="submit">Sign out</button></form></span>`;
}

/** The hidden field every POST form of the page carries. */
export function csrfField(session: WebSession): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(session.csrfToken)}">`;
}
