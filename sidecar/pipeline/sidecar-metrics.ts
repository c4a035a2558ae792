// What the pipeline reports for /metrics, as plain calls: the pipeline knows no metrics library
// (sidecar/admin/ implements this with prom-client). Every argument is from a bounded set — a
// protocol, a decision, a policy's rule name, a reason code — never an identity or statement text.
import type { Decision } from '../../core/vocabulary.js';

/** How a hold ended: the broker's answer, or the client's side of it. */
export type HoldEnd = 'approved' | 'denied' | 'expired' | 'cancelled' | 'unavailable' | 'mismatched' | 'none' | 'client-cancelled' | 'abandoned';

export interface SidecarMetrics {
  /** One command (one statement's run) and its policy decision. */
  commandDecided(protocol: string, decision: Pick<Decision, 'action' | 'rule'>): void;
  /** The gate's decision for one client message took this long (built-in denials and policy rules; the adapter's parsing is not part of it). */
  inspected(protocol: string, seconds: number): void;
  /** From a command's bytes written to the target to its reply's bytes written to the client. */
  forwarded(protocol: string, seconds: number): void;
  holdStarted(protocol: string): void;
  /** The hold is over: how, and how long the client waited. */
  holdEnded(protocol: string, end: HoldEnd, seconds: number): void;
  /** A login refused before the session had an identity; `reason` is a code (expired, not-a-token, startup-setting…). */
  loginRejected(protocol: string, reason: string): void;
  /** The target refused sidegate's login or could not be reached. */
  upstreamFailed(protocol: string): void;
  /** Values the masker replaced in one command's reply. */
  masked(protocol: string, values: number): void;
}

/** For pipelines nobody scrapes (tests, `policy test`). */
export const NO_SIDECAR_METRICS: SidecarMetrics = {
  commandDecided() {},
  inspected() {},
  forwarded() {},
  holdStarted() {},
  holdEnded() {},
  loginRejected() {},
  upstreamFailed() {},
  masked() {},
};
