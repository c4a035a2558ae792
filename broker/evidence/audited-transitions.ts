// The store's evidence, written to an audit trail (core/audit/): the broker's own (`sidegate
// broker`), or the sidecar's in local mode. A transition is answered only once its spans are
// durable in the trail's spool or file; while the trail cannot take them, transitions are refused
// (503) and the request stays as it was, so no decision exists without its evidence.
import type { AuditTrail } from '../../core/audit/index.js';
import type { Logger } from '../../core/logging/logger.js';
import { ApprovalError, type Transition, type TransitionEvidence } from '../store/approval-store.js';
import { decisionSpans } from './decision-spans.js';

/** How long a transition waits for its evidence to be durable before it is refused. */
const PERSIST_TIMEOUT_MS = 5_000;

const UNRECORDABLE = "the approval broker's audit trail cannot record decisions right now; nothing was decided, try again later";

export class AuditedTransitions implements TransitionEvidence {
  constructor(
    private readonly trail: Pick<AuditTrail, 'healthy' | 'startSpan' | 'persist' | 'destination'>,
    private readonly log: Logger,
  ) {}

  async record(transition: Transition): Promise<void> {
    // Checked before a span exists: a refused transition leaves none behind.
    if (!this.trail.healthy) {
      this.log.error('approval transition refused: the audit trail is unhealthy', { approval: transition.record.id, destination: this.trail.destination });
      throw new ApprovalError(503, UNRECORDABLE);
    }
    for (const span of decisionSpans(transition)) this.trail.startSpan(span.name, span.attributes, { traceId: span.traceId, links: span.links }).end();
    try {
      await this.trail.persist(PERSIST_TIMEOUT_MS);
    } catch (err) {
      this.log.error('approval transition refused: its evidence could not be made durable', {
        approval: transition.record.id,
        destination: this.trail.destination,
        error: (err as Error).message,
      });
      throw new ApprovalError(503, UNRECORDABLE);
    }
  }
}
