// Slack-compatible incoming webhooks (Slack itself, and the chat tools that accept its payload):
// every event, as slackMessage renders it. The URL is the credential, so it comes from a file.
import type { ApprovalEvent } from './approval-event.js';
import { destinationLabel, USER_AGENT, type NotificationDestination, type RenderedRequest } from './notification-destination.js';
import { slackMessage } from './slack-message.js';

export function slackDestination(webhookUrl: string): NotificationDestination {
  return {
    label: destinationLabel('slack', webhookUrl),
    url: webhookUrl,
    accepts: () => true,
    render: (event: ApprovalEvent): RenderedRequest => ({
      body: JSON.stringify(slackMessage(event)),
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': USER_AGENT },
    }),
  };
}
