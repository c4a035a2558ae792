// What the exchange asks of its evidence (exchange/evidence/ writes it to the audit trail): a span
// opened when a request arrives, whose traceparent the answer carries, and recorded durably with
// the outcome before the answer goes out. The exchange fails closed on it: while it cannot record,
// no credential is created, and one created whose record could not be made durable is dropped.
import type { DroppedCredential } from './credential-issuer.js';
import type { ExchangeOutcome, RevocationOutcome } from './exchange-outcome.js';

export interface EvidenceSpan {
  /** W3C traceparent naming the span: the answer's `traceparent` header. */
  readonly traceparent: string;
}

export interface OutcomeEvidence {
  /** False while the trail cannot make spans durable: no credential is created then. */
  readonly healthy: boolean;
  open(kind: 'exchange' | 'revocation'): EvidenceSpan;
  /** Ends the span with the outcome and waits until it is durable; rejects when it cannot be. */
  record(span: EvidenceSpan, outcome: ExchangeOutcome | RevocationOutcome): Promise<void>;
  /** After `record` failed: a span right behind it saying what was undone instead. */
  rolledBack(span: EvidenceSpan, outcome: ExchangeOutcome | RevocationOutcome, undone: string): void;
  /** Credentials the sweeper dropped at their expiry (each span links to its exchange's). */
  expired(target: string, dropped: readonly DroppedCredential[]): void;
}
