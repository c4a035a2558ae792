// The OTLP/HTTP transport for spooled spans. The HTTP side (URL and header configuration,
// timeouts, compression, retries of retryable answers, response handling) is the OpenTelemetry
// exporter's own delegate, as OTLPTraceExporter builds it; the body is made from the spool's
// OTLP/JSON text: joined as it is for http/json, or handed to the transformer's protobuf
// serializer as ReadableSpans for http/protobuf (otlp-protobuf-spans.ts).
//
// The delegate counts any 2xx as success and only logs a `partialSuccess`; here an answer with
// rejected spans turns the export into a failure (RejectedSpansError), so the spool keeps them.
import type { ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase, type CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import { EXPORT_FAILED, EXPORT_SUCCESS } from './deferred-exporter.js';
import { RejectedSpansError, rejectedSpanCount } from './export-rejection.js';
import type { OtlpProtocol } from './otlp-env.js';
import { readableSpans } from './otlp-protobuf-spans.js';
import { otlpTraceRequestBody } from './otlp-span-json.js';

/** One ExportTraceServiceRequest's spans, each with its encoded Resource, as the spool keeps them. */
export interface EncodedTraceRequest {
  spans: readonly { resource: string; span: Buffer }[];
}

export interface TraceRequestExporter {
  export(request: EncodedTraceRequest, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export interface OtlpHttpExporterConfig {
  url: string;
  protocol: OtlpProtocol;
  headers?: Record<string, string>;
  timeoutMillis?: number;
  compression?: 'none' | 'gzip';
  /** PEM contents (already read): the collector's CAs, and our certificate and key for mutual TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

const CONTENT_TYPE: Record<OtlpProtocol, string> = { 'http/json': 'application/json', 'http/protobuf': 'application/x-protobuf' };
const MAX_COLLECTOR_MESSAGE = 200;

export function createOtlpHttpExporter(config: OtlpHttpExporterConfig): TraceRequestExporter {
  // The answer to the request in flight, as the serializer read it. One request at a time (the
  // spooling sink never sends two), so it belongs to the export that is waiting for its result.
  let answer: IExportTraceServiceResponse | undefined;
  const serializer: ISerializer<EncodedTraceRequest, IExportTraceServiceResponse> =
    config.protocol === 'http/json'
      ? { serializeRequest: (r) => otlpTraceRequestBody(r.spans), deserializeResponse: (data) => (answer = jsonAnswer(data)) }
      : {
          serializeRequest: (r) => ProtobufTraceSerializer.serializeRequest(readableSpans(r.spans)),
          deserializeResponse: (data) => (answer = ProtobufTraceSerializer.deserializeResponse(data)),
        };
  const base = new OTLPExporterBase<EncodedTraceRequest>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(
        {
          url: config.url,
          headers: config.headers,
          timeoutMillis: config.timeoutMillis,
          compression: (config.compression ?? 'none') as unknown as CompressionAlgorithm,
          httpAgentOptions: { keepAlive: true, ...(config.tls?.ca ? { ca: config.tls.ca } : {}), ...(config.tls?.cert ? { cert: config.tls.cert } : {}), ...(config.tls?.key ? { key: config.tls.key } : {}) },
        },
        'TRACES',
        'v1/traces',
        { 'Content-Type': CONTENT_TYPE[config.protocol] },
      ),
      serializer,
      'otlp_http_span_exporter',
      { name: 'span', countItems: (request) => request.spans.length },
      undefined,
    ),
  );
  let inFlight = false;
  return {
    export(request, done) {
      if (inFlight) {
        done({ code: EXPORT_FAILED, error: new Error('an export is already in flight') });
        return;
      }
      inFlight = true;
      answer = undefined;
      base.export(request, (result) => {
        inFlight = false;
        const rejected = rejectedSpanCount(answer);
        if (result.code === EXPORT_SUCCESS && rejected > 0) {
          const message = String(answer?.partialSuccess?.errorMessage ?? '').slice(0, MAX_COLLECTOR_MESSAGE);
          done({ code: EXPORT_FAILED, error: new RejectedSpansError(rejected, message) });
          return;
        }
        done(result);
      });
    },
    shutdown: () => base.shutdown(),
  };
}

/** The collector's JSON answer; an empty or unreadable body is an empty answer (as the transformer reads it). */
function jsonAnswer(data: Uint8Array): IExportTraceServiceResponse {
  try {
    return data.length === 0 ? {} : (JSON.parse(Buffer.from(data).toString('utf8')) as IExportTraceServiceResponse);
  } catch {
    return {};
  }
}
