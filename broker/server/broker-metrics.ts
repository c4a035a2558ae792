// The broker's /metrics: requests as they move through their states (created, then approved,
// denied, expired or cancelled, counted by the replica that made the transition), votes, what is
// pending now, notification deliveries, and its audit trail. No approver, requester or statement
// is ever a label.
import { Counter, Gauge, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../../core/metrics/metrics-registry.js';
import { registerAuditMetrics, type ObservedTrail } from '../../core/metrics/audit-metrics.js';
import { labelledReadingCounter } from '../../core/metrics/reading-counter.js';
import type { ApprovalStatus } from '../api/broker-api-schema.js';
import type { ApprovalStore } from '../store/approval-store.js';
import type { ApprovalNotifier } from '../notifications/index.js';

/** Counting pending requests reads at most this many (the store refuses more than maxPending anyway). */
const MAX_COUNTED_PENDING = 100_000;

export class BrokerMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly transitions = new Counter({
    name: 'sidegate_broker_approvals_total',
    help: 'Approval requests by transition: created, then approved, denied, expired or cancelled (counted by the replica that made it).',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly votes = new Counter({
    name: 'sidegate_broker_votes_total',
    help: 'Approver votes cast, by verdict (a request needing two approvals takes two).',
    labelNames: ['verdict'],
    registers: [this.registry],
  });

  /** The store pending requests are counted in; the broker server sets it (startApprovalBroker). */
  store?: Pick<ApprovalStore, 'list'>;

  constructor(sources: { notifier?: Pick<ApprovalNotifier, 'counters'>; audit?: ObservedTrail } = {}) {
    const { notifier, audit } = sources;
    const counted = () => this.store;
    new Gauge({
      name: 'sidegate_broker_approvals_pending',
      help: 'Approval requests waiting for a decision now (in the shared store: every replica reports the same).',
      registers: [this.registry],
      async collect() {
        // A store that does not answer keeps the last count: /readyz already says the replica is out.
        const pending = await counted()?.list({ status: 'pending', limit: MAX_COUNTED_PENDING }).catch(() => undefined);
        if (pending) this.set(pending.length);
      },
    });
    if (notifier) {
      labelledReadingCounter(this.registry, 'sidegate_broker_notifications_total', 'Notification events by result: sent, retried (attempts after the first), failed (refused or out of attempts), dropped (never attempted: queue full or shutting down).', 'result', () => {
        const { sent, retried, failed, dropped } = notifier.counters().total;
        return { sent, retried, failed, dropped };
      });
      new Gauge({
        name: 'sidegate_broker_notifications_queued',
        help: 'Notification events waiting to be delivered.',
        registers: [this.registry],
        collect() {
          this.set(notifier.counters().total.queued);
        },
      });
    }
    if (audit) registerAuditMetrics(this.registry, () => audit);
  }

  transition(state: 'created' | Exclude<ApprovalStatus, 'pending'>): void {
    this.transitions.inc({ state });
  }

  voted(verdict: 'approved' | 'denied'): void {
    this.votes.inc({ verdict });
  }
}
