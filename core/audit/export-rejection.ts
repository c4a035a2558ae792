// A collector that answered 200 with `partialSuccess.rejectedSpans > 0` kept only part of a batch.
// For audit evidence that is a failed export, never a success with a footnote: the whole batch
// stays in the spool and is sent again (a span the collector did accept arrives twice, which is
// what "at least once" allows). Kept apart from the exporter so the sink can tell it from a
// transport failure without loading the OpenTelemetry modules the exporter brings.

export class RejectedSpansError extends Error {
  override name = 'RejectedSpansError';
  constructor(
    readonly rejectedSpans: number,
    /** The collector's errorMessage, bounded; it describes the spans, never our credentials. */
    readonly collectorMessage: string,
  ) {
    super(`the collector rejected ${rejectedSpans} span(s) of the batch (partialSuccess)${collectorMessage ? `: ${collectorMessage}` : ''}`);
  }
}

/** The rejected-span count of an ExportTraceServiceResponse (int64: a number or a decimal string). */
export function rejectedSpanCount(response: { partialSuccess?: { rejectedSpans?: number | string } } | undefined): number {
  const n = Number(response?.partialSuccess?.rejectedSpans ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
