// Delivery to one destination: a bounded in-memory queue worked by one sender, so one
// destination's events arrive in order (created before decided) and a slow or dead receiver costs
// a fixed amount of memory and nothing else. `enqueue` never blocks or throws: the hold of a
// statement must never wait on a notification. A full queue drops its oldest event, counted and
// logged. Failures are logged with the destination's label, the event and a failure code — never
// the URL's path or query, a secret or a raw error message (undici's can quote the URL).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logging/logger.js';
import type { ApprovalEvent } from './approval-event.js';
import type { NotificationDestination } from './notification-destination.js';
import { parseRetryAfter, retryDelayMs, verdictFor } from './retry-policy.js';

export interface DeliveryOptions {
  /** Events waiting per destination; beyond it the oldest is dropped. */
  maxQueued: number;
  /** Attempts per event, the first included. */
  maxAttempts: number;
  /** One attempt's bound, from connecting to the response's status line. */
  attemptTimeoutMs: number;
  /** The first retry's wait (about; jittered), doubling up to `backoffMaxMs`. */
  backoffBaseMs: number;
  /** Longest wait between attempts, a receiver's Retry-After included. */
  backoffMaxMs: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = {
  maxQueued: 1000,
  maxAttempts: 6,
  attemptTimeoutMs: 10_000,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
};

/** For metrics: totals since start, and what is waiting now. */
export interface DeliveryCounters {
  /** Events the receiver accepted (2xx). */
  sent: number;
  /** Attempts after the first. */
  retried: number;
  /** Events given up on: refused (4xx), out of attempts, or cut off by close(). */
  failed: number;
  /** Events never attempted: pushed out of a full queue, enqueued after close, left at close's deadline. */
  dropped: number;
  queued: number;
}

interface Queued {
  event: ApprovalEvent;
  deliveryId: string;
}

type AttemptResult = { verdict: 'delivered' } | { verdict: 'retry' | 'give-up'; failure: string; retryAfterMs?: number };

export class DeliveryQueue {
  private readonly waiting: Queued[] = [];
  private readonly counts = { sent: 0, retried: 0, failed: 0, dropped: 0 };
  private readonly opts: DeliveryOptions;
  /** Aborted at close()'s deadline: cuts the attempt in flight and any backoff wait. */
  private readonly stop = new AbortController();
  private worker: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly destination: NotificationDestination,
    private readonly log: Logger,
    opts: Partial<DeliveryOptions> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.opts = { ...DEFAULT_DELIVERY, ...opts };
  }

  counters(): DeliveryCounters {
    return { ...this.counts, queued: this.waiting.length };
  }

  /** Queues `event` and returns at once; delivery happens later, or is counted as dropped. */
  enqueue(event: ApprovalEvent): void {
    try {
      if (this.closed) {
        this.drop(event, 'closed');
        return;
      }
      if (this.waiting.length >= this.opts.maxQueued) this.drop(this.waiting.shift()!.event, 'queue full');
      this.waiting.push({ event, deliveryId: randomUUID() });
      // The sender starts on a later turn of the event loop, never inside the caller's.
      this.worker ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.work());
    } catch {
      // Nothing a notification does may fail the request that caused it.
    }
  }

  /** Stops taking events and sends what is queued until `deadlineMs` passes; then cuts off the rest. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (!this.worker) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(deadlineMs, 0));
    });
    await Promise.race([this.worker, deadline]);
    clearTimeout(timer);
    this.stop.abort();
    const left = this.waiting.splice(0).length;
    if (left > 0) {
      this.counts.dropped += left;
      this.log.warn('notifications dropped at shutdown', { destination: this.destination.label, count: left });
    }
    await this.worker;
  }

  private async work(): Promise<void> {
    try {
      while (this.waiting.length > 0 && !this.stop.signal.aborted) {
        // Nobody awaits the sender: whatever throws in it (a logger's sink, say) must end here,
        // never as an unhandled rejection that takes the broker down.
        await this.deliver(this.waiting.shift()!).catch(() => this.counts.failed++);
      }
    } finally {
      this.worker = undefined;
    }
  }

  private async deliver(item: Queued): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(item);
      if (result.verdict === 'delivered') {
        this.counts.sent++;
        return;
      }
      const last = result.verdict === 'give-up' || attempt >= this.opts.maxAttempts || this.stop.signal.aborted;
      if (last) {
        this.counts.failed++;
        this.log.warn('notification not delivered', { ...this.facts(item), attempts: attempt, failure: result.failure });
        return;
      }
      const wait = retryDelayMs(attempt, { baseMs: this.opts.backoffBaseMs, maxMs: this.opts.backoffMaxMs }, this.random(), result.retryAfterMs);
      this.log.debug('notification attempt failed; retrying', { ...this.facts(item), attempt, failure: result.failure, retryInMs: wait });
      if (!(await this.sleep(wait))) {
        this.counts.failed++;
        this.log.warn('notification not delivered', { ...this.facts(item), attempts: attempt, failure: `${result.failure}, then closing` });
        return;
      }
      this.counts.retried++;
    }
  }

  private async attempt(item: Queued): Promise<AttemptResult> {
    let request;
    try {
      request = this.destination.render(item.event, item.deliveryId, Date.now());
    } catch {
      return { verdict: 'give-up', failure: 'could not render the event' };
    }
    // One controller per attempt, aborted by its timeout or by close()'s deadline.
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort();
    }, this.opts.attemptTimeoutMs);
    const onStop = () => attempt.abort();
    this.stop.signal.addEventListener('abort', onStop);
    try {
      const response = await fetch(this.destination.url, { method: 'POST', ...request, signal: attempt.signal, redirect: 'manual' });
      // The answer's body is not needed; cancelling it frees the connection.
      await response.body?.cancel().catch(() => {});
      const verdict = verdictFor(response.status);
      if (verdict === 'delivered') return { verdict };
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      return { verdict, failure: `HTTP ${response.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (err) {
      if (timedOut) return { verdict: 'retry', failure: `timeout after ${this.opts.attemptTimeoutMs} ms` };
      if (this.stop.signal.aborted) return { verdict: 'give-up', failure: 'closing' };
      return { verdict: 'retry', failure: networkFailure(err) };
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Waits `ms`; false when close()'s deadline cut the wait short. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(!signal.aborted);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  private drop(event: ApprovalEvent, why: string): void {
    this.counts.dropped++;
    this.log.warn('notification dropped', { destination: this.destination.label, event: event.type, approval: event.approval.id, why });
  }

  private facts(item: Queued) {
    return { destination: this.destination.label, event: item.event.type, approval: item.event.approval.id, delivery: item.deliveryId };
  }
}

/** A code for a failed fetch (ECONNREFUSED, UND_ERR_SOCKET, …), never its message. */
function networkFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'network error';
}
