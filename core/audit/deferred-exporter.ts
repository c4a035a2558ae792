// The OTLP exporter, loaded when the first batch is exported rather than at start.
//
// The OpenTelemetry modules behind it (@opentelemetry/core, the exporter base, and for protobuf the
// transformer and resources) add to start time and memory (docs/BENCHMARKS.md, Design
// measurements). Nothing waits on them: a span is durable in the spool before any export, and an
// export that cannot start yet is simply a failed attempt the spool retries. A sidecar whose job
// never talks to a target never loads them. That they can be loaded is still checked at start
// (module resolution only), so a broken installation fails before readiness, not at the first span.
import type { ExportResultCode } from '@opentelemetry/core';
import type { EncodedTraceRequest, OtlpHttpExporterConfig, TraceRequestExporter } from './otlp-http-exporter.js';

// @opentelemetry/core's two result codes, typed against its enum, without loading the module for
// them (it loads with the exporter, on first use).
export const EXPORT_SUCCESS: ExportResultCode.SUCCESS = 0;
export const EXPORT_FAILED: ExportResultCode.FAILED = 1;

export function deferredOtlpExporter(config: OtlpHttpExporterConfig): TraceRequestExporter {
  for (const specifier of ['@opentelemetry/otlp-exporter-base/node-http', '@opentelemetry/core', '@opentelemetry/otlp-transformer', '@opentelemetry/resources']) {
    import.meta.resolve(specifier);
  }
  let loading: Promise<TraceRequestExporter> | undefined;
  const load = () => (loading ??= import('./otlp-http-exporter.js').then((m) => m.createOtlpHttpExporter(config)));
  return {
    export(request: EncodedTraceRequest, done) {
      load().then(
        (exporter) => exporter.export(request, done),
        (err: Error) => done({ code: EXPORT_FAILED, error: err }),
      );
    },
    async shutdown() {
      if (loading) await (await loading).shutdown();
    },
  };
}
