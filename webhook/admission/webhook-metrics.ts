// The webhook's /metrics: what became of each pod admission and how long the answer took.
import { Counter, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../../core/metrics/metrics-registry.js';

/** Which admission check answered: the mutating injection or the validating check of control-plane tokens. */
export type AdmissionCheck = 'mutate' | 'validate';

/** injected: patched; skipped: admitted unchanged (not in scope, opted out, not a pod create; for validate: allowed); refused: denied (escape policy, forged marker, a control-plane token outside the sidecar); error: injection failed (failureMode decided). */
export type AdmissionResult = 'injected' | 'skipped' | 'refused' | 'error';

export class WebhookMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly admissions = new Counter({
    name: 'sidegate_webhook_admissions_total',
    help: 'Admission reviews answered, by check (mutate, validate) and result: injected, skipped (admitted unchanged), refused (the pod denied), error (injection failed; failureMode decided the answer).',
    labelNames: ['check', 'result'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'sidegate_webhook_admission_duration_seconds',
    help: 'Time from an AdmissionReview received to its answer sent (the namespace lookup included), by check and result.',
    labelNames: ['check', 'result'],
    // The API server gives up after the webhook's timeoutSeconds (5 s by default).
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  admitted(check: AdmissionCheck, result: AdmissionResult, seconds: number): void {
    this.admissions.inc({ check, result });
    this.duration.observe({ check, result }, seconds);
  }
}
