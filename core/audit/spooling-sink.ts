// The OTLP-mode span sink: no silent loss. The OTel BatchSpanProcessor drops spans when its
// queue is full or an export fails; audit spans are evidence, so instead every ended span is
// first appended to the durable spool (fsync'd in small batches), and a single export loop sends
// what the spool holds, oldest first, with the OTLP exporter. While the exporter keeps up, what
// it sends comes from the spool's memory copy of what it just made durable (no read-back). Only a successful export commits
// (forgets) a batch; a failed one stays and is retried with backoff. A spool left by a previous
// run is simply the start of the queue. When undelivered data outgrows its bound the processor
// reports unhealthy (the gate then denies new commands) but still keeps every span. A collector's
// `partialSuccess` with rejected spans is a failed export like any other (export-rejection.ts).
// At a stop, `drain` keeps exporting until a deadline and then says exactly what stayed behind.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import { EXPORT_FAILED, EXPORT_SUCCESS } from './deferred-exporter.js';
import type { Logger } from '../logging/logger.js';
import type { EncodedSpanSink } from './span-sealer.js';
import { DurableSpool, type SpoolBatch } from './durable-spool.js';
import { DurableWriteQueue } from './durable-write-queue.js';
import { DeliveryBacklog, type AuditBacklog } from './delivery-backlog.js';
import { RejectedSpansError } from './export-rejection.js';
import type { EncodedTraceRequest, TraceRequestExporter } from './otlp-http-exporter.js';
import { SpanRecordError, decodeSpanRecord, spanRecordPrefix } from './span-record.js';

export interface SpoolingSinkOptions {
  exporter: TraceRequestExporter;
  spool: DurableSpool;
  /** The encoded Resource of spans pushed by this process. */
  resourceJson: string;
  /** Undelivered bytes (spool + not yet written) above which `healthy` is false. */
  maxSpoolBytes: number;
  log: Logger;
  /** Names the collector in log lines (a URL without credentials). */
  destination: string;
  maxBatchSpans?: number;
  maxBatchBytes?: number;
  /**
   * How long spooled spans may wait for company before they are exported (default 200 ms; a full
   * batch or a flush goes at once). Durability comes from the spool, so waiting costs nothing but
   * latency at the collector, and fewer, larger requests (and commits) cost far less.
   */
  exportDelayMs?: number;
  /** How long an append waits for more spans before its write and fsync (default 20 ms). */
  spoolLingerMs?: number;
  initialRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** Counters since start, for metrics and the operator (read-only copies). */
export interface ExportStats {
  /** Batches the collector accepted whole, and the spans in them. */
  exportedBatches: number;
  exportedSpans: number;
  /** Export attempts that failed (transport, HTTP status, timeout, or spans rejected). */
  failedExports: number;
  /** Of those, attempts the collector answered with partialSuccess.rejectedSpans > 0; and the span counts it gave. */
  partialSuccessExports: number;
  rejectedSpans: number;
  /** When the last failure happened (ms since the epoch), if any. */
  lastFailureAt?: number;
}

/** What a stop could not deliver: still in the spool, gone with the pod if its volume is. */
export interface UndeliveredReport {
  /** Spans durable in the spool but not accepted by the collector. */
  spans: number;
  /** The earliest start time among them (decimal nanoseconds since the epoch). */
  oldestStartTimeUnixNano?: string;
  /** Bytes ended but never written to the spool (the disk failed): lost, not only undelivered. */
  unwrittenBytes: number;
  /** File mode: nothing is exported, ended spans are in the local file. */
  localFile?: string;
}

export class SpoolingSink implements EncodedSpanSink {
  private readonly writes: DurableWriteQueue<Buffer>;
  /** What every record of this process starts with (span-record.ts, version 2). */
  private readonly recordPrefixBytes: Buffer;
  private pumping = false;
  private closed = false;
  private readonly stats: ExportStats = { exportedBatches: 0, exportedSpans: 0, failedExports: 0, partialSuccessExports: 0, rejectedSpans: 0 };
  /** While a drain runs, retries come quickly: the grace period is all the time left. */
  private drainRetryMs?: number;
  private retryDelayMs: number;
  private wakeSleep?: () => void;
  private progressWaiters: (() => void)[] = [];
  private reportedOverBound = false;
  /** True from a failed export until the next successful one (one log line per episode). */
  private exportFailing = false;
  private pumpTimer?: NodeJS.Timeout;
  /** forceFlush calls in progress: while any waits, batches go out without delay. */
  private flushing = 0;
  private readonly backlog: DeliveryBacklog;

  constructor(private readonly opts: SpoolingSinkOptions) {
    this.backlog = new DeliveryBacklog(opts.spool.carried);
    this.recordPrefixBytes = Buffer.from(spanRecordPrefix(opts.resourceJson), 'utf8');
    this.retryDelayMs = opts.initialRetryDelayMs ?? 250;
    this.writes = new DurableWriteQueue<Buffer>({
      write: (lines) => opts.spool.append(lines),
      onWritten: () => {
        this.checkBound();
        this.schedulePump();
      },
      destination: opts.spool.dir,
      log: opts.log,
      maxBatchItems: opts.maxBatchSpans ?? 512,
      lingerMs: opts.spoolLingerMs ?? 20,
    });
    if (opts.spool.pendingBytes > 0) {
      opts.log.info('audit: re-exporting spans spooled by a previous run', { bytes: opts.spool.pendingBytes, destination: opts.destination });
      this.checkBound();
      void this.pump();
    }
  }

  get healthy(): boolean {
    return !this.writes.failing && this.undeliveredBytes() <= this.opts.maxSpoolBytes;
  }

  /** What waits for the collector, for metrics and reports. */
  pending(): AuditBacklog {
    return { records: this.backlog.records, bytes: this.undeliveredBytes(), oldestUnixMs: this.backlog.oldestUnixMs, failedExports: this.stats.failedExports };
  }

  exportStats(): ExportStats {
    return { ...this.stats };
  }

  /** Spans ended but not yet delivered, in bytes (on disk or on their way there). */
  undeliveredBytes(): number {
    return this.opts.spool.pendingBytes + this.writes.bufferedBytes;
  }

  push(spanJson: string): void {
    // Encoded now, into one buffer per record: the span's text dies young instead of waiting on
    // the JS heap (and being promoted to its old generation) until the spool write.
    const prefix = this.recordPrefixBytes;
    const n = Buffer.byteLength(spanJson, 'utf8');
    const record = Buffer.allocUnsafe(prefix.length + n + 1);
    prefix.copy(record, 0);
    record.write(spanJson, prefix.length, 'utf8');
    record[prefix.length + n] = 0x7d; // }
    this.writes.push(record, record.length + 1);
    this.backlog.added();
    this.checkBound();
  }

  /**
   * Everything ended so far is delivered, or durable in the spool and the collector has just
   * refused it (the export loop keeps retrying; the next run replays it if this one ends).
   */
  /** Everything pushed so far is in the spool (durable), delivered or not. */
  persist(timeoutMs: number): Promise<void> {
    return this.writes.drained(timeoutMs);
  }

  async forceFlush(timeoutMs = 30_000): Promise<void> {
    this.flushing++;
    try {
      await this.flushWithin(timeoutMs);
    } finally {
      this.flushing--;
    }
  }

  private async flushWithin(timeoutMs: number): Promise<void> {
    await this.writes.drained(timeoutMs);
    if (this.closed) return; // durable in the spool; the next run delivers it
    const target = this.opts.spool.position.appended;
    const failuresBefore = this.stats.failedExports;
    const deadline = Date.now() + timeoutMs;
    while (this.opts.spool.position.committed < target && this.stats.failedExports === failuresBefore && Date.now() < deadline) {
      this.wakeSleep?.();
      void this.pump();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.progressWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async shutdown(): Promise<void> {
    try {
      await this.forceFlush(10_000);
    } finally {
      await this.close(Infinity);
    }
  }

  /**
   * The stop of a process whose spool may not outlive it (an emptyDir): export, retrying failures
   * quickly, until everything is delivered or `timeoutMs` has passed; then close and report what
   * was not delivered. Never takes much longer than `timeoutMs`: an export still in flight at the
   * deadline is abandoned (its spans count as undelivered; the collector may still get them).
   */
  async drain(timeoutMs: number): Promise<UndeliveredReport> {
    const deadline = Date.now() + timeoutMs;
    this.flushing++;
    this.drainRetryMs = 200;
    try {
      await this.writes.drained(Math.max(1, deadline - Date.now())).catch(() => {});
      const target = this.opts.spool.position.appended;
      // A retry already waiting out a long backoff goes now; later ones wait drainRetryMs.
      this.wakeSleep?.();
      while (!this.closed && this.opts.spool.position.committed < target && Date.now() < deadline) {
        void this.pump();
        await this.progressOrTimeout(deadline);
      }
    } finally {
      this.flushing--;
      this.drainRetryMs = undefined;
      await this.close(deadline);
    }
    const report: UndeliveredReport = { spans: 0, unwrittenBytes: this.writes.bufferedBytes };
    await this.opts.spool.forEachPending((record) => {
      report.spans++;
      const start = startTimeOf(record);
      if (start && (!report.oldestStartTimeUnixNano || compareNanos(start, report.oldestStartTimeUnixNano) < 0)) report.oldestStartTimeUnixNano = start;
    });
    return report;
  }

  /** Stops the export loop (waiting for it until `deadline`), closes the spool and the exporter. */
  private async close(deadline: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.wakeSleep?.();
    this.writes.close();
    if (this.writes.bufferedBytes > 0) {
      this.opts.log.error('audit: spans could not be written to the spool before shutdown', { bytes: this.writes.bufferedBytes, destination: this.opts.spool.dir });
    }
    while (this.pumping && Date.now() < deadline) await this.progressOrTimeout(deadline);
    await this.opts.spool.close();
    // An export abandoned in flight must not hold the stop: the exporter's own shutdown waits for it.
    if (!this.pumping) await this.opts.exporter.shutdown();
  }

  private progressOrTimeout(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(1, Math.min(deadline - Date.now(), 2_147_483_647)));
      this.progressWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** A full batch (or a flush) goes now; less waits up to `exportDelayMs` for company. */
  private schedulePump(): void {
    if (this.pumping || this.closed) return;
    if (this.batchReady()) {
      void this.pump();
      return;
    }
    // Unreferenced: a process with nothing else to do may exit; the spool keeps the spans.
    this.pumpTimer ??= setTimeout(() => {
      this.pumpTimer = undefined;
      void this.pump();
    }, this.opts.exportDelayMs ?? 200).unref();
  }

  private batchReady(): boolean {
    return this.flushing > 0 || this.opts.spool.pendingBytes >= Math.min(this.opts.maxBatchBytes ?? 4 * 1024 * 1024, 1024 * 1024);
  }

  /** The export loop: one batch at a time, oldest first; at most one loop runs. */
  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.pumping = true;
    let exported = false;
    try {
      while (!this.closed) {
        // After a batch, a small remainder waits for company (schedulePump below).
        if (exported && !this.batchReady()) break;
        const batch = await this.opts.spool.readBatch(this.opts.maxBatchSpans ?? 512, this.opts.maxBatchBytes ?? 4 * 1024 * 1024);
        if (batch.records.length === 0) break;
        const spans = await this.decode(batch);
        const result = spans.length > 0 ? await exportOnce(this.opts.exporter, { spans }) : { code: EXPORT_SUCCESS };
        if (result.code === EXPORT_SUCCESS) {
          await this.opts.spool.commit(batch);
          this.backlog.delivered(batch.records.length);
          this.stats.exportedBatches++;
          this.stats.exportedSpans += spans.length;
          if (this.exportFailing) this.opts.log.info('audit: collector reachable again; delivering spooled spans', { destination: this.opts.destination });
          this.exportFailing = false;
          this.retryDelayMs = this.opts.initialRetryDelayMs ?? 250;
          this.checkBound();
          this.notifyProgress();
          exported = true;
          continue;
        }
        this.stats.failedExports++;
        this.stats.lastFailureAt = Date.now();
        const rejection = result.error instanceof RejectedSpansError ? result.error : undefined;
        if (rejection) {
          this.stats.partialSuccessExports++;
          this.stats.rejectedSpans += rejection.rejectedSpans;
          // Every rejection is a line (retries back off, so they stay few): a collector that
          // refuses part of the evidence is something an operator must see each time.
          this.opts.log.error('audit: the collector rejected spans (partialSuccess); the batch stays in the spool and is retried', {
            destination: this.opts.destination,
            rejectedSpans: rejection.rejectedSpans,
            batchSpans: spans.length,
            collectorMessage: rejection.collectorMessage,
          });
        } else if (!this.exportFailing) {
          this.opts.log.warn('audit: export failed; spans stay in the spool and are retried', {
            destination: this.opts.destination,
            error: safeExportError(result),
            undeliveredBytes: this.undeliveredBytes(),
          });
        }
        this.exportFailing = true;
        this.notifyProgress();
        await this.sleep(this.drainRetryMs ?? this.retryDelayMs);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.opts.maxRetryDelayMs ?? 30_000);
      }
    } catch (err) {
      // Spool I/O failed: the data is still on disk; try again later.
      this.opts.log.error('audit: spool read/commit failed; retrying', { error: (err as { code?: string }).code ?? 'io error' });
      if (!this.closed) setTimeout(() => void this.pump(), 1000).unref();
    } finally {
      this.pumping = false;
      this.notifyProgress();
      if (exported && this.opts.spool.pendingBytes > 0) this.schedulePump();
    }
  }

  /**
   * Records that cannot be decoded (a damaged spool) would block delivery forever; they are
   * moved to `quarantine.jsonl` next to the spool, with an error log line, never dropped quietly.
   */
  private async decode(batch: SpoolBatch): Promise<{ resource: string; span: Buffer }[]> {
    const spans: { resource: string; span: Buffer }[] = [];
    const prefix = this.recordPrefixBytes;
    for (const record of batch.records) {
      // This process's own records, straight from memory: their layout is known.
      if (batch.fromMemory && record.length > prefix.length && prefix.equals(record.subarray(0, prefix.length))) {
        spans.push({ resource: this.opts.resourceJson, span: record.subarray(prefix.length, record.length - 1) });
        continue;
      }
      const line = record.toString('utf8');
      try {
        const decoded = decodeSpanRecord(line);
        spans.push({ resource: decoded.resource, span: Buffer.from(decoded.span, 'utf8') });
      } catch (err) {
        if (!(err instanceof SpanRecordError)) throw err;
        await appendFile(join(this.opts.spool.dir, 'quarantine.jsonl'), line + '\n', { mode: 0o600 });
        this.opts.log.error('audit: damaged spool record moved to quarantine', { file: join(this.opts.spool.dir, 'quarantine.jsonl'), reason: err.message });
      }
    }
    return spans;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      // A process with nothing else to do may exit while waiting: the spool keeps the data.
      t.unref();
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = () => {
        this.wakeSleep = undefined;
        done();
      };
    });
  }

  private notifyProgress(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const w of waiters) w();
  }

  private checkBound(): void {
    const over = this.undeliveredBytes() > this.opts.maxSpoolBytes;
    if (over && !this.reportedOverBound) {
      this.opts.log.error('audit: undelivered spans exceed the spool bound; new commands are denied until the collector catches up', {
        undeliveredBytes: this.undeliveredBytes(),
        maxSpoolBytes: this.opts.maxSpoolBytes,
        destination: this.opts.destination,
      });
    } else if (!over && this.reportedOverBound) {
      this.opts.log.info('audit: spool back under its bound', { undeliveredBytes: this.undeliveredBytes() });
    }
    this.reportedOverBound = over;
  }
}

function exportOnce(exporter: TraceRequestExporter, request: EncodedTraceRequest): Promise<ExportResult> {
  return new Promise((resolve) => {
    try {
      exporter.export(request, resolve);
    } catch (err) {
      resolve({ code: EXPORT_FAILED, error: err as Error });
    }
  });
}

/** The span's start time in a spool record (`"startTimeUnixNano":"…"` first appears in the span: the resource has none, and JSON strings escape their quotes). */
function startTimeOf(record: Buffer): string | undefined {
  const key = Buffer.from('"startTimeUnixNano":"');
  const at = record.indexOf(key);
  if (at < 0) return undefined;
  const end = record.indexOf(0x22, at + key.length);
  const text = end > 0 ? record.toString('latin1', at + key.length, end) : '';
  return /^[0-9]{1,20}$/.test(text) ? text : undefined;
}

function compareNanos(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** Exporter errors name the URL and status; they never carry headers (where a token would be). */
function safeExportError(result: ExportResult): string {
  return (result.error?.message ?? 'export failed').slice(0, 200);
}
