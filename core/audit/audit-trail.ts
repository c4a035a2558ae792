// The audit trail: one span per session and a child span (kind CLIENT, same trace) per command,
// hash-chained, exported over OTLP/HTTP (protobuf by default, or JSON) when an OTEL_EXPORTER_OTLP_*
// endpoint is set (through a durable spool: nothing is lost while the collector is away), or
// appended to a local OTLP/JSON lines file otherwise. The Resource and the exporter follow the
// OpenTelemetry SDK environment variables (otlp-env.ts, otel-resource-env.ts). Protocol-agnostic: callers bring semantic-convention (db.*, http.*,
// server.*) and sidegate.* attributes; this module neither reads nor filters them (keeping secrets
// out of them is the caller's job) beyond bounding their size.
//
// Spans are built and encoded by sidegate itself (audit-span.ts, otlp-span-json.ts) rather than
// through the OTel SDK's tracer: one span per command makes their cost the proxy's, and the
// encoded OTLP/JSON is what the hash covers and the spool keeps; the exporter sends it as it is
// (http/json) or through the transformer's protobuf serializer (http/protobuf). Transport is the
// OpenTelemetry OTLP/HTTP exporter's. Only OpenTelemetry's diagnostic logger is set globally (to
// our log); there is no auto-instrumentation (it would trace the proxy's own sockets).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createLogger, type Logger } from '../logging/logger.js';
import { boundedAttributes, type AttributeSet, type Attributes } from './attribute-values.js';
import { AuditSpan } from './audit-span.js';
import { DurableSpool } from './durable-spool.js';
import { HashChain } from './hash-chain.js';
import { OtlpConfigError, otlpTracesConfig, type OtlpTlsFiles } from './otlp-env.js';
import { OtlpJsonFileSink } from './otlp-json-file-sink.js';
import { deferredOtlpExporter } from './deferred-exporter.js';
import { resourceFromEnv } from './otel-resource-env.js';
import { routeOtelDiagnostics } from './otel-diagnostics.js';
import { OTLP_SPAN_KIND, otlpResourceJson, type SpanLink } from './otlp-span-json.js';
import { newTraceId } from './span-ids.js';
import { SpanSealer } from './span-sealer.js';
import { SpoolingSink, type ExportStats, type UndeliveredReport } from './spooling-sink.js';
import type { AuditBacklog } from './delivery-backlog.js';

export type { Attributes, AttributeValue } from './attribute-values.js';
export type { SpanLink } from './otlp-span-json.js';
export type { AuditBacklog } from './delivery-backlog.js';
export type { ExportStats, UndeliveredReport } from './spooling-sink.js';
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
  /**
   * The stop of a process whose spool goes with it: export until everything is delivered or
   * `timeoutMs` has passed, close the trail, and say what was not delivered (nothing in file mode,
   * where ended spans are already in the file).
   */
  drain(timeoutMs: number): Promise<UndeliveredReport>;
  /** Export counters since start (all zero in file mode), for metrics. */
  exportStats(): ExportStats;
  /** False when spans cannot be made durable or the spool is over its bound: callers deny new commands. */
  readonly healthy: boolean;
  /** Where spans go, for the operator: the collector URL (no credentials) or the file path. */
  readonly destination: string;
  /** What is not delivered yet (records, bytes, the oldest's time) and failed exports so far: read-only, for metrics. */
  backlog(): AuditBacklog;
}

export interface AuditTrailOptions {
  /** service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name one (default sidegate). */
  serviceName?: string;
  /** Source of OTEL_EXPORTER_OTLP_* (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** OTLP/JSON lines file, used when no endpoint is configured. */
  filePath?: string;
  /** Durable spool directory, used when an endpoint is configured. */
  spoolDir?: string;
  /** The process's own Resource attributes (a pod's k8s.*); OTEL_RESOURCE_ATTRIBUTES wins over them. */
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
  routeOtelDiagnostics(log);
  const env = opts.env ?? process.env;
  const otlp = otlpTracesConfig(env);
  const resourceJson = otlpResourceJson(boundedAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName ?? 'sidegate', ...opts.resourceAttributes, ...resourceFromEnv(env) }));
  let sink: SpoolingSink | OtlpJsonFileSink;
  let destination: string;
  if (otlp) {
    if (!opts.spoolDir) throw new Error('audit: an OTLP endpoint needs a spool directory');
    const tls = await readTlsFiles(otlp.tls);
    const spool = await DurableSpool.open(opts.spoolDir, { segmentBytes: opts.spoolSegmentBytes });
    if (spool.repairedBytes > 0) log.warn('audit: dropped a torn, never-acknowledged tail of the spool', { bytes: spool.repairedBytes });
    destination = otlp.displayUrl;
    sink = new SpoolingSink({
      exporter: deferredOtlpExporter({
        url: otlp.url,
        protocol: otlp.protocol,
        headers: otlp.headers,
        timeoutMillis: opts.exportTimeoutMs ?? otlp.timeoutMs,
        compression: otlp.compression,
        tls,
      }),
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
    async drain(timeoutMs) {
      sealer.sealPending();
      if (closed) return { spans: 0, unwrittenBytes: 0 };
      closed = true;
      if (sink instanceof SpoolingSink) return sink.drain(timeoutMs);
      await sink.shutdown();
      return { spans: 0, unwrittenBytes: 0, localFile: destination };
    },
    exportStats: () => (sink instanceof SpoolingSink ? sink.exportStats() : { exportedBatches: 0, exportedSpans: 0, failedExports: 0, partialSuccessExports: 0, rejectedSpans: 0 }),
  };
}

/** The collector's TLS files, read now: a missing or unreadable one stops the start, naming it. */
async function readTlsFiles(files: OtlpTlsFiles): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const read = async (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new OtlpConfigError(`the OTLP ${what} file ${path} cannot be read (${(err as { code?: string }).code ?? 'error'})`);
    }
  };
  const [ca, cert, key] = await Promise.all([read(files.caFile, 'CA certificate'), read(files.certFile, 'client certificate'), read(files.keyFile, 'client key')]);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function sessionSpanName(attrs: Attributes): string {
  const protocol = attrs['sidegate.protocol'] ?? attrs['db.system.name'];
  const target = attrs['sidegate.target'];
  return [typeof protocol === 'string' ? protocol : '', 'session', typeof target === 'string' ? target : ''].filter(Boolean).join(' ');
}
