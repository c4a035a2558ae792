// The approval broker's HTTP API. Runs in-process in local mode and, unchanged, as a cluster
// service later: sidecars always reach it over HTTP. Two bearer tokens: requesters (sidecars)
// create, wait and cancel; admins (the approvers' CLI) list and decide. Either may read a record.
//
//   POST /v1/approvals                  requester  → 201 { id, status, expiresAt }
//   GET  /v1/approvals?status=&limit=   admin      → { approvals: [...] } oldest first
//   GET  /v1/approvals/:id              any        → record
//   GET  /v1/approvals/:id/wait?timeoutMs=  any    → record once decided, or still pending at timeout
//   POST /v1/approvals/:id/approve|deny admin      { approver, reason? } → record (403/404/409); one vote
//   POST /v1/approvals/:id/cancel       requester  { reason? } → record (also revokes an unused approval)
//   POST /v1/approvals/:id/consume      requester  { hash } → record; once, for the bound hash (409)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApprovalError, type ApprovalStore } from '../store/approval-store.js';
import { openApprovalStore, type ApprovalDatabase } from '../store/open-approval-store.js';
import type { SqlApprovalStoreOptions } from '../store/sql-approval-store.js';
import { staticAdminApprover } from './static-admin-approver.js';
import { isApprovalId } from '../api/approval-id.js';
import { CancelBody, ConsumeBody, CreateApprovalBody, DecideBody, MAX_BODY_BYTES, parseBoundedInt, parseStatusFilter } from '../api/broker-api-schema.js';
import { checkBrokerTokens, roleOf, type BrokerRole, type BrokerTokens } from './bearer-auth.js';
import { HttpError, readJsonBody, sendJson } from './http-json.js';

/** One long-poll lasts at most this long; clients poll again (keeps proxies and timeouts happy). */
export const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_LIST_LIMIT = 200;
const MAX_LIST_LIMIT = 1000;

export interface ApprovalBrokerOptions extends BrokerTokens, SqlApprovalStoreOptions {
  host?: string;
  port?: number;
  /** Where requests are kept; default an in-memory embedded database. */
  database?: ApprovalDatabase;
  /** A store opened by the caller (it stays the caller's to close); `database` is then ignored. */
  store?: ApprovalStore;
}

export interface ApprovalBroker {
  url: string;
  store: ApprovalStore;
  close(): Promise<void>;
}

export async function startApprovalBroker(opts: ApprovalBrokerOptions): Promise<ApprovalBroker> {
  checkBrokerTokens(opts);
  const ownStore = !opts.store;
  const store = opts.store ?? (await openApprovalStore(opts.database, opts));
  const server = http.createServer((req, res) => {
    route(store, opts, req, res).catch((err: unknown) => answerError(res, err));
  });
  server.headersTimeout = 10_000;
  // Long-polls last up to MAX_WAIT_MS; anything much longer is a stuck client.
  server.requestTimeout = MAX_WAIT_MS + 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    if (ownStore) await store.close().catch(() => undefined);
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    store,
    close: async () => {
      // Releasing waiters first answers every open long-poll with the current record.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        if (ownStore) await store.close();
      } finally {
        server.closeAllConnections();
        await closed;
      }
    },
  };
}

async function route(store: ApprovalStore, tokens: BrokerTokens, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const role = roleOf(req.headers.authorization, tokens);
  if (!role) throw new HttpError(401, 'missing or invalid bearer token');
  const url = new URL(req.url ?? '/', 'http://broker');
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'v1' || parts[1] !== 'approvals' || parts.length > 4) throw new HttpError(404, 'not found');
  const [, , id, action] = parts;
  const method = req.method ?? 'GET';

  if (id === undefined) {
    if (method === 'POST') {
      need(role, 'requester', 'creating approvals needs the requester token');
      const body = CreateApprovalBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
      if (!body.success) throw new HttpError(400, `invalid approval request: ${firstIssue(body.error)}`);
      const created = await store.create(body.data);
      return sendJson(res, 201, { id: created.id, status: created.status, expiresAt: created.expiresAt });
    }
    if (method === 'GET') {
      need(role, 'admin', 'listing approvals needs the admin token');
      const status = parseStatusFilter(url.searchParams.get('status'));
      if (status === 'invalid') throw new HttpError(400, 'status must be one of pending, approved, denied, expired, cancelled');
      const limit = parseBoundedInt(url.searchParams.get('limit'), DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT);
      if (limit === undefined) throw new HttpError(400, 'limit must be a number');
      return sendJson(res, 200, { approvals: await store.list({ status, limit }) });
    }
    throw new HttpError(405, 'method not allowed');
  }

  // Ids are checked before lookup so nothing a client invents is echoed back in an error.
  if (!isApprovalId(id)) throw new HttpError(404, 'no such approval');

  if (action === undefined && method === 'GET') return sendJson(res, 200, await store.get(id));
  if (action === 'wait' && method === 'GET') {
    const timeoutMs = parseBoundedInt(url.searchParams.get('timeoutMs'), DEFAULT_WAIT_MS, 0, MAX_WAIT_MS);
    if (timeoutMs === undefined) throw new HttpError(400, 'timeoutMs must be a number of milliseconds');
    // The poller hanging up releases its waiter at once instead of at the timeout.
    const hangUp = new AbortController();
    res.on('close', () => hangUp.abort());
    const record = await store.wait(id, timeoutMs, hangUp.signal);
    if (res.destroyed) return;
    return sendJson(res, 200, record);
  }
  if ((action === 'approve' || action === 'deny') && method === 'POST') {
    need(role, 'admin', 'deciding approvals needs the admin token');
    const body = DecideBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    const verdict = action === 'approve' ? 'approved' : 'denied';
    return sendJson(res, 200, await store.decide(id, verdict, staticAdminApprover(body.data.approver), body.data.reason));
  }
  if (action === 'cancel' && method === 'POST') {
    need(role, 'requester', 'cancelling approvals needs the requester token');
    const body = CancelBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    return sendJson(res, 200, await store.cancel(id, body.data.reason));
  }
  if (action === 'consume' && method === 'POST') {
    need(role, 'requester', 'using approvals needs the requester token');
    const body = ConsumeBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    return sendJson(res, 200, await store.consume(id, body.data.hash));
  }
  throw new HttpError(404, 'not found');
}

function need(role: BrokerRole, wanted: BrokerRole, message: string): void {
  if (role !== wanted) throw new HttpError(403, message);
}

/** The first validation problem as "path: message" — names a field, never echoes its value. */
function firstIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

function answerError(res: http.ServerResponse, err: unknown): void {
  const known = err instanceof ApprovalError || err instanceof HttpError;
  const status = known ? err.status : 500;
  const message = known ? err.message : 'internal error';
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message });
}
