// The file-mode span processor (no OTLP endpoint configured): ended spans are appended to a local
// file as OTLP/JSON lines, one ExportTraceServiceRequest per line, encoded exactly as OTLP/HTTP
// JSON would send them, and fsync'd per batch. That append is itself the durable record. A failed
// write (disk full, permissions) keeps the spans in memory and retries; meanwhile, and whenever
// more than `maxBufferedBytes` wait, the processor reports unhealthy so the gate fails closed.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Logger } from '../logging/logger.js';
import { DurableWriteQueue } from './durable-write-queue.js';

export interface OtlpJsonFileProcessorOptions {
  filePath: string;
  log: Logger;
  /** Spans waiting for the disk above which `healthy` is false (default 64 MiB). */
  maxBufferedBytes?: number;
}

export class OtlpJsonFileProcessor implements SpanProcessor {
  private readonly writes: DurableWriteQueue<ReadableSpan>;
  private readonly maxBufferedBytes: number;

  constructor(private readonly opts: OtlpJsonFileProcessorOptions) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.writes = new DurableWriteQueue<ReadableSpan>({
      write: (spans) => appendDurably(opts.filePath, otlpJsonLine(spans)),
      destination: opts.filePath,
      log: opts.log,
    });
  }

  get healthy(): boolean {
    return !this.writes.failing && this.writes.bufferedBytes <= this.maxBufferedBytes;
  }

  onStart(_span: Span, _ctx: Context): void {}

  onEnd(span: ReadableSpan): void {
    this.writes.push(span, approximateBytes(span));
  }

  /** Everything ended so far is in the file (fsync'd); rejects if the file stays unwritable. */
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

/** One ExportTraceServiceRequest as a JSON line, byte-identical to an OTLP/HTTP JSON body. */
export function otlpJsonLine(spans: ReadableSpan[]): string {
  const body = JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array();
  return Buffer.from(body).toString('utf8') + '\n';
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

/** A cheap size estimate for the memory bound (serializing twice would cost more than it tells). */
function approximateBytes(span: ReadableSpan): number {
  let n = 256 + span.name.length;
  for (const [k, v] of Object.entries(span.attributes)) n += k.length + 32 + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length * 16 : 8);
  for (const e of span.events) n += 64 + e.name.length + JSON.stringify(e.attributes ?? {}).length;
  return n;
}
