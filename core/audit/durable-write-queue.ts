// Collects items (ended spans) and hands them to a durable write (append + fsync) in small
// batches, one write at a time and in arrival order, so the event loop never waits on the disk
// and the number of fsyncs stays small. A failed write keeps its items at the head of the queue
// and is retried with backoff: nothing is ever dropped. While writes fail, `failing` is true.
import type { Logger } from '../logging/logger.js';

export interface DurableWriteQueueOptions<T> {
  /** Must make the items durable or throw; called with at most `maxBatchItems` items. */
  write(items: T[]): Promise<void>;
  /** Called after a successful write, in order. */
  onWritten?(items: T[]): void;
  /** Names the destination in log lines (a path, never a secret). */
  destination: string;
  log: Logger;
  maxBatchItems?: number;
  maxBatchBytes?: number;
  /**
   * How long the first item of a batch waits for company (default 5 ms), also right after a
   * write: under load this bounds the fsync rate (one per linger) instead of fsyncing back to
   * back, which on a busy machine costs more CPU than the spans themselves.
   */
  lingerMs?: number;
  maxRetryDelayMs?: number;
}

interface Queued<T> {
  item: T;
  bytes: number;
}

export class DurableWriteQueue<T> {
  private readonly queue: Queued<T>[] = [];
  private queuedBytes = 0;
  private writing = false;
  private timer?: NodeJS.Timeout;
  private retryDelayMs = 0;
  private failures = 0;
  /** Items pushed / written so far: a flush waits until `written` reaches `pushed` at its start. */
  private pushed = 0;
  private written = 0;
  private waiters: { until: number; resolve: () => void }[] = [];
  private closed = false;

  constructor(private readonly opts: DurableWriteQueueOptions<T>) {}

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  get failing(): boolean {
    return this.failures > 0;
  }

  push(item: T, bytes: number): void {
    this.queue.push({ item, bytes });
    this.queuedBytes += bytes;
    this.pushed++;
    if (this.writing || this.retryDelayMs > 0) return;
    this.scheduleNext();
  }

  /** Writes now when a batch is full (or someone waits), otherwise after the linger. */
  private scheduleNext(): void {
    if (this.queue.length >= (this.opts.maxBatchItems ?? 512) || this.waiters.length > 0) this.writeNext();
    else this.timer ??= setTimeout(() => this.writeNext(), this.opts.lingerMs ?? 5);
  }

  /**
   * Resolves once every item pushed before the call is written. While writes fail it keeps
   * waiting (and retrying at once) until `timeoutMs`, then rejects: the caller must know.
   */
  drained(timeoutMs: number): Promise<void> {
    const until = this.pushed;
    if (this.written >= until) return Promise.resolve();
    if (this.retryDelayMs > 0) this.retryNow();
    else this.writeNext();
    return new Promise((resolve, reject) => {
      const waiter = {
        until,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`audit: ${until - this.written} span(s) not yet written to ${this.opts.destination}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Stops timers; items still queued stay in memory (there is nowhere else to put them). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private retryNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.retryDelayMs = 0;
    this.writeNext();
  }

  private writeNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.queue.length === 0) return;
    const maxItems = this.opts.maxBatchItems ?? 512;
    const maxBytes = this.opts.maxBatchBytes ?? 4 * 1024 * 1024;
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < maxItems && (n === 0 || bytes + this.queue[n]!.bytes <= maxBytes)) bytes += this.queue[n++]!.bytes;
    const batch = this.queue.slice(0, n);
    this.writing = true;
    this.opts.write(batch.map((q) => q.item)).then(
      () => {
        this.writing = false;
        this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        this.written += n;
        if (this.failures > 0) this.opts.log.info('audit: writing works again', { destination: this.opts.destination, failedAttempts: this.failures });
        this.failures = 0;
        this.retryDelayMs = 0;
        this.opts.onWritten?.(batch.map((q) => q.item));
        this.wakeWaiters();
        if (this.queue.length > 0 && !this.closed) this.scheduleNext();
      },
      (err: unknown) => {
        this.writing = false;
        this.failures++;
        if (this.failures === 1) {
          // Disk full, permissions…: the items stay queued; the trail reports unhealthy meanwhile.
          this.opts.log.error('audit: cannot write; spans are kept in memory and retried', {
            destination: this.opts.destination,
            error: errorCode(err),
          });
        }
        this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 50), this.opts.maxRetryDelayMs ?? 5000);
        if (!this.closed) this.timer = setTimeout(() => this.retryNow(), this.retryDelayMs);
      },
    );
  }

  private wakeWaiters(): void {
    const ready = this.waiters.filter((w) => this.written >= w.until);
    this.waiters = this.waiters.filter((w) => this.written < w.until);
    for (const w of ready) w.resolve();
  }
}

/** An errno code or a generic word: file system messages can carry paths but never secrets; keep logs terse anyway. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
