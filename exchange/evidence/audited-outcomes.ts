// The exchange's evidence, written to an audit trail (core/audit/, the same hash chain, durable
// spool and OTLP export as the broker's and the sidecar's): a span per exchange, revocation and
// swept credential. An answer goes out only once its span is durable in the trail's spool or file
// (persist, not export: a collector that is away delays nothing while the spool has room).
import type { AuditCommand, AuditTrail } from '../../core/audit/index.js';
import type { Logger } from '../../core/logging/logger.js';
import type { ExchangeOutcome, RevocationOutcome } from '../service/exchange-outcome.js';
import type { EvidenceSpan, OutcomeEvidence } from '../service/outcome-evidence.js';
import type { DroppedCredential } from '../service/credential-issuer.js';
import { EXCHANGE_SPAN, EXPIRY_SPAN, REVOCATION_SPAN, exchangeAttributes, expiryAttributes, revocationAttributes, spanContextOf, traceparentOf } from './outcome-spans.js';

/** How long an answer waits for its span to be durable before the request is refused. */
const PERSIST_TIMEOUT_MS = 5_000;

interface OpenSpan extends EvidenceSpan {
  readonly span: AuditCommand;
  readonly name: string;
}

export class AuditedOutcomes implements OutcomeEvidence {
  constructor(
    private readonly trail: Pick<AuditTrail, 'healthy' | 'startSpan' | 'persist' | 'destination'>,
    private readonly log: Logger,
    private readonly persistTimeoutMs = PERSIST_TIMEOUT_MS,
  ) {}

  get healthy(): boolean {
    return this.trail.healthy;
  }

  open(kind: 'exchange' | 'revocation'): EvidenceSpan {
    const name = kind === 'exchange' ? EXCHANGE_SPAN : REVOCATION_SPAN;
    const span = this.trail.startSpan(name, {});
    const open: OpenSpan = { span, name, traceparent: traceparentOf(span) };
    return open;
  }

  async record(evidence: EvidenceSpan, outcome: ExchangeOutcome | RevocationOutcome): Promise<void> {
    const { span } = evidence as OpenSpan;
    span.setAttributes(outcome.kind === 'exchange' ? exchangeAttributes(outcome) : revocationAttributes(outcome));
    span.end(outcome.refusal ? { error: outcome.refusal.code } : undefined);
    // Already known not to write: answer now rather than hold a request slot for the timeout
    // (the span stays queued and reaches the trail once it can write).
    if (!this.trail.healthy) throw new Error('the audit trail is unhealthy');
    await this.trail.persist(this.persistTimeoutMs);
  }

  rolledBack(evidence: EvidenceSpan, outcome: ExchangeOutcome | RevocationOutcome, undone: string): void {
    const { span, name } = evidence as OpenSpan;
    // The first span stays queued and reaches the trail once it can write; this one, right
    // behind it in the chain, says it did not stand.
    this.trail
      .startSpan(`${name} rolled back`, { ...(outcome.kind === 'exchange' ? exchangeAttributes(outcome) : revocationAttributes(outcome)), 'sidegate.exchange.undone': undone }, { traceId: span.traceId, links: [{ traceId: span.traceId, spanId: span.spanId }] })
      .end({ error: 'its evidence could not be made durable' });
    this.log.error(`token exchange: ${outcome.kind} refused: its evidence could not be made durable`, { destination: this.trail.destination, undone });
  }

  expired(target: string, dropped: readonly DroppedCredential[]): void {
    for (const credential of dropped) {
      // In the issuing exchange's trace, linked to its span: a credential's life reads as one trace.
      const issued = spanContextOf(credential.issuedBy);
      this.trail.startSpan(EXPIRY_SPAN, expiryAttributes(target, credential), issued ? { traceId: issued.traceId, links: [issued] } : {}).end();
    }
    // Nobody waits on a sweep's answer; the drop happened whatever the trail says, and its spans
    // reach the trail with the next persist if not this one.
    this.trail.persist(this.persistTimeoutMs).catch((err: unknown) => {
      this.log.warn('token exchange: swept credentials are not yet durable in the audit trail', { target, destination: this.trail.destination, error: (err as Error).message });
    });
  }
}
