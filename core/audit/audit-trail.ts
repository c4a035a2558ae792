// The audit trail: one span per session and a child span (kind CLIENT, same trace) per command,
// hash-chained, exported over OTLP/HTTP JSON when an OTEL_EXPORTER_OTLP_* endpoint is set (through
// a durable spool: nothing is lost while the collector is away), or appended to a local OTLP/JSON
// lines file otherwise. Protocol-agnostic: callers bring semantic-convention (db.*, http.*,
// server.*) and sidegate.* attributes; this module neither reads nor filters them (keeping secrets
// out of them is the caller's job) beyond bounding their size.
//
// Spans are built and encoded by sidegate itself (audit-span.ts, otlp-span-json.ts) rather than
// through the OTel SDK's tracer: one span per command makes their cost the proxy's, and the
// encoded OTLP/JSON is what the hash covers, the spool keeps and the exporter sends. Transport is
// the OpenTelemetry OTLP/HTTP exporter's. Nothing is registered globally and there is no
// auto-instrumentation (it would trace the proxy's own sockets).
import { randomBytes } from 'node:crypto';
import { createLogger, type Logger } from '../logging/logger.js';
import { boundedAttributes, type AttributeSet, type Attributes } from './attribute-values.js';
import { AuditSpan } from './audit-span.js';
import { DurableSpool } from './durable-spool.js';
import { HashChain } from './hash-chain.js';
import { otlpTracesConfig } from './otlp-env.js';
import { OtlpJsonFileSink } from './otlp-json-file-sink.js';
import { deferredOtlpJsonExporter } from './deferred-exporter.js';
import { OTLP_SPAN_KIND, otlpResourceJson, type SpanLink } from './otlp-span-json.js';
import { newTraceId } from './span-ids.js';
import { SpanSealer } from './span-sealer.js';
import { SpoolingSink } from './spooling-sink.js';
import type { AuditBacklog } from './delivery-backlog.js';

export type { Attributes, AttributeValue } from './attribute-values.js';
export type { SpanLink } from './otlp-span-json.js';
export type { AuditBacklog } from './delivery-backlog.js';
export { AttributeSet } from './attribute-values.js';

export interface AuditCommand {
  readonly traceId: string;
  readonly spanId: string;
  setAttributes(attrs: Attributes): void;
  addEvent(name: string, attrs?: Attributes): void;
  /** Ends the span; `error` (safe to show, no secrets) sets status ERROR. Later calls are no-ops. */
  end(status?: { error?: string }): void;
}

export interface AuditSession extends AuditCommand {
  /** Links the session's span to a span of another trace (W3C ids, lower-case hex). */
  addLink(link: SpanLink): void;
  /**
   * `startTimeUnixNano` (from `nowUnixNano`) when the command began before its span is opened: a
   * proxy opens a statement's span after forwarding it, off the command's round trip.
   */
  startCommand(name: string, attrs: Attributes | AttributeSet, startTimeUnixNano?: string): AuditCommand;
}

export interface AuditTrail {
  /** `name` defaults to `<sidegate.protocol|db.system.name> session <sidegate.target>`. */
  startSession(attrs: Attributes, name?: string): AuditSession;
  /**
   * A span on its own (kind INTERNAL), in trace `traceId` (default a new one), linking to
   * `links`: evidence of an event that is no command of a session (an approval decision).
   */
  startSpan(name: string, attrs: Attributes, opts?: { traceId?: string; links?: readonly SpanLink[] }): AuditCommand;
  /**
   * Everything ended so far is durable where this trail keeps spans before export (the spool, or
   * the file), without waiting for the collector. Rejects when it is not within `timeoutMs`
   * (default 10 s): evidence that must exist before an answer waits on this.
   */
  persist(timeoutMs?: number): Promise<void>;
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
  /** What is not delivered yet (records, bytes, the oldest's time) and failed exports so far: read-only, for metrics. */
  backlog(): AuditBacklog;
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
  const resourceJson = otlpResourceJson(boundedAttributes({ 'service.name': opts.serviceName ?? 'sidegate', ...opts.resourceAttributes }));
  let sink: SpoolingSink | OtlpJsonFileSink;
  let destination: string;
  if (otlp) {
    if (!opts.spoolDir) throw new Error('audit: an OTLP endpoint needs a spool directory');
    const spool = await DurableSpool.open(opts.spoolDir, { segmentBytes: opts.spoolSegmentBytes });
    if (spool.repairedBytes > 0) log.warn('audit: dropped a torn, never-acknowledged tail of the spool', { bytes: spool.repairedBytes });
    destination = otlp.displayUrl;
    sink = new SpoolingSink({
      exporter: deferredOtlpJsonExporter({ url: otlp.url, headers: otlp.headers, timeoutMillis: opts.exportTimeoutMs ?? otlp.timeoutMs }),
      spool,
      resourceJson,
      maxSpoolBytes: opts.maxSpoolBytes ?? DEFAULT_MAX_SPOOL_BYTES,
      log,
      destination,
      initialRetryDelayMs: opts.retryDelayMs?.initial,
      maxRetryDelayMs: opts.retryDelayMs?.max,
    });
  } else {
    if (!opts.filePath) throw new Error('audit: no OTLP endpoint and no audit file configured');
    destination = opts.filePath;
    sink = new OtlpJsonFileSink({ filePath: opts.filePath, resourceJson, log });
  }

  const sealer = new SpanSealer(new HashChain(randomBytes(8).toString('hex')), sink);
  let closed = false;

  return {
    destination,
    get healthy() {
      return !closed && sink.healthy;
    },
    backlog: () => sink.pending(),
    startSession(attrs, name) {
      const session = new AuditSpan(newTraceId(), name ?? sessionSpanName(attrs), OTLP_SPAN_KIND.server, attrs, undefined, sealer);
      return {
        traceId: session.traceId,
        spanId: session.spanId,
        setAttributes: (a) => session.setAttributes(a),
        addEvent: (n, a) => session.addEvent(n, a),
        addLink: (link) => session.addLink(link),
        end: (status) => session.end(status),
        startCommand: (cmdName, cmdAttrs, start) => new AuditSpan(session.traceId, cmdName, OTLP_SPAN_KIND.client, cmdAttrs, session.spanId, sealer, start),
      };
    },
    startSpan(name, attrs, opts = {}) {
      return new AuditSpan(opts.traceId ?? newTraceId(), name, OTLP_SPAN_KIND.internal, attrs, undefined, sealer, undefined, opts.links);
    },
    persist(timeoutMs = 10_000) {
      if (closed) return Promise.reject(new Error('audit: the trail is closed'));
      sealer.sealPending();
      return sink.persist(timeoutMs);
    },
    flush(timeoutMs) {
      sealer.sealPending();
      return sink.forceFlush(timeoutMs);
    },
    async shutdown() {
      if (closed) return;
      closed = true;
      sealer.sealPending();
      await sink.shutdown();
    },
  };
}

function sessionSpanName(attrs: Attributes): string {
  const protocol = attrs['sidegate.protocol'] ?? attrs['db.system.name'];
  const target = attrs['sidegate.target'];
  return [typeof protocol === 'string' ? protocol : '', 'session', typeof target === 'string' ? target : ''].filter(Boolean).join(' ');
}
