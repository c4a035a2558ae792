// The generic webhook: the event as JSON, signed with the receiver's secret (webhook-signature.ts).
// The delivery id stays the same across retries so a receiver can drop duplicates; the timestamp
// and signature are fresh on each attempt so a late retry still passes the receiver's window.
import type { ApprovalEvent, ApprovalEventType } from './approval-event.js';
import { destinationLabel, USER_AGENT, type NotificationDestination, type RenderedRequest } from './notification-destination.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhookBody, TIMESTAMP_HEADER } from './webhook-signature.js';

export interface SignedWebhookTarget {
  url: string;
  secret: string;
  /** Only these events; all when absent. */
  events?: readonly ApprovalEventType[];
}

export function signedWebhookDestination(target: SignedWebhookTarget): NotificationDestination {
  const wanted = target.events ? new Set(target.events) : undefined;
  return {
    label: destinationLabel('webhook', target.url),
    url: target.url,
    accepts: (type) => wanted === undefined || wanted.has(type),
    render: (event: ApprovalEvent, deliveryId: string, nowMs: number): RenderedRequest => {
      const body = JSON.stringify(event);
      const timestamp = Math.floor(nowMs / 1000);
      return {
        body,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': USER_AGENT,
          [EVENT_HEADER]: event.type,
          [DELIVERY_HEADER]: deliveryId,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhookBody(target.secret, timestamp, body),
        },
      };
    },
  };
}
