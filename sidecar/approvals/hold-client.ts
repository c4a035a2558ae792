// The sidecar's side of a hold: create the request, tell the caller its id (the adapter shows it
// to the waiting user), then long-poll until a human decides or the timeout passes.
// Fail closed: whenever the broker cannot be reached or refuses, the outcome is 'unavailable' and
// the caller denies. A held client that goes away (AbortSignal) cancels the request at the broker
// so nobody approves a command that will never run. An approval is used at most once, for the
// command it is bound to: before answering 'approved' the client checks the record names this
// command's hash and consumes it at the broker (which refuses a second use).
// This is the one place that knows both the gate's HoldRequest and the broker's API request.
import type { ApprovalHolder, HoldRequest, HoldResult } from '../pipeline/command-gate.js';
import { BrokerCallError, callBroker } from '../../broker/api/broker-http-client.js';
import { MAX_BODY_BYTES, MAX_COMMAND_CHARS, type ApprovalRecord, type ApprovalRequest } from '../../broker/api/broker-api-schema.js';
import { ciContextOf } from '../../broker/api/ci-context.js';
import { traceparentOf } from '../../broker/api/trace-context.js';

/** How a hold ended. The gate's HoldResult under the name this module's callers know. */
export type HoldOutcome = HoldResult;

export interface HoldOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** `page`: the request on the broker's page, when the broker has one. */
  onCreated?: (id: string, page?: string) => void;
}

export interface ApprovalClientOptions {
  url: string;
  /** The bearer token, or how to read the current one (a projected token the kubelet rotates). */
  token: string | (() => Promise<string>);
  /** Deadline for one create/cancel call, and the slack added to each long-poll. Default 5 s. */
  requestTimeoutMs?: number;
}

/** Longest single long-poll we ask for; the broker caps it too. */
const POLL_MS = 30_000;
/** After our own deadline, how long the broker gets to report the expiry itself. */
const EXPIRY_GRACE_MS = 2_000;
/** Consecutive failed polls (network, 5xx) before the broker counts as unavailable. */
const MAX_POLL_FAILURES = 3;
const RETRY_PAUSE_MS = 200;

export class ApprovalClient implements ApprovalHolder {
  private readonly requestTimeoutMs: number;

  constructor(private readonly opts: ApprovalClientOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  }

  async hold(req: HoldRequest, opts: HoldOptions): Promise<HoldOutcome> {
    const { signal } = opts;
    if (signal?.aborted) return { id: '-', status: 'cancelled' };
    const deadline = Date.now() + opts.timeoutMs;
    const body = approvalRequestOf(req, opts.timeoutMs);
    // Refused here with a reason rather than by the broker with a bare 400/413: the statement is
    // denied either way, but the audit trail should say why.
    if (req.command.length > MAX_COMMAND_CHARS || Buffer.byteLength(JSON.stringify(body)) > MAX_BODY_BYTES) {
      return { id: '-', status: 'unavailable', reason: `the statement is too long to be held for approval (limit ${MAX_COMMAND_CHARS} characters)` };
    }
    let id: string;
    let page: string | undefined;
    try {
      // Not abortable: a create cut short may still exist at the broker, pending for nobody; once
      // its id is known, an abort in the meantime cancels it there (below).
      ({ id, page } = await this.call<{ id: string; page?: string }>('POST', '/v1/approvals', body, this.requestTimeoutMs));
    } catch (err) {
      if (signal?.aborted) return { id: '-', status: 'cancelled' };
      return { id: '-', status: 'unavailable', reason: messageOf(err) };
    }
    if (signal?.aborted) {
      await this.cancel(id, 'the client went away');
      return { id, status: 'cancelled' };
    }
    try {
      opts.onCreated?.(id, typeof page === 'string' && /^https:\/\/[^\s]{1,500}$/.test(page) ? page : undefined);
    } catch {
      // A failing notice must not turn into an unanswered hold; the wait goes on.
    }

    let failures = 0;
    for (;;) {
      if (signal?.aborted) {
        await this.cancel(id, 'the client went away');
        return { id, status: 'cancelled' };
      }
      const left = deadline - Date.now();
      if (left <= -EXPIRY_GRACE_MS) {
        // The broker should have said 'expired' by now; stop waiting and make sure nobody
        // approves a command that will not run.
        await this.cancel(id, 'the requester stopped waiting after the timeout');
        return { id, status: 'expired' };
      }
      const pollMs = Math.min(left + EXPIRY_GRACE_MS, POLL_MS);
      try {
        const record = await this.call<ApprovalRecord>('GET', `/v1/approvals/${encodeURIComponent(id)}/wait?timeoutMs=${pollMs}`, undefined, pollMs + this.requestTimeoutMs, signal);
        failures = 0;
        if (record.status !== 'pending') return await this.settle(record, id, req, signal);
      } catch (err) {
        if (signal?.aborted) continue;
        // A 4xx will not get better by asking again (the broker forgot the request or refuses us).
        const status = err instanceof BrokerCallError ? err.status : undefined;
        if ((status !== undefined && status < 500) || ++failures >= MAX_POLL_FAILURES) {
          // Best effort: if the broker is half-alive, nobody should approve a command we denied.
          await this.cancel(id, 'the requester lost contact with the broker');
          return { id, status: 'unavailable', reason: messageOf(err) };
        }
        await pause(RETRY_PAUSE_MS, signal);
      }
    }
  }

  /** A decided record: denial as it is; an approval only if it is this command's, used once. */
  private async settle(record: ApprovalRecord, expectedId: string, req: HoldRequest, signal?: AbortSignal): Promise<HoldOutcome> {
    if (record.status !== 'approved') return outcomeOf(record);
    const { id } = record;
    // Another request's approval (a replayed answer), or one bound to other bytes: never used.
    if (id !== expectedId || record.hash !== req.hash) {
      await this.cancel(expectedId, 'the approval is not bound to the held command');
      return { id: expectedId, status: 'mismatched' };
    }
    if (signal?.aborted) {
      await this.cancel(id, 'the client went away');
      return { id, status: 'cancelled' };
    }
    let used: ApprovalRecord;
    try {
      // Not abortable: once sent, the outcome of the consume must be known.
      used = await this.call<ApprovalRecord>('POST', `/v1/approvals/${encodeURIComponent(id)}/consume`, { hash: req.hash }, this.requestTimeoutMs);
    } catch (err) {
      return { id, status: 'unavailable', reason: messageOf(err) };
    }
    if (used.id !== id || used.status !== 'approved' || used.hash !== req.hash || !used.consumedAt) return { id, status: 'mismatched' };
    return { ...outcomeOf(used), hash: used.hash };
  }

  private async cancel(id: string, reason: string): Promise<void> {
    await this.call('POST', `/v1/approvals/${encodeURIComponent(id)}/cancel`, { reason }, this.requestTimeoutMs).catch(() => undefined);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    let token: string;
    try {
      token = typeof this.opts.token === 'string' ? this.opts.token : await this.opts.token();
    } catch (err) {
      // No token to present: the broker cannot be asked, so the hold fails closed.
      throw new BrokerCallError(`the broker token could not be read: ${(err as Error).message}`);
    }
    return callBroker<T>({ baseUrl: this.opts.url, token, method, path, body, timeoutMs, signal });
  }
}

/**
 * The broker's request for the gate's hold, field by field: a field the gate adds reaches the
 * broker only when it is named here (and in the broker's schema).
 */
export function approvalRequestOf(req: HoldRequest, timeoutMs: number): ApprovalRequest {
  const ci = ciContextOf(req.requester.issuer, req.requester.claims);
  const body: ApprovalRequest = {
    requester: { subject: req.requester.subject, issuer: req.requester.issuer, identities: [...req.requester.identities], ...(ci ? { ci } : {}) },
    target: req.target,
    protocol: req.protocol,
    command: req.command,
    hash: req.hash,
    rule: req.rule,
    approvers: [...req.approvers],
    groups: [...req.groups],
    threshold: req.threshold,
    sessionId: req.sessionId,
    timeoutMs,
  };
  if (req.commandEscaped) body.commandEscaped = true;
  if (req.parameters) {
    body.parameters = req.parameters.map(({ position, format, typeOid, value, hex, bytes, truncated }) => ({
      position,
      format,
      typeOid,
      value,
      bytes,
      ...(hex ? { hex } : {}),
      ...(truncated ? { truncated } : {}),
    }));
  }
  if (req.parametersOmitted) body.parametersOmitted = req.parametersOmitted;
  if (req.resultFormats) body.resultFormats = [...req.resultFormats];
  if (req.context !== undefined) body.context = req.context;
  // Evidence of the hold, not part of it: a span context that is not a valid one is left out
  // rather than refused (the broker would refuse the whole request, and so the statement).
  const traceparent = req.heldSpan && traceparentOf(req.heldSpan);
  if (traceparent) body.traceparent = traceparent;
  return body;
}

function outcomeOf(record: ApprovalRecord): HoldOutcome {
  const decided = record.status === 'approved' || record.status === 'denied';
  const outcome: HoldOutcome = { id: record.id, status: record.status as HoldOutcome['status'] };
  if (decided && record.decidedBy) outcome.approver = record.decidedBy;
  if (record.reason) outcome.reason = record.reason;
  return outcome;
}

/** Broker call errors are written to be shown; anything else gets a generic sentence. */
function messageOf(err: unknown): string {
  return err instanceof BrokerCallError ? err.message : 'the approval broker could not be used';
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
