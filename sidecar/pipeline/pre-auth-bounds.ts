// Bounds on a connection until its client is identified: a deadline from connect, and a slot
// among the process's unauthenticated connections (unauthenticated-slots.ts). Every adapter
// applies them from the first byte; a stalled or hostile peer cannot hold memory or sockets.
import type { UnauthenticatedSlots } from './unauthenticated-slots.js';

/** Default deadline from connect to an identified client. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

export interface PreAuthEnd {
  /** The deadline passed: the adapter ends the connection with this message. */
  timedOut(message: string): void;
  /** The slot went to a newer connection, or none could be had: the adapter ends it with this message. */
  evicted(message: string): void;
  /** Still waiting for bytes from its client (not verifying a token). */
  waitingForClient(): boolean;
}

export class PreAuthBounds {
  private timer: NodeJS.Timeout | undefined;
  private readonly slot = {
    waitingForClient: () => this.end.waitingForClient(),
    evict: () => this.end.evicted('sidegate: too many connections are waiting to authenticate; this one waited longest'),
  };

  constructor(
    private readonly end: PreAuthEnd,
    private readonly slots: UnauthenticatedSlots | undefined,
    timeoutMs = DEFAULT_AUTH_TIMEOUT_MS,
  ) {
    this.timer = setTimeout(() => end.timedOut(`sidegate: authentication timed out (${timeoutMs} ms from connect)`), timeoutMs);
    if (slots && !slots.acquire(this.slot)) {
      clearTimeout(this.timer);
      end.evicted('sidegate: too many connections are waiting to authenticate');
    }
  }

  /** The client is identified, or gone: its bounds no longer apply. */
  release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.slots?.release(this.slot);
  }
}
