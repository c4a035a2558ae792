// The store's evidence, written to an audit trail (core/audit/): the broker's own (`sidegate
// broker`), or the sidecar's in local mode. A transition is answered only once its spans are
// durable in the trail's spool or file; while the trail cannot take them, transitions are refused
// (503) and the request stays as it was, so no decision exists without its evidence.
import type { AuditTrail } from '../../core/audit/index.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { ApprovalError, type Transition, type TransitionEvidence } from '../store/approval-store.js';
import { decisionSpans } from './decision-spans.js';

/** How long a transition waits for its evidence to be durable before it is refused. */
const PERSIST_TIMEOUT_MS = 5_000;

const UNRECORDABLE = "the approval broker's audit trail cannot record decisions right now; nothing was decided, try again later";

export class AuditedTransitions implements TransitionEvidence {
  constructor(
    private readonly trail: Pick<AuditTrail, 'healthy' | 'startSpan' | 'persist' | 'destination'>,
    private readonly log: Logger,
    private readonly persistTimeoutMs = PERSIST_TIMEOUT_MS,
  ) {}

  async record(transition: Transition): Promise<void> {
    const id = transition.record.id;
    // Checked before a span exists: a transition refused here leaves none behind.
    if (!this.trail.healthy) {
      this.log.error('approval transition refused: the audit trail is unhealthy', { event: SecurityEvent.approvalUnrecorded, approval: id, destination: this.trail.destination });
      throw new ApprovalError(503, UNRECORDABLE);
    }
    const spans = decisionSpans(transition);
    const ended = spans.map((s) => {
      const span = this.trail.startSpan(s.name, s.attributes, { traceId: s.traceId, links: s.links });
      span.end();
      return span.spanId;
    });
    try {
      await this.trail.persist(this.persistTimeoutMs);
    } catch (err) {
      // The spans stay queued and reach the trail once it can write: this one, right behind
      // them in the chain, says they never took effect (the transition is rolled back).
      const first = spans[0];
      if (first) {
        this.trail
          .startSpan('approval transition refused', { 'sidegate.approval.id': id, 'sidegate.approval.refused_spans': ended, 'sidegate.approval.reason': 'its evidence could not be made durable; rolled back' }, { traceId: first.traceId, links: first.links })
          .end();
      }
      this.log.error('approval transition refused: its evidence could not be made durable', { event: SecurityEvent.approvalUnrecorded, approval: id, destination: this.trail.destination, error: (err as Error).message });
      throw new ApprovalError(503, UNRECORDABLE);
    }
  }
}
