// The audit trail: a span per session and a child span per command, hash-chained, exported over
// OTLP/HTTP (OTEL_EXPORTER_OTLP_* as usual) or, with no endpoint, written as OTLP/JSON lines to a
// local file. Protocol-agnostic: callers bring their own semantic-convention attributes.
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { HashChain, type ChainInput } from './hash-chain.js';
import { DurableExportProcessor } from './durable-export.js';
import type { FlatValue } from './otlp-json-reader.js';

export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue>;

export interface AuditCommand {
  setAttributes(a: Attributes): void;
  addEvent(name: string, attrs?: Attributes): void;
  end(status?: { error?: string }): void;
}

export interface AuditSession extends AuditCommand {
  readonly traceId: string;
  startCommand(name: string, attrs: Attributes): AuditCommand;
}

export interface AuditTrail {
  startSession(attrs: Attributes, name?: string): AuditSession;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  readonly healthy: boolean;
  /** Where spans go, for the operator: a URL or a file path. */
  readonly destination: string;
}

export interface AuditTrailOptions {
  serviceName?: string;
  env?: NodeJS.ProcessEnv;
  filePath: string;
  spoolDir: string;
  resourceAttributes?: Record<string, string>;
  maxSpoolBytes?: number;
  onWarning?: (msg: string) => void;
}

export async function createAuditTrail(opts: AuditTrailOptions): Promise<AuditTrail> {
  const env = opts.env ?? process.env;
  const tracesUrl = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || (env['OTEL_EXPORTER_OTLP_ENDPOINT'] ? env['OTEL_EXPORTER_OTLP_ENDPOINT'].replace(/\/$/, '') + '/v1/traces' : undefined);
  const headers = parseHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? env['OTEL_EXPORTER_OTLP_HEADERS']);
  const processor = new DurableExportProcessor(
    tracesUrl
      ? { exporter: new OTLPTraceExporter({ url: tracesUrl, headers }), tracesUrl, headers, spoolDir: opts.spoolDir, maxSpoolBytes: opts.maxSpoolBytes, onWarning: opts.onWarning }
      : { filePath: opts.filePath, onWarning: opts.onWarning },
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'sidegate', ...opts.resourceAttributes }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('sidegate.audit');
  const chain = new HashChain();

  /** Wraps a span so its chain link is computed from exactly what will be exported. */
  const wrap = (span: Span, name: string, parentSpanId: string | undefined, startMs: number, attrs: Attributes): AuditCommand => {
    const recorded: Record<string, FlatValue> = { ...clean(attrs) };
    let ended = false;
    return {
      setAttributes(a) {
        if (ended) return;
        const c = clean(a);
        Object.assign(recorded, c);
        span.setAttributes(c);
      },
      addEvent(n, a) {
        if (!ended) span.addEvent(n, a ? clean(a) : undefined);
      },
      end(status) {
        if (ended) return;
        ended = true;
        const endMs = Math.max(Date.now(), startMs);
        const ctx = span.spanContext();
        const input: ChainInput = { traceId: ctx.traceId, spanId: ctx.spanId, parentSpanId, name, startMs, endMs, attributes: recorded, error: status?.error };
        if (status?.error) span.setStatus({ code: SpanStatusCode.ERROR, message: status.error });
        span.setAttributes(chain.link(input));
        span.end(endMs);
      },
    };
  };

  return {
    destination: tracesUrl ?? opts.filePath,
    get healthy() {
      return processor.healthy;
    },
    startSession(attrs, name) {
      const startMs = Date.now();
      const spanName = name ?? `${String(attrs['sidegate.protocol'] ?? 'session')} session ${String(attrs['sidegate.target'] ?? '')}`.trim();
      const span = tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes: clean(attrs), startTime: startMs });
      const parentCtx = trace.setSpan(context.active(), span);
      const sessionSpanId = span.spanContext().spanId;
      const self = wrap(span, spanName, undefined, startMs, attrs);
      return {
        ...self,
        traceId: span.spanContext().traceId,
        startCommand(cmdName, cmdAttrs) {
          const cStart = Date.now();
          const child = tracer.startSpan(cmdName, { kind: SpanKind.CLIENT, attributes: clean(cmdAttrs), startTime: cStart }, parentCtx);
          return wrap(child, cmdName, sessionSpanId, cStart, cmdAttrs);
        },
      };
    },
    flush: () => processor.forceFlush(),
    async shutdown() {
      await provider.shutdown();
    },
  };
}

function clean(a: Attributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

function parseHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (raw ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}
