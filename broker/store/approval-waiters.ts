// The long-polls waiting in this process, by request id. The store settles them when it sees a
// request leave pending — its own transition, another replica's NOTIFY, or a periodic re-read —
// and each waiter also ends on its own timeout or abort, so none outlives its client.
import type { ApprovalRecord } from '../api/broker-api-schema.js';

/** A decided record, or undefined when the wait ended without one (timeout, abort, close). */
type Release = (record: ApprovalRecord | undefined, why: 'settled' | 'timeout' | 'abort') => void;

export class ApprovalWaiters {
  private readonly waiting = new Map<string, Set<Release>>();

  get count(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  ids(): string[] {
    return [...this.waiting.keys()];
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Waits for `settle(id, …)`; resolves with why it ended otherwise. */
  add(id: string, timeoutMs: number, signal?: AbortSignal): Promise<{ record?: ApprovalRecord; why: 'settled' | 'timeout' | 'abort' }> {
    return new Promise((resolve) => {
      const set = this.waiting.get(id) ?? new Set<Release>();
      this.waiting.set(id, set);
      const release: Release = (record, why) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(release);
        if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
        resolve(record ? { record, why } : { why });
      };
      const onAbort = () => release(undefined, 'abort');
      // Not unref'd: someone awaits this; it is bounded by timeoutMs and close() releases it.
      const timer = setTimeout(() => release(undefined, 'timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(release);
    });
  }

  /** Releases the waiters of `record.id` with it, if it has left pending (or `always`). */
  settle(record: ApprovalRecord, always = false): void {
    if (record.status === 'pending' && !always) return;
    const set = this.waiting.get(record.id);
    for (const release of [...(set ?? [])]) release(record, 'settled');
  }

  /** Releases every waiter of `id` without a record (the store is closing or forgot it). */
  drop(id: string): void {
    for (const release of [...(this.waiting.get(id) ?? [])]) release(undefined, 'timeout');
  }
}
