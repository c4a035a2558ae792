// The token exchange's /metrics: exchanges and revocations by outcome (issued, revoked, unknown,
// or the RFC 6749/8693 error code of a refusal), how long they took, the credential issuers'
// own latency and failures per target, expiry sweeps and what they dropped, and the audit trail.
// Targets are configuration names (bounded); no subject, role name or login is ever a label.
import { Counter, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../../core/metrics/metrics-registry.js';
import { registerAuditMetrics, type ObservedTrail } from '../../core/metrics/audit-metrics.js';
import type { CredentialIssuer } from './credential-issuer.js';
import type { ExchangeOutcome, RevocationOutcome } from './exchange-outcome.js';

const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ExchangeMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly exchanges = new Counter({
    name: 'sidegate_exchange_exchanges_total',
    help: 'Token exchanges answered, by outcome: issued, or the OAuth error code of the refusal (invalid_grant, invalid_target, temporarily_unavailable…).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly revocations = new Counter({
    name: 'sidegate_exchange_revocations_total',
    help: 'Revocations answered, by outcome: revoked, unknown (not ours or already gone), or the OAuth error code of the refusal.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'sidegate_exchange_request_duration_seconds',
    help: 'Time to answer an exchange or a revocation (verification, the issuer and the audit record), by kind.',
    labelNames: ['kind'],
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  private readonly issuerDuration = new Histogram({
    name: 'sidegate_exchange_issuer_duration_seconds',
    help: "Time the target's credential issuer took, by target and operation (issue, revoke, sweep).",
    labelNames: ['target', 'operation'],
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  private readonly issuerFailures = new Counter({
    name: 'sidegate_exchange_issuer_failures_total',
    help: 'Credential issuer operations that failed (the target refused or could not be reached), by target and operation.',
    labelNames: ['target', 'operation'],
    registers: [this.registry],
  });
  private readonly sweeps = new Counter({ name: 'sidegate_exchange_sweeps_total', help: 'Expiry sweeps run, by target.', labelNames: ['target'], registers: [this.registry] });
  private readonly swept = new Counter({ name: 'sidegate_exchange_swept_credentials_total', help: 'Expired credentials the sweeps dropped, by target.', labelNames: ['target'], registers: [this.registry] });

  constructor(audit?: ObservedTrail) {
    if (audit) registerAuditMetrics(this.registry, () => audit);
  }

  /** Told of every answer (TokenExchange's onOutcome). */
  outcome(outcome: ExchangeOutcome | RevocationOutcome): void {
    const label = outcome.decision === 'refused' ? (outcome.refusal?.code ?? 'server_error') : outcome.decision;
    (outcome.kind === 'exchange' ? this.exchanges : this.revocations).inc({ outcome: label });
    this.duration.observe({ kind: outcome.kind }, outcome.durationMs / 1000);
  }

  /** The issuer, its operations timed and counted. */
  measured(issuer: CredentialIssuer): CredentialIssuer {
    const timed = <T>(operation: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const labels = { target: issuer.target, operation };
      return work().then(
        (result) => {
          this.issuerDuration.observe(labels, (performance.now() - started) / 1000);
          return result;
        },
        (err: unknown) => {
          this.issuerDuration.observe(labels, (performance.now() - started) / 1000);
          this.issuerFailures.inc(labels);
          throw err;
        },
      );
    };
    return {
      target: issuer.target,
      protocol: issuer.protocol,
      issue: (request) => timed('issue', () => issuer.issue(request)),
      revoke: (username, owner) => timed('revoke', () => issuer.revoke(username, owner)),
      sweep: async (nowMs) => {
        const result = await timed('sweep', () => issuer.sweep(nowMs));
        this.sweeps.inc({ target: issuer.target });
        this.swept.inc({ target: issuer.target }, result.dropped.length);
        return result;
      },
      close: () => issuer.close(),
    };
  }
}
