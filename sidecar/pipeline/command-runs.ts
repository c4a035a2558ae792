// The per-command half of the pipeline: decide, hold, and the audit span of every command from
// its arrival to its reply. Protocol adapters start a run for each command they inspected, say
// when its bytes reached the target and when its reply reached the client, and report how it
// ended; everything that makes a run evidence (the span, its shared attributes, the decision,
// the hold and its outcome, rows and masked counts, runs the session closed on) lives here.
//
// A span is opened once the command's bytes were written to the target and ended once its reply
// was written to the client (`openPending`, `endPending`): that work then happens while the
// target or the client is busy, not between them. The span keeps the command's arrival as its
// start; nothing is lost if the session closes first (`closeAll`).
import type { CommandFacts, Decision, TargetSpec } from '../../core/vocabulary.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent, type SecurityEventName } from '../../core/logging/security-events.js';
import { AttributeSet, nowUnixNano, type AuditCommand, type AuditSession } from '../../core/audit/index.js';
import { decisionAttributes, targetAttributes, type Attributes } from './audit-attributes.js';
import { tokenCiAttributes } from '../../core/tokens/ci-attributes.js';
import { holdCanceledMessage, holdHeartbeat, holdNotice, type CommandGate, type GateOutcome, type GateSession, type HoldResult } from './command-gate.js';
import { heldCommand, type HeldCommandInput } from './held-command.js';
import { NO_SIDECAR_METRICS, type HoldEnd, type SidecarMetrics } from './sidecar-metrics.js';
import { ATTR_DB_RESPONSE_STATUS_CODE, ATTR_ERROR_TYPE, ERROR_TYPE_VALUE_OTHER } from '@opentelemetry/semantic-conventions';
import { ATTR_DB_RESPONSE_RETURNED_ROWS } from '@opentelemetry/semantic-conventions/incubating';

/** What an adapter's inspector says of one command: the pipeline needs no more of it. */
export interface RunStatement {
  readonly facts: CommandFacts;
  /** The command's own text (what a hold shows, what echoes are compared with). */
  readonly text: string;
  /** The single collection (table, path) it touches, when there is one: part of the span name. */
  readonly collection?: string;
  /**
   * The inspection this one shares a shape with (equal in everything but literal values): what
   * the span takes from the statement is kept per shape, not per text.
   */
  readonly template?: object;
}

/** How a command ended, as the protocol reported it. */
export interface RunOutcome {
  /** A message safe to show (sets the span's status to ERROR). */
  error?: string;
  /** The protocol's own status code (SQLSTATE, MySQL error number, HTTP status): db.response.status_code. */
  statusCode?: string;
  /** false: the target never ran it (denied, skipped after an earlier error, closed). */
  executed?: boolean;
  /** The protocol's completion tag (`UPDATE 3`). */
  tag?: string;
  /** Rows the command changed, when the protocol says. */
  affectedRows?: number;
}

export interface CommandRun<S extends RunStatement> {
  readonly statement: S;
  readonly decision: Decision;
  /** When the command arrived (nowUnixNano): the span's start. */
  readonly startedAt: string;
  /** Attributes set before the span was opened (a hold's outcome); the decision is in the shared set. */
  marks?: Attributes;
  span?: AuditCommand;
  rows: number;
  masked: number;
  /** Ended as far as the protocol goes; the span itself ends at the next write to the client. */
  ended: boolean;
  outcome?: RunOutcome;
  /** performance.now() when its bytes were written to the target: the start of its forwarding time. */
  forwardedAt?: number;
  /**
   * What the command's completion changes in the adapter's protocol state (a prepared statement,
   * a cursor): applied only when the target says it executed without error (server truth).
   */
  effect?: (applied: boolean) => void;
}

/** What an adapter implements for a held command: how the waiting client is told. */
export interface HoldPort {
  /** A notice to the client now (where the protocol has notices); never blocks. */
  notice(message: string): void;
}

export interface HoldDecided {
  outcome: GateOutcome;
  /** Set when the client cancelled while waiting: what it is told. Nothing ran. */
  canceled?: string;
}

/** The session a run belongs to, as far as runs are concerned. */
export interface RunSession extends GateSession {
  readonly targetSpec: TargetSpec;
  /** Open once the client is identified; no run starts before. */
  readonly audit: AuditSession | undefined;
  /** The adapter's semantic-convention attributes of a command (db.*, http.*). */
  commandAttributes(statement: RunStatement): Attributes;
  /** What those attributes depend on besides the statement (the current database): a change starts new shared attributes. */
  commandVariant(): string;
  /** The session's log: every line carries its id, target and, once identified, its trace and identity. */
  readonly log: Logger;
}

/** The log event of a hold's outcome; `none`: the hold ended without an answer (the session closed). */
const APPROVAL_EVENTS: Record<HoldResult['status'] | 'none', SecurityEventName> = {
  approved: SecurityEvent.approvalApproved,
  denied: SecurityEvent.approvalDenied,
  expired: SecurityEvent.approvalExpired,
  cancelled: SecurityEvent.approvalCancelled,
  none: SecurityEvent.approvalCancelled,
  unavailable: SecurityEvent.approvalUnavailable,
  mismatched: SecurityEvent.approvalMismatched,
};

export class CommandRuns<S extends RunStatement> {
  private unopened: CommandRun<S>[] = [];
  private unended: CommandRun<S>[] = [];
  /** The hold in progress: closing the session or the client's cancel aborts it. */
  private holding?: { abort: AbortController; canceled: boolean };
  /**
   * What every run of a statement starts its span with (its facts and its decision), per statement
   * or shape and per the decision's action and rule: the audit encodes them once, not per span.
   */
  private readonly shared = new WeakMap<object, { action: Decision['action']; rule: string; variant: string; set: AttributeSet }>();
  /** The CI run of the session's identity, on every command span (read once per session). */
  private ciAttributes: Attributes | undefined;

  constructor(
    private readonly session: RunSession,
    private readonly gate: CommandGate,
    private readonly metrics: SidecarMetrics = NO_SIDECAR_METRICS,
  ) {}

  private get log(): Logger {
    return this.session.log;
  }

  /** The policy's decision for one command (every statement of one client message); audit unhealthy → deny. */
  decide(facts: readonly CommandFacts[]): Decision {
    const started = performance.now();
    const decision = this.gate.decide(this.session.principal, facts);
    this.metrics.inspected(this.session.protocol, (performance.now() - started) / 1000);
    return decision;
  }

  /** An earlier decision for the same command, as it stands now (see CommandGate.recheck). */
  recheck(earlier: Decision): Decision {
    return this.gate.recheck(earlier);
  }

  start(statement: S, decision: Decision): CommandRun<S> {
    const run: CommandRun<S> = { statement, decision, startedAt: nowUnixNano(), rows: 0, masked: 0, ended: false };
    this.metrics.commandDecided(this.session.protocol, decision);
    if (decision.action === 'deny') {
      this.log.warn('command denied', { event: SecurityEvent.commandDenied, operation: statement.facts.operation, rule: decision.rule, reason: decision.reason });
    }
    this.unopened.push(run);
    return run;
  }

  /** Attributes on runs whose span may not be open yet. */
  mark(runs: readonly CommandRun<S>[], attrs: Attributes): void {
    for (const run of runs) {
      if (run.span) run.span.setAttributes(attrs);
      else run.marks = run.marks ? { ...run.marks, ...attrs } : attrs;
    }
  }

  /** The run's span, opened now if it is not yet. */
  spanOf(run: CommandRun<S>): AuditCommand {
    if (run.span) return run.span;
    const { statement, decision } = run;
    const key = statement.template ?? statement;
    let base = this.shared.get(key);
    const variant = this.session.commandVariant();
    if (base === undefined || base.action !== decision.action || base.rule !== decision.rule || base.variant !== variant) {
      base = { action: decision.action, rule: decision.rule, variant, set: new AttributeSet({ ...this.sharedAttributes(statement, decision), ...decisionAttributes(decision) }) };
      this.shared.set(key, base);
    }
    const audit = this.session.audit;
    if (!audit) throw new Error('a command ran before its session was identified');
    run.span = audit.startCommand(`${statement.facts.operation}${statement.collection ? ' ' + statement.collection : ''}`, base.set, run.startedAt);
    if (run.marks) run.span.setAttributes(run.marks);
    run.marks = undefined;
    return run.span;
  }

  private sharedAttributes(statement: RunStatement, decision: Decision): Attributes {
    const facts = statement.facts;
    const principal = this.session.principal;
    return {
      ...this.session.commandAttributes(statement),
      ...targetAttributes(this.session.targetSpec),
      'sidegate.session.id': this.session.id,
      'sidegate.identity.subject': principal.subject,
      'sidegate.identity.issuer': principal.issuer,
      ...(this.ciAttributes ??= tokenCiAttributes(principal.issuer, principal.claims)),
      'sidegate.statement.kinds': facts.kinds,
      'sidegate.statement.tables': facts.tables.map((t) => (t.schema ? `${t.schema}.${t.name}` : t.name)),
      'sidegate.statement.flags': facts.flags,
      'sidegate.rule': decision.rule,
    };
  }

  /**
   * Holds a command for a human. The request carries exactly what will run, bound by hash (the
   * audit keeps the hash and the approval id, never parameter values). Resolves once decided;
   * `null` when the session closed meanwhile (nothing runs). A cancel by the client wins over a
   * decision that crossed it: the client was promised that nothing runs.
   */
  async hold(decision: Decision, input: HeldCommandInput, runs: readonly CommandRun<S>[], port: HoldPort): Promise<HoldDecided | null> {
    const held = heldCommand(input);
    const holding = { abort: new AbortController(), canceled: false };
    this.holding = holding;
    let approvalId = '-';
    const waitStarted = performance.now();
    const holdEnded = (end: HoldEnd) => this.metrics.holdEnded(this.session.protocol, end, (performance.now() - waitStarted) / 1000);
    this.metrics.holdStarted(this.session.protocol);
    for (const run of runs) this.spanOf(run).addEvent('sidegate.hold.start', { 'sidegate.rule': decision.rule, 'sidegate.approval.hash': held.hash });
    // The broker links its decision to the first held statement's span (one message, one request).
    const heldSpan = runs[0] ? this.spanOf(runs[0]) : undefined;
    this.mark(runs, { 'sidegate.approval.hash': held.hash });
    const outcome = await this.gate.hold(this.session, decision, held, {
      signal: holding.abort.signal,
      ...(heldSpan ? { heldSpan } : {}),
      onCreated: (id, page) => {
        approvalId = id;
        for (const run of runs) this.spanOf(run).setAttributes({ 'sidegate.approval.id': id });
        this.log.info('command held for approval', { event: SecurityEvent.commandHeld, rule: decision.rule, approval: id, approvalHash: held.hash });
        port.notice(holdNotice(decision, id, page));
      },
      onWaiting: (id, waitedMs) => port.notice(holdHeartbeat(id, waitedMs)),
    }).catch((err: unknown) => {
      holdEnded('none');
      throw err;
    });
    if (this.holding === holding) this.holding = undefined;
    const status = outcome.approval?.status ?? 'none';
    holdEnded(holding.canceled ? 'client-cancelled' : holding.abort.signal.aborted ? 'abandoned' : status);
    for (const run of runs) this.spanOf(run).addEvent('sidegate.hold.end', { 'sidegate.approval.status': status });
    const id = outcome.approval?.id !== undefined && outcome.approval.id !== '-' ? outcome.approval.id : approvalId;
    const event = holding.canceled ? SecurityEvent.approvalCancelled : APPROVAL_EVENTS[status];
    const level = event === SecurityEvent.approvalApproved || event === SecurityEvent.approvalCancelled ? 'info' : 'warn';
    this.log[level]('approval ' + (holding.canceled ? 'cancelled by the client' : status), {
      event,
      rule: decision.rule,
      approval: id,
      verdict: outcome.verdict,
      ...(outcome.approval?.approver ? { approver: outcome.approval.approver } : {}),
    });
    this.mark(runs, decisionAttributes(decision, outcome));
    if (holding.abort.signal.aborted && !holding.canceled) return null;
    if (holding.canceled) {
      this.mark(runs, { 'sidegate.hold.canceled': true });
      return { outcome, canceled: holdCanceledMessage(id) };
    }
    return { outcome };
  }

  /** The client asked to cancel (a CancelRequest, KILL QUERY): ends the hold in progress, if any. */
  cancelHold(): boolean {
    const holding = this.holding;
    if (!holding || holding.canceled) return false;
    holding.canceled = true;
    holding.abort.abort();
    return true;
  }

  /** The client went away or said goodbye: a hold in progress is cancelled at the broker. */
  abandonHold(): void {
    this.holding?.abort.abort();
  }

  /** Opens the spans of the commands just written to the target. */
  openPending(): void {
    if (this.unopened.length === 0) return;
    const runs = this.unopened;
    this.unopened = [];
    const now = performance.now();
    for (const run of runs) {
      this.spanOf(run);
      run.forwardedAt ??= now;
    }
  }

  /** The protocol is done with a run; its span ends at the next write to the client (endPending). */
  end(run: CommandRun<S>, outcome: RunOutcome): void {
    if (run.ended) return;
    run.ended = true;
    run.outcome = outcome;
    if (run.effect) {
      const effect = run.effect;
      run.effect = undefined;
      effect(outcome.executed === true && !outcome.error);
    }
    this.unended.push(run);
  }

  /** Ends the spans of the commands whose replies were just written to the client, in order. */
  endPending(): void {
    if (this.unended.length === 0) return;
    const runs = this.unended;
    this.unended = [];
    const now = performance.now();
    for (const run of runs) {
      const outcome = run.outcome!;
      const attrs: Attributes = { 'sidegate.rows_returned': run.rows, 'sidegate.masked_count': run.masked };
      if (outcome.statusCode) attrs[ATTR_DB_RESPONSE_STATUS_CODE] = outcome.statusCode;
      if (outcome.tag) attrs['sidegate.command_tag'] = outcome.tag;
      if (outcome.affectedRows !== undefined) attrs['sidegate.rows_affected'] = outcome.affectedRows;
      else if (outcome.tag) attrs[ATTR_DB_RESPONSE_RETURNED_ROWS] = run.rows;
      if (outcome.executed === false) attrs['sidegate.executed'] = false;
      if (outcome.error) attrs[ATTR_ERROR_TYPE] = outcome.statusCode ?? ERROR_TYPE_VALUE_OTHER;
      const span = this.spanOf(run);
      span.setAttributes(attrs);
      span.end(outcome.error ? { error: outcome.error } : undefined);
      if (run.forwardedAt !== undefined && outcome.executed !== false) this.metrics.forwarded(this.session.protocol, (now - run.forwardedAt) / 1000);
      if (run.masked > 0) this.metrics.masked(this.session.protocol, run.masked);
    }
  }

  /**
   * The session is closing: a hold in progress is cancelled, runs still in flight end as not
   * executed with the reason, and every span is opened and ended before the session's own.
   */
  closeAll(inFlight: readonly CommandRun<S>[], reason: string): void {
    this.abandonHold();
    for (const run of inFlight) this.end(run, { executed: false, error: `connection closed: ${reason}` });
    if (!this.session.audit) return;
    this.openPending();
    this.endPending();
  }
}
