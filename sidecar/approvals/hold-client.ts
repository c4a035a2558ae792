// The sidecar's side of a hold: create the request, tell the caller its id, long-poll until a
// human decides or the timeout passes. Anything that goes wrong talking to the broker resolves
// 'unavailable' — the caller denies (fail closed); a client that went away cancels the request.
import type { ApprovalHolder, HoldRequest, HoldResult } from '../pipeline/command-gate.js';
import type { ApprovalRecord } from './approval-store.js';

export class ApprovalClient implements ApprovalHolder {
  constructor(private readonly opts: { url: string; token: string }) {}

  async hold(req: HoldRequest, opts: { timeoutMs: number; signal?: AbortSignal; onCreated?: (id: string) => void }): Promise<HoldResult> {
    let created: ApprovalRecord;
    try {
      created = await this.call<ApprovalRecord>('POST', '/v1/approvals', { ...req, timeoutMs: opts.timeoutMs }, opts.signal);
    } catch {
      return { id: '-', status: opts.signal?.aborted ? 'cancelled' : 'unavailable' };
    }
    opts.onCreated?.(created.id);
    const deadline = Date.now() + opts.timeoutMs;
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) {
        await this.call('POST', `/v1/approvals/${created.id}/cancel`, {}).catch(() => undefined);
        return { id: created.id, status: 'cancelled' };
      }
      const left = deadline - Date.now();
      try {
        const rec = await this.call<ApprovalRecord>('GET', `/v1/approvals/${created.id}/wait?timeoutMs=${Math.max(0, Math.min(left + 1000, 30_000))}`, undefined, opts.signal);
        failures = 0;
        if (rec.status !== 'pending') {
          return { id: rec.id, status: rec.status, approver: rec.status === 'approved' || rec.status === 'denied' ? rec.decidedBy : undefined, reason: rec.reason };
        }
      } catch {
        if (opts.signal?.aborted) continue;
        if (++failures >= 3) return { id: created.id, status: 'unavailable' };
        await new Promise((r) => setTimeout(r, 200));
      }
      if (Date.now() > deadline + 5000) return { id: created.id, status: 'expired' };
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await fetch(this.opts.url + path, {
      method,
      headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw new Error(`broker answered ${res.status}`);
    return (await res.json()) as T;
  }
}
