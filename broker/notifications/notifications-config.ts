// The broker's `notifications:` settings and the secrets they point at. The schema and its parser
// are pure; loadNotificationTargets reads the secret files (a Slack webhook URL is itself the
// credential, a generic webhook has a shared HMAC secret), so the configuration file itself can be
// a ConfigMap and the secrets mounted Secrets. Errors name the field or the file, never a secret.
import { z } from 'zod';
import { APPROVAL_EVENT_TYPES, type ApprovalEventType } from './approval-event.js';
import { issuesLine } from '../../core/config/config-document.js';
import { readSecretFile } from '../../core/config/secret-file.js';

/** Secrets are short; a larger file is a wrong path, not a secret. */
const MAX_SECRET_FILE_BYTES = 4096;
/** An HMAC secret shorter than this is guessable; `openssl rand -hex 32` gives 64. */
export const MIN_WEBHOOK_SECRET_CHARS = 32;

const httpUrl = z.url({ protocol: /^https?$/ });
const filePath = z.string().min(1).max(4096);

export const notificationsConfigSchema = z.strictObject({
  /** Where approvers reach the broker's page; links are `<publicUrl>/approvals/<id>`. */
  publicUrl: httpUrl,
  slack: z.strictObject({ webhookUrlFile: filePath }).optional(),
  webhooks: z
    .array(
      z.strictObject({
        url: httpUrl.refine(isHttpsOrLoopback, 'must be https (plain http only to a loopback address)'),
        secretFile: filePath,
        events: z.array(z.enum(APPROVAL_EVENT_TYPES)).min(1).optional(),
      }),
    )
    .max(16)
    .default([]),
});

export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;

/** The configuration with its secrets read: what createApprovalNotifier takes. */
export interface NotificationTargets {
  publicUrl: string;
  slack?: { webhookUrl: string };
  webhooks: Array<{ url: string; secret: string; events?: ApprovalEventType[] }>;
}

export class NotificationsConfigError extends Error {
  override name = 'NotificationsConfigError';
}

/** Validates the `notifications:` block of the broker's configuration. */
export function parseNotificationsConfig(value: unknown, source = 'notifications'): NotificationsConfig {
  const result = notificationsConfigSchema.safeParse(value);
  if (!result.success) {
    throw new NotificationsConfigError(`${source}: invalid notifications configuration: ${issuesLine(result.error.issues)}`);
  }
  return result.data;
}

/** Reads the secret files the configuration names. */
export async function loadNotificationTargets(config: NotificationsConfig): Promise<NotificationTargets> {
  const targets: NotificationTargets = { publicUrl: config.publicUrl, webhooks: [] };
  if (config.slack) {
    const file = config.slack.webhookUrlFile;
    targets.slack = { webhookUrl: slackWebhookUrl(await readSecret(file), file) };
  }
  for (const hook of config.webhooks) {
    const secret = await readSecret(hook.secretFile);
    if (secret.length < MIN_WEBHOOK_SECRET_CHARS) {
      throw new NotificationsConfigError(`${hook.secretFile}: a webhook secret needs at least ${MIN_WEBHOOK_SECRET_CHARS} characters`);
    }
    targets.webhooks.push({ url: hook.url, secret, ...(hook.events ? { events: hook.events } : {}) });
  }
  return targets;
}

function readSecret(path: string): Promise<string> {
  return readSecretFile(path, MAX_SECRET_FILE_BYTES, (message) => new NotificationsConfigError(message));
}

// The URL is the credential: the message says what is wrong with it, never what it is.
function slackWebhookUrl(text: string, file: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NotificationsConfigError(`${file}: does not hold a URL`);
  }
  if (!isHttpsOrLoopback(url.href)) throw new NotificationsConfigError(`${file}: the webhook URL must be https (plain http only to a loopback address)`);
  return url.href;
}

// A webhook carries statements and, in its URL, often a credential: plain http only where it
// cannot leave the machine (local mode, tests).
function isHttpsOrLoopback(text: string): boolean {
  const url = new URL(text);
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname));
}
