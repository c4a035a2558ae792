// The broker's notifications: Slack-compatible and signed webhooks for approval requests.
export { approvalEvent, approvalPageUrl, APPROVAL_EVENT_TYPES, type ApprovalEvent, type ApprovalEventType } from './approval-event.js';
export { createApprovalNotifier, type ApprovalNotifier } from './approval-notifier.js';
export { DEFAULT_DELIVERY, type DeliveryCounters, type DeliveryOptions } from './delivery-queue.js';
export {
  loadNotificationTargets,
  notificationsConfigSchema,
  NotificationsConfigError,
  parseNotificationsConfig,
  type NotificationsConfig,
  type NotificationTargets,
} from './notifications-config.js';
export { verifyWebhookSignature, signWebhookBody, type SignatureCheck } from './webhook-signature.js';
