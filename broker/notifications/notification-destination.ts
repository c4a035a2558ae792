// A place notifications go: its URL (a secret for Slack, possibly for others: never logged), which
// events it wants, and the HTTP request each event becomes. Rendering happens per attempt, so a
// signed webhook's retry carries a fresh timestamp under the same delivery id.
import type { ApprovalEvent, ApprovalEventType } from './approval-event.js';

export interface RenderedRequest {
  body: string;
  headers: Record<string, string>;
}

export interface NotificationDestination {
  /** What logs and metrics call it: the kind and the URL's origin, never its path or query. */
  readonly label: string;
  readonly url: string;
  accepts(type: ApprovalEventType): boolean;
  render(event: ApprovalEvent, deliveryId: string, nowMs: number): RenderedRequest;
}

/** `kind origin`: a webhook URL's path and query carry its secret (Slack's do), its origin does not. */
export function destinationLabel(kind: string, url: string): string {
  return `${kind} ${new URL(url).origin}`;
}

export const USER_AGENT = 'sidegate-broker';
