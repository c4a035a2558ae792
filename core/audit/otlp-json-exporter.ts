// The OTLP/HTTP transport for already encoded trace requests. The HTTP side (URL and header
// configuration, timeouts, retries of retryable answers, response handling) is the OpenTelemetry
// exporter's own delegate, as OTLPTraceExporter builds it; only the serializer differs: ours
// receives the request body ready made (otlp-span-json.ts) instead of SDK spans to transform.
import type { ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import type { IExportTraceServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';

/** One ExportTraceServiceRequest, encoded. */
export interface EncodedTraceRequest {
  body: Uint8Array;
  spans: number;
}

export interface TraceRequestExporter {
  export(request: EncodedTraceRequest, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

const preEncoded: ISerializer<EncodedTraceRequest, IExportTraceServiceResponse> = {
  serializeRequest: (request) => request.body,
  // The collector's JSON answer (partial success), read as the transformer reads it (an empty or
  // unreadable body is an empty answer) without loading the transformer for it.
  deserializeResponse: (data) => {
    try {
      return data.length === 0 ? {} : (JSON.parse(Buffer.from(data).toString('utf8')) as IExportTraceServiceResponse);
    } catch {
      return {};
    }
  },
};

export function createOtlpJsonExporter(config: { url: string; headers?: Record<string, string>; timeoutMillis?: number }): TraceRequestExporter {
  return new OTLPExporterBase<EncodedTraceRequest>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/json' }),
      preEncoded,
      'otlp_http_span_exporter',
      { name: 'span', countItems: (request) => request.spans },
      undefined,
    ),
  );
}
