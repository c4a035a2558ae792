// The last audit line of a stopping process (sidecar, broker, exchange): whether every span reached
// the collector, and if not, exactly how many stayed behind and since when. In a pod the spool is
// often an emptyDir that goes with it, so this line is the record of what the evidence lacks.
import type { Logger } from '../logging/logger.js';
import type { UndeliveredReport } from './spooling-sink.js';

/** How long the broker's and the exchange's stops export (their stop is bounded at 10 s). */
export const SERVICE_AUDIT_DRAIN_MS = 5_000;

export function reportUndelivered(log: Logger, report: UndeliveredReport, destination: string): void {
  if (report.localFile !== undefined) {
    log.info('audit: spans were kept in the local file, not exported', { file: report.localFile });
    return;
  }
  if (report.spans === 0 && report.unwrittenBytes === 0) {
    log.info('audit: every span was delivered before exit', { destination });
    return;
  }
  log.error('audit: spans were not delivered before exit', {
    destination,
    undeliveredSpans: report.spans,
    oldestUndeliveredSpanStart: report.oldestStartTimeUnixNano ? isoTime(report.oldestStartTimeUnixNano) : undefined,
    unwrittenBytes: report.unwrittenBytes || undefined,
  });
}

/** Decimal nanoseconds since the epoch as an ISO time (millisecond precision). */
export function isoTime(nanos: string): string {
  return new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
}
