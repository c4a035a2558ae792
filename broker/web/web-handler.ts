// The broker's approval page: mounted by the broker's HTTP server for every path outside /v1/.
//
//   GET  /                            pending requests and recent decisions      (signed in)
//   GET  /approvals/:id               one request: exactly what will run          (signed in)
//   POST /approvals/:id/decision      csrf, verdict=approved|denied, reason       (signed in)
//   GET  /login?next=/path            starts the OIDC login
//   GET  /auth/callback               the OIDC provider's redirect back
//   POST /logout                      csrf
//
// A visit without a session is sent to /login; a POST without one is refused (its body would be
// lost on the way). Every POST must carry the session's CSRF token and, when the browser names
// the origin it comes from, come from the page's own. The store decides who may decide: the
// page shows what it answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isApprovalId } from '../api/approval-id.js';
import { renderApprovalDetail, MAX_REASON_CHARS, type ApprovalDetailView } from './approval-detail-page.js';
import { renderApprovalList } from './approval-list-page.js';
import { csrfTokenMatches } from './csrf-token.js';
import { escapeHtml } from './html-escape.js';
import { readForm } from './form-body.js';
import { renderPage } from './page-layout.js';
import { redirect, sendHtml } from './page-response.js';
import type { WebDeps, WebSession } from './web-deps.js';
import { HttpError } from '../server/http-json.js';

/** Most requests listed as pending, and as recently decided. */
const PENDING_SHOWN = 200;
const RECENT_SHOWN = 25;

const DONE_NOTICES: Record<string, string> = {
  approved: 'Your approval is recorded.',
  denied: 'Your denial is recorded.',
};


export async function handleWebRequest(req: IncomingMessage, res: ServerResponse, deps: WebDeps): Promise<void> {
  let session: WebSession | undefined;
  try {
    session = await deps.authenticate(req);
    await route(req, res, deps, session);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const { status, message } = shownError(err);
    sendHtml(res, status, renderPage({ title: 'Error', session, body: `<p class="notice error" id="notice" role="alert">${escapeHtml(message)}</p><p><a href="/">All requests</a></p>` }));
  }
}

async function route(req: IncomingMessage, res: ServerResponse, deps: WebDeps, session: WebSession | undefined): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://page');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === '/login') {
    if (only(method, 'GET', res)) await deps.login.start(req, res);
    return;
  }
  if (path === '/auth/callback') {
    if (only(method, 'GET', res)) await deps.login.callback(req, res);
    return;
  }
  if (path === '/logout') {
    if (!only(method, 'POST', res)) return;
    if (!session) return redirect(res, '/');
    await checkedForm(req, deps, session);
    return deps.login.logout(req, res);
  }

  if (path === '/') {
    if (!only(method, 'GET', res)) return;
    if (!session) return redirect(res, loginPath(url));
    const [pending, recent] = await Promise.all([
      deps.store.list({ status: 'pending', limit: PENDING_SHOWN }, session.approver),
      deps.store.list({ status: 'decided', limit: RECENT_SHOWN }, session.approver),
    ]);
    return sendHtml(res, 200, renderPage({ title: 'Requests', session, body: renderApprovalList({ pending, recent, now: Date.now() }) }));
  }

  const match = /^\/approvals\/([^/]+)(\/decision)?$/.exec(path);
  if (!match) throw new HttpError(404, 'There is no such page.');
  // Ids are checked before lookup so nothing a visitor invents is echoed back or reaches the store.
  const id = match[1] as string;
  if (!isApprovalId(id)) throw new HttpError(404, 'There is no such request.');

  if (!match[2]) {
    if (!only(method, 'GET', res)) return;
    if (!session) return redirect(res, loginPath(url));
    const done = DONE_NOTICES[url.searchParams.get('done') ?? ''];
    return showDetail(res, 200, deps, { record: await deps.store.get(id, session.approver), now: Date.now(), session, notice: done ? { kind: 'ok', text: done } : undefined });
  }

  if (!only(method, 'POST', res)) return;
  if (!session) throw new HttpError(401, 'You are not signed in (or your session ended). Sign in and try again.');
  const form = await checkedForm(req, deps, session);
  const verdict = form.get('verdict');
  if (verdict !== 'approved' && verdict !== 'denied') throw new HttpError(400, 'Choose approve or deny.');
  const reason = (form.get('reason') ?? '').trim();
  const refusal = reasonRefusal(reason);
  if (refusal) return showDetail(res, 400, deps, { record: await deps.store.get(id, session.approver), now: Date.now(), session, notice: { kind: 'error', text: refusal }, reason });
  try {
    await deps.store.decide(id, verdict, session.approver, reason);
  } catch (err) {
    const { status, message } = shownError(err);
    // The refusal is shown on the request itself, with what the approver typed kept.
    return showDetail(res, status, deps, { record: await deps.store.get(id, session.approver), now: Date.now(), session, notice: { kind: 'error', text: message }, reason });
  }
  return redirect(res, `/approvals/${encodeURIComponent(id)}?done=${verdict}`);
}

function showDetail(res: ServerResponse, status: number, deps: WebDeps, view: ApprovalDetailView): void {
  sendHtml(res, status, renderPage({ title: view.record.id, session: view.session, body: renderApprovalDetail(view) }));
}

/** The form, once it is known to come from this page of this session; else a refusal. */
async function checkedForm(req: IncomingMessage, deps: WebDeps, session: WebSession): Promise<URLSearchParams> {
  // Browsers send `Origin: null` under Referrer-Policy no-referrer; a named other origin is refused.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null' && origin !== new URL(deps.publicUrl).origin) {
    req.resume();
    throw new HttpError(403, 'This form was sent from another site and was refused.');
  }
  const form = await readForm(req);
  if (!form.ok) throw new HttpError(form.status, form.message);
  if (!csrfTokenMatches(session.csrfToken, form.fields.get('csrf') ?? undefined)) {
    throw new HttpError(403, 'This form was not sent from this page of your session and was refused. Reload the page and try again.');
  }
  return form.fields;
}

function reasonRefusal(reason: string): string | undefined {
  if (reason === '') return 'A reason is required: it is recorded with your decision.';
  if (reason.length > MAX_REASON_CHARS) return `A reason is at most ${MAX_REASON_CHARS} characters.`;
  return undefined;
}

/** Where to sign in, and come back to this page afterwards. */
function loginPath(url: URL): string {
  return `/login?next=${encodeURIComponent(url.pathname + url.search)}`;
}

/** Whether the method is the one the path takes; answers 405 when not. */
function only(method: string, allowed: string, res: ServerResponse): boolean {
  if (method === allowed) return true;
  res.setHeader('allow', allowed);
  sendHtml(res, 405, renderPage({ title: 'Method not allowed', body: '<p class="notice error">This page does not take that method.</p>' }));
  return false;
}

/** An error's status and the message an approver may see: a store's or ours, else "internal error". */
function shownError(err: unknown): { status: number; message: string } {
  if (err instanceof Error) {
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return { status, message: err.message };
  }
  return { status: 500, message: 'internal error' };
}
