// The audit trail's series, the same in every process that keeps one (sidecar, broker, token
// exchange): whether it can record, what waits for the collector and since when, failed exports.
// Read at each scrape from the trail's own getters.
import { Gauge, type Registry } from 'prom-client';
import type { AuditTrail } from '../audit/index.js';
import { readingCounter } from './reading-counter.js';

export type ObservedTrail = Pick<AuditTrail, 'healthy' | 'backlog' | 'exportStats'>;

/** `trail` may be undefined until the trail is open (the series then read 0). */
export function registerAuditMetrics(registry: Registry, trail: () => ObservedTrail | undefined): void {
  const registers = [registry];
  new Gauge({
    name: 'sidegate_audit_healthy',
    help: '1 while the audit trail can record; 0: what needs evidence is refused (the sidecar denies every command with rule audit-unavailable).',
    registers,
    collect() {
      this.set(trail()?.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sidegate_audit_spool_bytes',
    help: 'Bytes of ended audit spans not yet delivered to the collector (or the file); the trail is unhealthy above its bound.',
    registers,
    collect() {
      this.set(trail()?.backlog().bytes ?? 0);
    },
  });
  new Gauge({
    name: 'sidegate_audit_spool_records',
    help: 'Audit spans ended and not yet delivered to the collector (or the file).',
    registers,
    collect() {
      this.set(trail()?.backlog().records ?? 0);
    },
  });
  new Gauge({
    name: 'sidegate_audit_export_lag_seconds',
    help: 'Age of the oldest audit span not yet delivered (0 when none waits).',
    registers,
    collect() {
      const oldest = trail()?.backlog().oldestUnixMs;
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });
  readingCounter(registry, 'sidegate_audit_export_failures_total', 'Audit exports the collector refused or that failed (the spans stay spooled and are retried).', () => trail()?.backlog().failedExports ?? 0);
  readingCounter(registry, 'sidegate_audit_exported_spans_total', 'Audit spans the collector accepted.', () => trail()?.exportStats().exportedSpans ?? 0);
  readingCounter(
    registry,
    'sidegate_audit_rejected_spans_total',
    'Audit spans a collector answered as rejected in a partial success (the whole batch stays spooled and is retried; counted once per answer).',
    () => trail()?.exportStats().rejectedSpans ?? 0,
  );
}
