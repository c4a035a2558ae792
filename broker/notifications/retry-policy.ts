// When a failed delivery is tried again, and after how long. Pure: the queue supplies the clock
// and the randomness. Retried: network errors, timeouts, 408, 429 and 5xx — the receiver may do
// better later. Not retried: other 4xx (the request itself is wrong: a revoked Slack webhook, a
// receiver that refuses our signature) and 3xx (redirects are not followed: a webhook URL is a
// secret and must not be replayed to wherever a redirect points).

export type ResponseVerdict = 'delivered' | 'retry' | 'give-up';

export function verdictFor(status: number): ResponseVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'give-up';
}

export interface BackoffOptions {
  /** The first retry waits about this long; each next one twice as long. */
  baseMs: number;
  /** No wait is longer than this, whatever the attempt or a Retry-After says. */
  maxMs: number;
}

/**
 * The wait before attempt `attempt + 1` after attempt `attempt` failed: exponential, capped, with
 * "equal jitter" (half fixed, half random) so many brokers retrying at once spread out but none
 * retries immediately. A Retry-After the receiver sent wins, within the same cap.
 */
export function retryDelayMs(attempt: number, opts: BackoffOptions, random: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), opts.maxMs);
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** A Retry-After header (delay-seconds or an HTTP date) in milliseconds from `nowMs`; junk → undefined. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (!Number.isFinite(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(date - nowMs, 0);
}
