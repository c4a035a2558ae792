// The per-connection half of the pipeline: who is calling (the token the client presents, or the
// pod's own), the masking rules that apply to them on this target, the credentials the target is
// logged in to with, and the session's audit span — including the span of a login that was
// refused. An adapter drives it from its handshake and gets every command's run from `runs`.
import { randomUUID } from 'node:crypto';
import type { MaskingRule, Principal, Protocol, TargetSpec } from '../../core/vocabulary.js';
import type { AuditSession } from '../../core/audit/index.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { planResultMasking, type ResultColumn, type ResultMasker } from '../masking/index.js';
import type { TargetCredential } from '../identity/credential-source.js';
import { principalAttributes, targetAttributes, type Attributes } from './audit-attributes.js';
import { IdentityRejected } from './client-identity.js';
import { CommandRuns, type RunSession, type RunStatement } from './command-runs.js';
import type { PipelineServices } from './pipeline-services.js';
import { NO_SIDECAR_METRICS, type SidecarMetrics } from './sidecar-metrics.js';

/** How a session ended, for the sessions metric: a bounded set. */
export type SessionOutcome = 'served' | 'login-rejected' | 'upstream-failed' | 'unidentified';
import { ATTR_CLIENT_ADDRESS, ATTR_CLIENT_PORT, ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/** An adapter's semantic conventions for its spans. */
export interface SemanticConventions {
  /** Session-level semantic-convention attributes known so far (db.system.name, db.namespace…). */
  sessionAttributes(): Attributes;
  /** A command's semantic-convention attributes (db.operation.name, db.query.text…). */
  commandAttributes(statement: RunStatement): Attributes;
  /** What `commandAttributes` depends on besides the statement, such as the current database. */
  commandVariant?(): string;
}

export interface Peer {
  address?: string;
  port?: number;
}

export class ConnectionSession<S extends RunStatement = RunStatement> implements RunSession {
  readonly id = randomUUID();
  readonly runs: CommandRuns<S>;
  private identified?: Principal;
  private auditSession?: AuditSession;
  private text: ResultMasker | null | undefined;
  /** The session's lines: its id, target, protocol and client; once identified its trace and identity. */
  private logger: Logger;
  private failure?: 'login-rejected' | 'upstream-failed';
  /** Masking rules for this identity on this target; empty until identified. */
  maskingRules: readonly MaskingRule[] = [];

  private conventions: SemanticConventions = { sessionAttributes: () => ({}), commandAttributes: () => ({}) };

  constructor(
    private readonly services: PipelineServices,
    readonly targetSpec: TargetSpec,
    readonly protocol: Protocol,
    private readonly peer: Peer,
  ) {
    this.logger = services.log.child({ session: this.id, target: targetSpec.name, protocol, client: peer.address });
    this.runs = new CommandRuns<S>(this, services.gate, this.metrics);
  }

  private get metrics(): SidecarMetrics {
    return this.services.metrics ?? NO_SIDECAR_METRICS;
  }

  /** So far: refused, failed upstream, identified and served, or never identified (the client left first). */
  get outcome(): SessionOutcome {
    return this.failure ?? (this.identified ? 'served' : 'unidentified');
  }

  /** The adapter's attributes for this session's spans; set before the client is identified. */
  useConventions(conventions: SemanticConventions): void {
    this.conventions = conventions;
  }

  get log(): Logger {
    return this.logger;
  }

  get target(): string {
    return this.targetSpec.name;
  }

  get principal(): Principal {
    if (!this.identified) throw new Error('the session is not identified yet');
    return this.identified;
  }

  get audit(): AuditSession | undefined {
    return this.auditSession;
  }

  get maskingKey(): Buffer | undefined {
    return this.services.maskingKey;
  }

  get masking(): boolean {
    return this.maskingRules.length > 0;
  }

  /**
   * The masker of one result's values, for every value channel of rows an adapter has: null when
   * no rule applies to these columns. The adapter decodes its own value formats around it.
   */
  planResult(columns: readonly ResultColumn[]): ResultMasker | null {
    return this.masking ? planResultMasking(this.maskingRules, columns, { hashKey: this.services.maskingKey }) : null;
  }

  /**
   * The masker of free text the target sends back outside rows (errors, notices, status): the
   * session's detectors over one textual value. Planned once per session; null without masking.
   */
  textMasker(): ResultMasker | null {
    if (this.text === undefined) this.text = this.planResult([{ name: '', textual: true }]);
    return this.text;
  }

  commandAttributes(statement: RunStatement): Attributes {
    return this.conventions.commandAttributes(statement);
  }

  commandVariant(): string {
    return this.conventions.commandVariant?.() ?? '';
  }

  private baseAttributes(): Attributes {
    return {
      ...this.conventions.sessionAttributes(),
      ...targetAttributes(this.targetSpec),
      'sidegate.session.id': this.id,
      'sidegate.protocol': this.protocol,
      ...(this.peer.address ? { [ATTR_CLIENT_ADDRESS]: this.peer.address } : {}),
      ...(this.peer.port ? { [ATTR_CLIENT_PORT]: this.peer.port } : {}),
    };
  }

  /**
   * Verifies what the client presented (absent or empty: the pod's own token). On success the
   * session is identified: its masking rules are known and its audit span is open. On failure the
   * refused login is audited and logged, and the rejection (its message safe to show) returned.
   */
  async identify(presented: string | undefined): Promise<Principal | IdentityRejected> {
    let principal: Principal;
    try {
      principal = await this.services.identity.resolve(presented);
    } catch (err) {
      const rejected = err instanceof IdentityRejected ? err : new IdentityRejected('sidegate: identity rejected', 'invalid');
      this.rejectLogin(rejected.message, 'identity', rejected.code);
      return rejected;
    }
    this.identified = principal;
    this.maskingRules = this.services.masking(principal, this.targetSpec.name);
    this.auditSession = this.services.audit.startSession({ ...this.baseAttributes(), ...principalAttributes(principal) });
    this.logger = this.logger.child({ traceId: this.auditSession.traceId, subject: principal.subject, issuer: principal.issuer, identities: principal.identities.join(',') });
    return principal;
  }

  /** A login refused before the session had an identity (bad token, refused setting, too large). */
  rejectLogin(message: string, rule = 'identity', reason?: string): void {
    this.failure = 'login-rejected';
    this.metrics.loginRejected(this.protocol, reason ?? rule);
    const span = this.services.audit.startSession({ ...this.baseAttributes(), 'sidegate.decision': 'deny', 'sidegate.rule': rule, [ATTR_ERROR_TYPE]: reason ?? rule });
    span.end({ error: message });
    this.log.warn('login rejected', { event: SecurityEvent.loginRejected, rule, reason: reason ?? rule, message, traceId: span.traceId });
  }

  /**
   * The target's credentials for this identity (never shown to the client). A login the token
   * exchange issued is named on the session span (its login, never its password) and the span
   * links to the exchange's span when the exchange named one.
   */
  async credentials(): Promise<TargetCredential> {
    const credential = await this.services.credentials.credentialsFor(this.targetSpec, this.principal);
    const exchanged = credential.exchanged;
    if (exchanged && this.auditSession) {
      this.auditSession.setAttributes({ 'sidegate.credential.source': 'exchange', 'sidegate.credential.login': credential.username, 'sidegate.credential.expires_at': exchanged.expiresAt });
      if (exchanged.span) this.auditSession.addLink(exchanged.span);
    }
    return credential;
  }

  /** The target refused our login or could not be reached: the session ends with that error. */
  upstreamFailed(message: string, errorType: string): void {
    this.log.warn('upstream login failed', { event: SecurityEvent.upstreamFailed, error: message, errorType });
    this.failure = 'upstream-failed';
    this.metrics.upstreamFailed(this.protocol);
    const session = this.auditSession;
    this.auditSession = undefined;
    session?.setAttributes({ [ATTR_ERROR_TYPE]: errorType });
    session?.end({ error: message });
  }

  setAttributes(attrs: Attributes): void {
    this.auditSession?.setAttributes(attrs);
  }

  /** Ends the session: unfinished runs end as not executed, then the session's own span. */
  close(inFlight: Parameters<CommandRuns<S>['closeAll']>[0], reason: string): void {
    this.runs.closeAll(inFlight, reason);
    const session = this.auditSession;
    if (!session) return;
    this.auditSession = undefined;
    session.setAttributes({ 'sidegate.session.end_reason': reason });
    session.end();
  }
}
