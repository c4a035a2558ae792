// What the broker calls: `notify(record)` when a request is created and when it leaves pending.
// The record becomes one event, queued for every destination that wants it; nothing here can
// block or fail the caller. Counters per destination and in total are for the broker's metrics.
import type { Logger } from '../../core/logging/logger.js';
import type { ApprovalRecord } from '../api/broker-api-schema.js';
import { approvalEvent } from './approval-event.js';
import { DeliveryQueue, type DeliveryCounters, type DeliveryOptions } from './delivery-queue.js';
import type { NotificationTargets } from './notifications-config.js';
import { signedWebhookDestination } from './signed-webhook-destination.js';
import { slackDestination } from './slack-destination.js';

/** How long close() keeps sending what is queued, unless told otherwise. */
export const DEFAULT_CLOSE_DEADLINE_MS = 5000;

export interface ApprovalNotifier {
  /** Queues the event for `record` as it is now (created while pending, decided after). Never throws. */
  notify(record: ApprovalRecord): void;
  counters(): { total: DeliveryCounters; destinations: Array<DeliveryCounters & { destination: string }> };
  /** Sends what is queued until the deadline, then drops the rest. */
  close(deadlineMs?: number): Promise<void>;
}

export function createApprovalNotifier(targets: NotificationTargets, log: Logger, delivery: Partial<DeliveryOptions> = {}): ApprovalNotifier {
  const destinations = [
    ...(targets.slack ? [slackDestination(targets.slack.webhookUrl)] : []),
    ...targets.webhooks.map((hook) => signedWebhookDestination(hook)),
  ];
  const queues = destinations.map((destination) => new DeliveryQueue(destination, log, delivery));
  return {
    notify(record) {
      try {
        const event = approvalEvent(record, targets.publicUrl);
        for (const queue of queues) if (queue.destination.accepts(event.type)) queue.enqueue(event);
      } catch {
        log.warn('notification skipped: the approval record could not be read', { approval: typeof record?.id === 'string' ? record.id : undefined });
      }
    },
    counters() {
      const perDestination = queues.map((queue) => ({ destination: queue.destination.label, ...queue.counters() }));
      const total: DeliveryCounters = { sent: 0, retried: 0, failed: 0, dropped: 0, queued: 0 };
      for (const counts of perDestination) for (const key of Object.keys(total) as Array<keyof DeliveryCounters>) total[key] += counts[key];
      return { total, destinations: perDestination };
    },
    async close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS) {
      await Promise.all(queues.map((queue) => queue.close(deadlineMs)));
    },
  };
}
