// The audit trail: one span per session and a child span (kind CLIENT, same trace) per command,
// hash-chained, exported over OTLP/HTTP JSON when an OTEL_EXPORTER_OTLP_* endpoint is set (through
// a durable spool: nothing is lost while the collector is away), or appended to a local OTLP/JSON
// lines file otherwise. Protocol-agnostic: callers bring semantic-convention (db.*, http.*,
// server.*) and sidegate.* attributes; this module neither reads nor filters them (keeping secrets
// out of them is the caller's job) beyond bounding their size.
//
// Uses its own BasicTracerProvider, never registered globally, and no auto-instrumentation (it
// would trace the proxy's own sockets).
import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace, ROOT_CONTEXT, type HrTime, type Span } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger, type Logger } from '../logging/logger.js';
import { boundedAttributes, type Attributes } from './attribute-values.js';
import { DurableSpool } from './durable-spool.js';
import { CHAIN_ATTR, HashChain, type ExportedSpanLike } from './hash-chain.js';
import { otlpTracesConfig } from './otlp-env.js';
import { OtlpJsonFileProcessor } from './otlp-json-file-processor.js';
import { SpoolingSpanProcessor } from './spooling-span-processor.js';

export type { Attributes, AttributeValue } from './attribute-values.js';

export interface AuditCommand {
  setAttributes(attrs: Attributes): void;
  addEvent(name: string, attrs?: Attributes): void;
  /** Ends the span; `error` (safe to show, no secrets) sets status ERROR. Later calls are no-ops. */
  end(status?: { error?: string }): void;
}

export interface AuditSession extends AuditCommand {
  readonly traceId: string;
  readonly spanId: string;
  startCommand(name: string, attrs: Attributes): AuditCommand;
}

export interface AuditTrail {
  /** `name` defaults to `<sidegate.protocol|db.system.name> session <sidegate.target>`. */
  startSession(attrs: Attributes, name?: string): AuditSession;
  /**
   * Everything ended so far is exported (OTLP) / written (file), or safely spooled. Rejects when
   * the spans could not be made durable within `timeoutMs` (default 30 s).
   */
  flush(timeoutMs?: number): Promise<void>;
  shutdown(): Promise<void>;
  /** False when spans cannot be made durable or the spool is over its bound: callers deny new commands. */
  readonly healthy: boolean;
  /** Where spans go, for the operator: the collector URL (no credentials) or the file path. */
  readonly destination: string;
}

export interface AuditTrailOptions {
  serviceName?: string;
  /** Source of OTEL_EXPORTER_OTLP_* (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** OTLP/JSON lines file, used when no endpoint is configured. */
  filePath?: string;
  /** Durable spool directory, used when an endpoint is configured. */
  spoolDir?: string;
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Undelivered bytes above which the trail is unhealthy (default 256 MiB). */
  maxSpoolBytes?: number;
  log?: Logger;
  /** Export retry backoff (defaults 250 ms doubling to 30 s). */
  retryDelayMs?: { initial?: number; max?: number };
  /** Per-request export timeout; default from OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT or 10 s. */
  exportTimeoutMs?: number;
  /** Spool segment size (default 8 MiB). */
  spoolSegmentBytes?: number;
}

export const DEFAULT_MAX_SPOOL_BYTES = 256 * 1024 * 1024;

export async function createAuditTrail(opts: AuditTrailOptions): Promise<AuditTrail> {
  const log = opts.log ?? createLogger();
  const otlp = otlpTracesConfig(opts.env ?? process.env);
  let processor: SpanProcessor & { readonly healthy: boolean; forceFlush(timeoutMs?: number): Promise<void> };
  let destination: string;
  if (otlp) {
    if (!opts.spoolDir) throw new Error('audit: an OTLP endpoint needs a spool directory');
    const spool = await DurableSpool.open(opts.spoolDir, { segmentBytes: opts.spoolSegmentBytes });
    if (spool.repairedBytes > 0) log.warn('audit: dropped a torn, never-acknowledged tail of the spool', { bytes: spool.repairedBytes });
    destination = otlp.displayUrl;
    processor = new SpoolingSpanProcessor({
      exporter: new OTLPTraceExporter({ url: otlp.url, headers: otlp.headers, timeoutMillis: opts.exportTimeoutMs ?? otlp.timeoutMs }),
      spool,
      maxSpoolBytes: opts.maxSpoolBytes ?? DEFAULT_MAX_SPOOL_BYTES,
      log,
      destination,
      initialRetryDelayMs: opts.retryDelayMs?.initial,
      maxRetryDelayMs: opts.retryDelayMs?.max,
    });
  } else {
    if (!opts.filePath) throw new Error('audit: no OTLP endpoint and no audit file configured');
    destination = opts.filePath;
    processor = new OtlpJsonFileProcessor({ filePath: opts.filePath, log });
  }

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'sidegate', ...opts.resourceAttributes }),
    spanProcessors: [processor],
    // Explicit limits so OTEL_SPAN_* variables cannot make the SDK drop or cut what was hashed;
    // attribute-values.ts bounds sizes before they get here.
    spanLimits: {
      attributeCountLimit: 256,
      attributeValueLengthLimit: Infinity,
      eventCountLimit: 256,
      attributePerEventCountLimit: 256,
      linkCountLimit: 0,
      attributePerLinkCountLimit: 0,
    },
  });
  const tracer = provider.getTracer('sidegate.audit');
  const chain = new HashChain(randomBytes(8).toString('hex'));
  let closed = false;

  return {
    destination,
    get healthy() {
      return !closed && processor.healthy;
    },
    startSession(attrs, name) {
      const spanName = name ?? sessionSpanName(attrs);
      const span = tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes: boundedAttributes(attrs) }, ROOT_CONTEXT);
      const session = chainedSpan(span, chain);
      const parent = trace.setSpan(ROOT_CONTEXT, span);
      return {
        ...session,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        startCommand(cmdName, cmdAttrs) {
          return chainedSpan(tracer.startSpan(cmdName, { kind: SpanKind.CLIENT, attributes: boundedAttributes(cmdAttrs) }, parent), chain);
        },
      };
    },
    flush: (timeoutMs) => processor.forceFlush(timeoutMs),
    async shutdown() {
      if (closed) return;
      closed = true;
      await provider.shutdown();
    },
  };
}

function sessionSpanName(attrs: Attributes): string {
  const protocol = attrs['sidegate.protocol'] ?? attrs['db.system.name'];
  const target = attrs['sidegate.target'];
  return [typeof protocol === 'string' ? protocol : '', 'session', typeof target === 'string' ? target : ''].filter(Boolean).join(' ');
}

/**
 * Wraps an SDK span so that, just before it ends, it gets its chain link: seq and prev_hash, then
 * the hash over exactly what the SDK holds (read back from the span itself, with the end time we
 * pass to `end`), so the exported span and its hash cannot disagree.
 */
function chainedSpan(span: Span, chain: HashChain): AuditCommand {
  const view = span as unknown as ReadableSpan;
  if (typeof view.attributes !== 'object' || !Array.isArray(view.startTime)) {
    throw new Error('audit: the tracer did not return an SDK span');
  }
  let ended = false;
  return {
    setAttributes(attrs) {
      if (!ended) span.setAttributes(boundedAttributes(attrs, view.attributes));
    },
    addEvent(name, attrs) {
      if (!ended) span.addEvent(name, boundedAttributes(attrs));
    },
    end(status) {
      if (ended) return;
      ended = true;
      if (status?.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: status.error.slice(0, 1024) });
      const endTime = notBefore(hrTime(), view.startTime);
      span.setAttributes({ ...chain.next() });
      const hash = chain.seal(exportedView(view, endTime));
      span.setAttribute(CHAIN_ATTR.hash, hash);
      span.end(endTime);
    },
  };
}

function exportedView(span: ReadableSpan, endTime: HrTime): ExportedSpanLike {
  const ctx = span.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    startTimeUnixNano: hrTimeToNanos(span.startTime),
    endTimeUnixNano: hrTimeToNanos(endTime),
    attributes: span.attributes,
    status: { code: span.status.code, message: span.status.message },
    events: span.events.map((e) => ({ name: e.name, timeUnixNano: hrTimeToNanos(e.time), attributes: e.attributes ?? {} })),
  };
}

/** As the OTLP transformer encodes times: integer nanoseconds, parts truncated. */
function hrTimeToNanos(t: HrTime): string {
  return (BigInt(Math.trunc(t[0])) * 1_000_000_000n + BigInt(Math.trunc(t[1]))).toString();
}

/** The SDK would silently replace an end before the start with the start; do it before hashing. */
function notBefore(t: HrTime, start: HrTime): HrTime {
  return t[0] < start[0] || (t[0] === start[0] && t[1] < start[1]) ? [start[0], start[1]] : t;
}
