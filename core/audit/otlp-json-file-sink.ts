// The file-mode span sink (no OTLP endpoint configured): ended spans are appended to a local
// file as OTLP/JSON lines, one ExportTraceServiceRequest per line, encoded exactly as OTLP/HTTP
// JSON would send them, and fsync'd per batch. That append is itself the durable record. A failed
// write (disk full, permissions) keeps the spans in memory and retries; meanwhile, and whenever
// more than `maxBufferedBytes` wait, the processor reports unhealthy so the gate fails closed.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../logging/logger.js';
import type { EncodedSpanSink } from './span-sealer.js';
import { DurableWriteQueue } from './durable-write-queue.js';
import { DeliveryBacklog, type AuditBacklog } from './delivery-backlog.js';
import { otlpTraceRequestJson } from './otlp-span-json.js';

export interface OtlpJsonFileSinkOptions {
  filePath: string;
  /** The encoded Resource of every span. */
  resourceJson: string;
  log: Logger;
  /** Spans waiting for the disk above which `healthy` is false (default 64 MiB). */
  maxBufferedBytes?: number;
}

export class OtlpJsonFileSink implements EncodedSpanSink {
  private readonly writes: DurableWriteQueue<string>;
  private readonly maxBufferedBytes: number;
  private readonly backlog = new DeliveryBacklog();

  constructor(opts: OtlpJsonFileSinkOptions) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.writes = new DurableWriteQueue<string>({
      write: (spans) => appendDurably(opts.filePath, otlpTraceRequestJson(spans.map((span) => ({ resource: opts.resourceJson, span }))) + '\n'),
      onWritten: (spans) => this.backlog.delivered(spans.length),
      destination: opts.filePath,
      log: opts.log,
    });
  }

  get healthy(): boolean {
    return !this.writes.failing && this.writes.bufferedBytes <= this.maxBufferedBytes;
  }

  push(spanJson: string): void {
    this.writes.push(spanJson, spanJson.length);
    this.backlog.added();
  }

  /** What waits for the disk: the file is the delivery, so nothing is ever exported or fails to. */
  pending(): AuditBacklog {
    return { records: this.backlog.records, bytes: this.writes.bufferedBytes, oldestUnixMs: this.backlog.oldestUnixMs, failedExports: 0 };
  }

  /** Everything ended so far is in the file (fsync'd); rejects if the file stays unwritable. */
  /** Everything pushed so far is in the file (durable). */
  persist(timeoutMs: number): Promise<void> {
    return this.writes.drained(timeoutMs);
  }

  forceFlush(timeoutMs = 30_000): Promise<void> {
    return this.writes.drained(timeoutMs);
  }

  async shutdown(): Promise<void> {
    try {
      await this.forceFlush(10_000);
    } finally {
      this.writes.close();
    }
  }
}

async function appendDurably(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const h = await open(path, 'a', 0o600);
  try {
    const before = (await h.stat()).size;
    try {
      await h.write(data);
      await h.sync();
    } catch (err) {
      // No half line may stay behind: the retry appends the whole batch again.
      await h.truncate(before).catch(() => {});
      throw err;
    }
  } finally {
    await h.close();
  }
}
