// A span processor that never drops a span silently. The OTel BatchSpanProcessor discards spans
// when its queue is full or an export fails; audit records are evidence, so this one:
//   1. serialises each batch of ended spans as one OTLP/JSON line and appends it to a durable
//      file before anything else happens — the local audit file in file mode, a spool otherwise;
//   2. (OTLP mode) exports the batch with the OTLP/HTTP exporter, retrying with backoff while
//      the collector is unavailable, and forgets the spool only once everything is delivered;
//   3. replays a spool left by a previous run (its batches are already serialised, so they are
//      POSTed as the same OTLP/JSON body the exporter sends);
//   4. reports unhealthy when undelivered data exceeds its bound, so the gate fails closed.
import { mkdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

export interface DurableExportOptions {
  /** File mode: the OTLP/JSON-lines audit file. */
  filePath?: string;
  /** OTLP mode: exporter, its traces URL and headers (for spool replay), and the spool dir. */
  exporter?: SpanExporter;
  tracesUrl?: string;
  headers?: Record<string, string>;
  spoolDir?: string;
  maxSpoolBytes?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  onWarning?: (msg: string) => void;
}

interface PendingBatch {
  spans: ReadableSpan[];
  bytes: number;
}

export class DurableExportProcessor implements SpanProcessor {
  private buffer: ReadableSpan[] = [];
  private timer?: NodeJS.Timeout;
  private readonly queue: PendingBatch[] = [];
  private exporting = false;
  private undeliveredBytes = 0;
  private retryDelay = 500;
  private retryTimer?: NodeJS.Timeout;
  private replay: string[] = [];
  private readonly spoolFile?: string;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private writeFailing = false;
  private writing = false;

  constructor(private readonly opts: DurableExportOptions) {
    if (opts.filePath) mkdirSync(dirname(opts.filePath), { recursive: true });
    if (opts.exporter && opts.spoolDir) {
      mkdirSync(opts.spoolDir, { recursive: true, mode: 0o700 });
      this.spoolFile = join(opts.spoolDir, 'spool.otlp.jsonl');
      try {
        const left = readFileSync(this.spoolFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
        this.replay = left;
        this.undeliveredBytes = left.reduce((n, l) => n + l.length, 0);
      } catch {
        /* no spool yet */
      }
      if (this.replay.length > 0) this.kick();
    }
  }

  get healthy(): boolean {
    // Spans waiting for the disk count too: a stalled disk must not grow memory without bound.
    return !this.writeFailing && this.buffer.length < 200_000 && this.undeliveredBytes <= (this.opts.maxSpoolBytes ?? 256 * 1024 * 1024);
  }

  get backlog(): number {
    return this.queue.length + this.replay.length + this.buffer.length;
  }

  onStart(_span: Span, _ctx: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed) {
      this.opts.onWarning?.('audit: span ended after shutdown; writing it anyway');
    }
    this.buffer.push(span);
    if (this.buffer.length >= (this.opts.batchSize ?? 512)) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.opts.flushIntervalMs ?? 200);
  }

  /**
   * Writes the buffered spans durably, then queues them for export. The write (append + fsync)
   * is asynchronous so a slow disk never stalls the proxy's event loop; one write at a time keeps
   * the file in span order, and spans ended meanwhile go into the next write.
   */
  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.buffer.length === 0) return;
    const spans = this.buffer;
    this.buffer = [];
    const line = Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array()).toString('utf8') + '\n';
    const durableFile = this.opts.filePath ?? this.spoolFile;
    if (!durableFile) {
      this.written(spans, line);
      return;
    }
    this.writing = true;
    appendDurably(durableFile, line).then(
      () => {
        this.writing = false;
        this.writeFailing = false;
        this.written(spans, line);
        if (this.buffer.length > 0) this.cut();
      },
      (err: Error) => {
        // Disk full, permissions…: keep the spans in memory (the trail reports unhealthy, so the
        // gate denies new commands) and try again. Never drop them.
        this.writing = false;
        if (!this.writeFailing) this.opts.onWarning?.(`audit: cannot write ${durableFile}: ${err.message}; new commands are denied until it can`);
        this.writeFailing = true;
        this.buffer = spans.concat(this.buffer);
        this.timer ??= setTimeout(() => this.cut(), 1000);
      },
    );
  }

  /** The batch is on disk: export it (OTLP mode) or we are done with it (file mode). */
  private written(spans: ReadableSpan[], line: string): void {
    if (this.opts.exporter) {
      this.undeliveredBytes += line.length;
      this.queue.push({ spans, bytes: line.length });
      if (!this.healthy) this.opts.onWarning?.('audit: undelivered spans exceed the spool bound; new commands are denied until the collector catches up');
      this.kick();
    } else {
      this.notifyIdle();
    }
  }

  private kick(): void {
    if (this.exporting || this.retryTimer) return;
    if (this.replay.length > 0) {
      void this.replayOne();
      return;
    }
    const batch = this.queue[0];
    if (!batch) {
      this.compactSpool();
      this.notifyIdle();
      return;
    }
    this.exporting = true;
    this.opts.exporter!.export(batch.spans, (result) => {
      this.exporting = false;
      if (result.code === 0) {
        this.queue.shift();
        this.undeliveredBytes -= batch.bytes;
        this.retryDelay = 500;
        this.kick();
      } else {
        this.scheduleRetry(`export failed: ${result.error?.message ?? 'unknown error'}`);
      }
    });
  }

  private async replayOne(): Promise<void> {
    this.exporting = true;
    const line = this.replay[0]!;
    try {
      const res = await fetch(this.opts.tracesUrl!, { method: 'POST', headers: { 'content-type': 'application/json', ...this.opts.headers }, body: line });
      if (!res.ok) throw new Error(`collector answered ${res.status}`);
      this.replay.shift();
      this.undeliveredBytes -= line.length;
      this.exporting = false;
      this.kick();
    } catch (err) {
      this.exporting = false;
      this.scheduleRetry(`replaying spooled spans failed: ${(err as Error).message}`);
    }
  }

  private scheduleRetry(why: string): void {
    this.opts.onWarning?.(`audit: ${why}; retrying in ${this.retryDelay} ms (nothing is dropped)`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryDelay);
    // Retrying must not by itself keep a finished process alive; the spool keeps the data.
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  /** Everything delivered: the spool can be emptied. */
  private compactSpool(): void {
    if (!this.spoolFile || this.queue.length > 0 || this.replay.length > 0 || this.buffer.length > 0) return;
    try {
      if (statSync(this.spoolFile).size > 0) truncateSync(this.spoolFile, 0);
    } catch {
      /* nothing spooled */
    }
  }

  private notifyIdle(): void {
    if (this.backlog > 0 || this.exporting || this.writing) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once everything ended so far is delivered (OTLP) or written (file). */
  forceFlush(timeoutMs = 30_000): Promise<void> {
    this.cut();
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.kick();
    }
    if (this.backlog === 0 && !this.exporting && !this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs); // still spooled durably; the next run replays it
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async shutdown(): Promise<void> {
    await this.forceFlush(10_000);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.opts.exporter?.shutdown();
  }
}

async function appendDurably(path: string, line: string): Promise<void> {
  // Append + fsync: when the promise resolves, the record is on disk. Batching keeps the number
  // of fsyncs small.
  const handle = await open(path, 'a', 0o600);
  try {
    await handle.write(line);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
