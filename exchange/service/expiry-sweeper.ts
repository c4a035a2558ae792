// Drops every expired credential on every target: once at start (what a crashed or stopped
// exchange left behind) and then every interval. VALID UNTIL already refuses an expired login;
// the sweeper removes the role itself, its memberships and its sessions. One sweep at a time;
// a target that cannot be reached is tried again at the next interval. Each dropped credential is
// an audit span (exchange/evidence/).
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import type { CredentialIssuer, DroppedCredential } from './credential-issuer.js';

export interface ExpirySweeper {
  /** Sweeps now (tests, and the first sweep); resolves when done. */
  sweepNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startExpirySweeper(
  issuers: readonly CredentialIssuer[],
  intervalMs: number,
  log: Logger,
  now: () => number = Date.now,
  /** Told of the credentials each sweep dropped (their audit spans). */
  onExpired?: (target: string, dropped: readonly DroppedCredential[]) => void,
): ExpirySweeper {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweepAll = async () => {
    for (const issuer of issuers) {
      try {
        const result = await issuer.sweep(now());
        if (result.dropped.length > 0) onExpired?.(issuer.target, result.dropped);
        if (result.dropped.length > 0 || result.failed > 0) {
          log.info('token exchange: expired credentials swept', { event: SecurityEvent.exchangeSwept, target: issuer.target, dropped: result.dropped.length, failed: result.failed, roles: result.dropped.map((d) => d.username).join(' ') });
        }
      } catch (err) {
        log.warn('token exchange: sweep failed, will retry', { target: issuer.target, reason: (err as Error).message });
      }
    }
  };
  const sweepNow = () => {
    running ??= sweepAll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void sweepNow();
  }, intervalMs);
  timer.unref();
  void sweepNow();
  return {
    sweepNow,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
