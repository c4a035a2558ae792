// A store opened on first use. A sidecar embeds a broker for the laptop and the tests, and most
// of its runs never hold anything: an embedded database opened at start would cost every one of
// them its start-up time and its memory (about 200 MB for PGlite) for nothing.
import type { ApprovalRecord } from '../api/broker-api-schema.js';
import type { ApprovalStore } from './approval-store.js';

export function lazyApprovalStore(open: () => Promise<ApprovalStore>): ApprovalStore {
  let opening: Promise<ApprovalStore> | undefined;
  let opened: ApprovalStore | undefined;
  let closed = false;
  // Listeners subscribed before the store opened are attached when it does.
  const listeners = new Set<(record: ApprovalRecord) => void>();
  const relay = (record: ApprovalRecord) => {
    for (const listener of listeners) {
      try {
        listener(record);
      } catch {
        // As the store itself: a listener cannot fail a committed transition.
      }
    }
  };
  const store = (): Promise<ApprovalStore> => {
    if (closed) return Promise.reject(new Error('the approval store is closed'));
    opening ??= open().then((s) => {
      s.onSettled(relay);
      return (opened = s);
    });
    return opening;
  };
  return {
    create: async (input) => (await store()).create(input),
    get: async (id) => (await store()).get(id),
    list: async (filter) => (await store()).list(filter),
    decide: async (id, verdict, approver, reason) => (await store()).decide(id, verdict, approver, reason),
    cancel: async (id, reason) => (await store()).cancel(id, reason),
    consume: async (id, hash, now) => (await store()).consume(id, hash, now),
    wait: async (id, timeoutMs, signal) => (await store()).wait(id, timeoutMs, signal),
    countPending: async () => (await store()).countPending(),
    expireOverdue: async () => (await store()).expireOverdue(),
    onSettled(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get waiterCount() {
      return opened?.waiterCount ?? 0;
    },
    async close() {
      closed = true;
      const pending = opening;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
}
