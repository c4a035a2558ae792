// The sidecar's /metrics: the pipeline's SidecarMetrics on prom-client, plus what the runtime
// counts (sessions, capture, egress) and the audit trail's backlog read at each scrape. Label
// values come from bounded sets only (protocols, decisions, policy rule names, reason codes).
// A prom-client observation costs about half a microsecond (label hashing), so commands are
// counted in plain numbers and added to their counter at each scrape, and the per-command
// histograms keep their labelled child.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../../core/metrics/metrics-registry.js';
import { registerAuditMetrics, type ObservedTrail } from '../../core/metrics/audit-metrics.js';
import type { Decision } from '../../core/vocabulary.js';
import type { HoldEnd, SidecarMetrics } from '../pipeline/sidecar-metrics.js';
import type { SessionOutcome } from '../pipeline/connection-session.js';

/** Policy evaluation is microseconds; the upper buckets catch a pathological policy. */
const INSPECTION_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];
/** From a fast point lookup to a long report or migration. */
const FORWARD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Humans answer in seconds to hours (a hold's timeout is at most the broker's maxTimeout). */
const HOLD_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** A reason code as a label, or `other`: a code is a short word, never free text. */
export function reasonLabel(reason: string): string {
  return /^[a-z0-9][a-z0-9._-]{0,47}$/i.test(reason) ? reason : 'other';
}

export class SidecarPrometheusMetrics implements SidecarMetrics {
  readonly registry: Registry;
  private readonly inspection: Histogram<'protocol'>;
  private readonly forward: Histogram<'protocol'>;
  private readonly holdsWaiting: Gauge<'protocol'>;
  private readonly holds: Counter<'protocol' | 'outcome'>;
  private readonly holdDuration: Histogram<'protocol'>;
  private readonly loginFailures: Counter<'protocol' | 'reason'>;
  private readonly upstreamFailures: Counter<'protocol'>;
  private readonly maskedValues: Counter<'protocol'>;
  private readonly sessionsActive: Gauge<'protocol'>;
  private readonly sessions: Counter<'protocol' | 'outcome'>;
  private readonly egress: Counter<'action'>;
  private readonly refused: Counter<'reason'>;
  private readonly overload: Counter;
  /** Commands since the last scrape: protocol → rule → decision → count. */
  private readonly uncounted = new Map<string, Map<string, Record<Decision['action'], number>>>();
  private readonly observed = new Map<string, Histogram.Internal<'protocol'>>();
  private audit?: ObservedTrail;

  constructor() {
    const registry = (this.registry = createMetricsRegistry());
    const registers = [registry];
    this.sessionsActive = new Gauge({ name: 'sidegate_sessions_active', help: 'Client connections being served now, by protocol.', labelNames: ['protocol'], registers });
    this.sessions = new Counter({
      name: 'sidegate_sessions_total',
      help: 'Client connections ended, by protocol and outcome (served, login-rejected, upstream-failed, unidentified: closed before it logged in).',
      labelNames: ['protocol', 'outcome'],
      registers,
    });
    const uncounted = this.uncounted;
    new Counter({
      name: 'sidegate_commands_total',
      help: 'Commands (statements) decided, by protocol, decision (allow, deny, approve) and the policy rule that decided.',
      labelNames: ['protocol', 'decision', 'rule'],
      registers,
      collect() {
        for (const [protocol, rules] of uncounted) {
          for (const [rule, counts] of rules) {
            for (const decision of ['allow', 'deny', 'approve'] as const) {
              if (counts[decision] === 0) continue;
              this.inc({ protocol, decision, rule }, counts[decision]);
              counts[decision] = 0;
            }
          }
        }
      },
    });
    this.inspection = new Histogram({
      name: 'sidegate_inspection_duration_seconds',
      help: "Time the gate took to decide one client message: built-in denials and policy rules (the adapter's parsing is before it).",
      labelNames: ['protocol'],
      buckets: INSPECTION_BUCKETS,
      registers,
    });
    this.forward = new Histogram({
      name: 'sidegate_forward_duration_seconds',
      help: "Time from a command's bytes written to the target until its reply was written to the client (the target's work plus relaying and masking); commands the target never ran are not observed.",
      labelNames: ['protocol'],
      buckets: FORWARD_BUCKETS,
      registers,
    });
    this.holdsWaiting = new Gauge({ name: 'sidegate_holds_waiting', help: 'Commands waiting for an approval now, by protocol.', labelNames: ['protocol'], registers });
    this.holds = new Counter({
      name: 'sidegate_holds_total',
      help: 'Holds ended, by protocol and outcome (approved, denied, expired, cancelled, unavailable: no broker, mismatched, client-cancelled, abandoned: the client left).',
      labelNames: ['protocol', 'outcome'],
      registers,
    });
    this.holdDuration = new Histogram({ name: 'sidegate_hold_duration_seconds', help: 'How long held commands waited for their outcome.', labelNames: ['protocol'], buckets: HOLD_BUCKETS, registers });
    this.loginFailures = new Counter({
      name: 'sidegate_login_failures_total',
      help: 'Logins refused before an identity was established, by protocol and reason (expired, bad-signature, not-a-token, startup-setting…).',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    this.upstreamFailures = new Counter({ name: 'sidegate_upstream_failures_total', help: "Sessions whose target refused sidegate's login or could not be reached, by protocol.", labelNames: ['protocol'], registers });
    this.maskedValues = new Counter({ name: 'sidegate_masked_values_total', help: 'Values the masker replaced in replies to clients, by protocol.', labelNames: ['protocol'], registers });
    this.egress = new Counter({ name: 'sidegate_egress_connections_total', help: "Captured connections to destinations no target names, by the egress policy's action.", labelNames: ['action'], registers });
    this.refused = new Counter({ name: 'sidegate_connections_refused_total', help: 'Captured connections refused before any adapter served them, by reason.', labelNames: ['reason'], registers });
    this.overload = new Counter({ name: 'sidegate_capture_overload_total', help: 'Captured connections closed because protocol detection was saturated.', registers });
    registerAuditMetrics(registry, () => this.audit);
  }

  /** The trail whose health and backlog the audit series read at each scrape. */
  observeAudit(audit: ObservedTrail): void {
    this.audit = audit;
  }

  sessionOpened(protocol: string): void {
    this.sessionsActive.inc({ protocol });
  }

  sessionClosed(protocol: string, outcome: SessionOutcome): void {
    this.sessionsActive.dec({ protocol });
    this.sessions.inc({ protocol, outcome });
  }

  egressConnection(action: string): void {
    this.egress.inc({ action });
  }

  connectionRefused(reason: string): void {
    this.refused.inc({ reason: reasonLabel(reason) });
  }

  captureOverloaded(): void {
    this.overload.inc();
  }

  commandDecided(protocol: string, decision: Pick<Decision, 'action' | 'rule'>): void {
    let rules = this.uncounted.get(protocol);
    if (!rules) this.uncounted.set(protocol, (rules = new Map()));
    let counts = rules.get(decision.rule);
    if (!counts) rules.set(decision.rule, (counts = { allow: 0, deny: 0, approve: 0 }));
    counts[decision.action]++;
  }

  inspected(protocol: string, seconds: number): void {
    this.byProtocol(this.inspection, 'inspection', protocol).observe(seconds);
  }

  forwarded(protocol: string, seconds: number): void {
    this.byProtocol(this.forward, 'forward', protocol).observe(seconds);
  }

  holdStarted(protocol: string): void {
    this.holdsWaiting.inc({ protocol });
  }

  holdEnded(protocol: string, end: HoldEnd, seconds: number): void {
    this.holdsWaiting.dec({ protocol });
    this.holds.inc({ protocol, outcome: end });
    this.holdDuration.observe({ protocol }, seconds);
  }

  loginRejected(protocol: string, reason: string): void {
    this.loginFailures.inc({ protocol, reason: reasonLabel(reason) });
  }

  upstreamFailed(protocol: string): void {
    this.upstreamFailures.inc({ protocol });
  }

  masked(protocol: string, values: number): void {
    this.maskedValues.inc({ protocol }, values);
  }

  /** Per-command histograms keep their labelled child: a map lookup instead of prom-client's label hashing. */
  private byProtocol(histogram: Histogram<'protocol'>, name: string, protocol: string): Histogram.Internal<'protocol'> {
    const key = `${name}\0${protocol}`;
    let child = this.observed.get(key);
    if (!child) this.observed.set(key, (child = histogram.labels(protocol)));
    return child;
  }
}
