// One line when the audit trail stops keeping evidence and one when it keeps it again: the
// transitions an operator alerts on (while it is unhealthy every command is denied). Polled,
// because the trail's health is a reading, not an event, and the trail is not ours to change.
import type { Logger, LogFields } from './logger.js';
import { SecurityEvent } from './security-events.js';

/** How often the trail's health is read. */
export const AUDIT_HEALTH_POLL_MS = 1_000;

export interface AuditHealthLog {
  /** Reads the trail now (what the timer does); the tests' clock. */
  check(): void;
  stop(): void;
}

export function logAuditHealth(trail: { readonly healthy: boolean; readonly destination?: string }, log: Logger, pollMs = AUDIT_HEALTH_POLL_MS): AuditHealthLog {
  let healthy = true;
  const fields = (): LogFields => (trail.destination !== undefined ? { destination: trail.destination } : {});
  const check = () => {
    const now = trail.healthy;
    if (now === healthy) return;
    healthy = now;
    if (now) log.info('audit trail healthy again; commands are decided by policy', { event: SecurityEvent.auditHealthy, ...fields() });
    else log.error('audit trail unhealthy; every command is denied until it recovers', { event: SecurityEvent.auditUnhealthy, ...fields() });
  };
  const timer = setInterval(check, pollMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
