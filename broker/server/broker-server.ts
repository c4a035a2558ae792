// The approval broker's HTTP API. Runs in-process in local mode and as its own service
// (`sidegate broker`): sidecars always reach it over HTTP. Callers are requesters (sidecars:
// create, wait, cancel, consume) or approvers (list, decide); see broker-callers.ts for how each
// is proven. Either may read a record — a sidecar only those its own pod made. Every other path
// is the approvers' web page, when one is configured.
//
//   POST /v1/approvals                  requester  → 201 { id, status, expiresAt, page? }
//   GET  /v1/approvals?status=&limit=   approver   → { approvals: [...] } oldest first
//   GET  /v1/approvals/:id              any        → record
//   GET  /v1/approvals/:id/wait?timeoutMs=  any    → record once decided, or still pending at timeout
//   POST /v1/approvals/:id/approve|deny approver   { approver?, reason? } → record (403/404/409); one vote
//   POST /v1/approvals/:id/cancel       requester  { reason? } → record (also revokes an unused approval)
//   POST /v1/approvals/:id/consume      requester  { hash } → record; once, for the bound hash (409)
//   GET  /healthz, /readyz              none       → 200 when alive / when the store answers
//   GET  /metrics                       none       → Prometheus text (when the service has metrics)
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ApprovalRequest } from '../api/broker-api-schema.js';
import type { VerifiedApprover } from '../api/parties.js';
import type { ApprovalNotifier } from '../notifications/index.js';
import { handleWebRequest } from '../web/web-handler.js';
import type { WebDeps } from '../web/web-deps.js';
import { callerOf, CallerRefused, type BrokerCaller, type BrokerCallerSources } from './broker-callers.js';
import { ApprovalError, type ApprovalStore } from '../store/approval-store.js';
import { openApprovalStore, type ApprovalDatabase } from '../store/open-approval-store.js';
import { lazyApprovalStore } from '../store/lazy-approval-store.js';
import type { SqlApprovalStoreOptions } from '../store/sql-approval-store.js';
import { staticAdminApprover } from './static-admin-approver.js';
import { isApprovalId } from '../api/approval-id.js';
import { CancelBody, ConsumeBody, CreateApprovalBody, DecideBody, MAX_BODY_BYTES, parseBoundedInt, parseStatusFilter } from '../api/broker-api-schema.js';
import { checkBrokerTokens, type BrokerTokens } from './bearer-auth.js';
import { HttpError, readJsonBody, sendJson } from './http-json.js';
import { visibleApprovals, type VisibleApprovals } from './visible-approvals.js';
import { sendMetrics } from '../../core/metrics/metrics-response.js';
import type { BrokerMetrics } from './broker-metrics.js';

/** One long-poll lasts at most this long; clients poll again (keeps proxies and timeouts happy). */
export const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_LIST_LIMIT = 200;
const MAX_LIST_LIMIT = 1000;

export interface ApprovalBrokerOptions extends Partial<BrokerTokens>, SqlApprovalStoreOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM); without it plain HTTP (local mode, on loopback). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Callers proven by tokens verified against issuers, besides (or instead of) the static tokens. */
  callers?: Omit<BrokerCallerSources, 'tokens'>;
  /** Told of each request when it is created and when it leaves pending (the store's onSettled: decided, expired, cancelled). */
  notifier?: ApprovalNotifier;
  /** The approvers' web page, served on every path outside /v1/ and the probes. */
  web?: Omit<WebDeps, 'store'>;
  /** Where requests are kept; default an in-memory embedded database. */
  database?: ApprovalDatabase;
  /** Open the database on the first request rather than at start (an embedded broker that may never hold anything). */
  lazy?: boolean;
  /** A store opened by the caller (it stays the caller's to close); `database` is then ignored. */
  store?: ApprovalStore;
  /** Counts transitions and votes, served at GET /metrics. */
  metrics?: BrokerMetrics;
}

export interface ApprovalBroker {
  url: string;
  store: ApprovalStore;
  close(): Promise<void>;
}

export async function startApprovalBroker(opts: ApprovalBrokerOptions): Promise<ApprovalBroker> {
  const tokens = opts.adminToken !== undefined || opts.requesterToken !== undefined ? { adminToken: opts.adminToken ?? '', requesterToken: opts.requesterToken ?? '' } : undefined;
  if (tokens) checkBrokerTokens(tokens);
  const sources: BrokerCallerSources = { ...opts.callers, ...(tokens ? { tokens } : {}) };
  if (!sources.tokens && !sources.requesters && !sources.approvers) throw new Error('the approval broker needs a way to authenticate its callers');
  const ownStore = !opts.store;
  const store = opts.store ?? (opts.lazy ? lazyApprovalStore(() => openApprovalStore(opts.database, opts)) : await openApprovalStore(opts.database, opts));
  const core = { store, sources, notifier: opts.notifier, visible: visibleApprovals(store, opts.superApprovers), metrics: opts.metrics };
  // Every change the store makes is announced by the replica that made it, once: a decision, a
  // cancel, and an expiry that no call here made (a timer, a sweep).
  const notifier = opts.notifier;
  const unsubscribe = notifier ? store.onSettled((record) => notifier.notify(record)) : () => undefined;
  const metrics = opts.metrics;
  if (metrics) metrics.store = store;
  const unwatch = metrics ? store.onSettled((record) => record.status !== 'pending' && metrics.transition(record.status)) : () => undefined;
  const service: BrokerService = { ...core, web: opts.web ? { ...opts.web, store: webStore(core) } : undefined };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    route(service, req, res).catch((err: unknown) => answerError(res, err));
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
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
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    store,
    close: async () => {
      // Releasing waiters first answers every open long-poll with the current record.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unsubscribe();
        unwatch();
        if (ownStore) await store.close();
      } finally {
        server.closeAllConnections();
        await closed;
      }
    },
  };
}

interface BrokerService {
  store: ApprovalStore;
  /** What an approver may read: the requests they may decide. */
  visible: VisibleApprovals;
  sources: BrokerCallerSources;
  notifier?: ApprovalNotifier | undefined;
  web?: WebDeps | undefined;
  metrics?: BrokerMetrics | undefined;
}

async function route(service: BrokerService, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { store } = service;
  const url = new URL(req.url ?? '/', 'http://broker');
  if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
  if (url.pathname === '/readyz') {
    // Ready once the store answers: a replica whose database is gone takes no requests.
    await store.list({ status: 'pending', limit: 1 }).catch(() => {
      throw new HttpError(503, 'the approval store does not answer');
    });
    return sendJson(res, 200, { ok: true });
  }
  if (url.pathname === '/metrics' && service.metrics && (req.method === 'GET' || req.method === 'HEAD')) return sendMetrics(service.metrics.registry, res);
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'v1') {
    if (service.web) return handleWebRequest(req, res, service.web);
    throw new HttpError(404, 'not found');
  }
  let caller: BrokerCaller | undefined;
  try {
    caller = await callerOf(req.headers.authorization, service.sources);
  } catch (err) {
    if (err instanceof CallerRefused) throw new HttpError(401, err.message);
    throw err;
  }
  if (!caller) throw new HttpError(401, 'missing or invalid bearer token');
  if (parts[1] !== 'approvals' || parts.length > 4) throw new HttpError(404, 'not found');
  const [, , id, action] = parts;
  const method = req.method ?? 'GET';

  if (id === undefined) {
    if (method === 'POST') {
      const requester = need(caller, 'requester', 'creating approvals needs a requester (a sidecar)');
      const body = CreateApprovalBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
      if (!body.success) throw new HttpError(400, `invalid approval request: ${firstIssue(body.error)}`);
      const created = await store.create(withWorkload(body.data, requester));
      service.metrics?.transition('created');
      service.notifier?.notify(created);
      // Where approvers decide it: the held client is shown the link at once.
      const page = service.web ? new URL(`/approvals/${created.id}`, service.web.publicUrl).href : undefined;
      return sendJson(res, 201, { id: created.id, status: created.status, expiresAt: created.expiresAt, ...(page ? { page } : {}) });
    }
    if (method === 'GET') {
      need(caller, 'approver', 'listing approvals needs an approver');
      const status = parseStatusFilter(url.searchParams.get('status'));
      if (status === 'invalid') throw new HttpError(400, 'status must be one of pending, approved, denied, expired, cancelled');
      const limit = parseBoundedInt(url.searchParams.get('limit'), DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT);
      if (limit === undefined) throw new HttpError(400, 'limit must be a number');
      return sendJson(res, 200, { approvals: await service.visible.list({ status, limit }, viewerOf(caller)) });
    }
    throw new HttpError(405, 'method not allowed');
  }

  // Ids are checked before lookup so nothing a client invents is echoed back in an error.
  if (!isApprovalId(id)) throw new HttpError(404, 'no such approval');
  if (caller.role === 'requester' && caller.workload && !(await madeBy(store, id, caller.workload))) throw new HttpError(404, 'no such approval');
  // An approver reads, waits on and decides only what they may decide; anything else is unknown.
  await service.visible.check(id, viewerOf(caller));

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
    const approver = need(caller, 'approver', 'deciding approvals needs an approver');
    const body = DecideBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    // A verified approver is who their token says, whatever the body claims.
    const who = approver.approver ?? (body.data.approver !== undefined ? staticAdminApprover(body.data.approver) : undefined);
    if (!who) throw new HttpError(400, 'approver: an approver name is required with the admin token');
    const verdict = action === 'approve' ? 'approved' : 'denied';
    const decided = await store.decide(id, verdict, who, body.data.reason);
    service.metrics?.voted(verdict);
    return sendJson(res, 200, decided);
  }
  if (action === 'cancel' && method === 'POST') {
    need(caller, 'requester', 'cancelling approvals needs a requester (a sidecar)');
    const body = CancelBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    return sendJson(res, 200, await store.cancel(id, body.data.reason));
  }
  if (action === 'consume' && method === 'POST') {
    need(caller, 'requester', 'using approvals needs a requester (a sidecar)');
    const body = ConsumeBody.safeParse(await readJsonBody(req, res, MAX_BODY_BYTES));
    if (!body.success) throw new HttpError(400, firstIssue(body.error));
    return sendJson(res, 200, await store.consume(id, body.data.hash));
  }
  throw new HttpError(404, 'not found');
}

/** The verified approver a caller is, whose view is scoped; undefined for sidecars and the static admin token. */
function viewerOf(caller: BrokerCaller): VerifiedApprover | undefined {
  return caller.role === 'approver' ? caller.approver : undefined;
}

function need<R extends BrokerCaller['role']>(caller: BrokerCaller, wanted: R, message: string): Extract<BrokerCaller, { role: R }> {
  if (caller.role !== wanted) throw new HttpError(403, message);
  return caller as Extract<BrokerCaller, { role: R }>;
}

/**
 * Whether the pod made request `id`. A sidecar reaches only its own pod's requests: another pod's
 * statement, parameters and binding hash are not its to read, and its approval not its to cancel
 * or use up. Unknown ids answer the same as foreign ones.
 */
async function madeBy(store: ApprovalStore, id: string, workload: NonNullable<Extract<BrokerCaller, { role: 'requester' }>['workload']>): Promise<boolean> {
  const record = await store.get(id).catch(() => undefined);
  return record !== undefined && record.requester.identities.includes(podIdentity(workload));
}

function podIdentity(w: { namespace: string; podName: string }): string {
  return `pod:${w.namespace}/${w.podName}`;
}

/**
 * A sidecar's request, bound to the pod its token proves: the pod's names join the requester's
 * identities, so nobody acting as that pod can approve what it asked.
 */
function withWorkload(request: ApprovalRequest, caller: Extract<BrokerCaller, { role: 'requester' }>): ApprovalRequest {
  const w = caller.workload;
  if (!w) return request;
  const pod = [w.subject, `${w.namespace}/${w.serviceAccount}`, podIdentity(w)];
  return { ...request, requester: { ...request.requester, identities: [...new Set([...request.requester.identities, ...pod])] } };
}

/** The store as the page uses it; its decisions are announced by the store's onSettled like any. */
function webStore(service: Omit<BrokerService, 'web'>): WebDeps['store'] {
  const { store, visible } = service;
  return {
    list: (filter, viewer) => visible.list({ status: filter.status, limit: filter.limit }, viewer),
    get: (id, viewer) => visible.get(id, viewer),
    decide: async (id, verdict, approver, reason) => {
      await visible.check(id, approver);
      const decided = await store.decide(id, verdict, approver, reason);
      service.metrics?.voted(verdict);
      return decided;
    },
  };
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
