// One client connection through the PostgreSQL adapter.
//
//   startup:  SSLRequest/GSSENCRequest/CancelRequest/StartupMessage → ask for the client's token
//             (cleartext password message) → identify → credentials → upstream login (the client
//             never sees the target's credentials, the target never sees the client's token)
//   steady:   client messages are inspected and decided as they arrive; allowed ones are forwarded
//             as raw bytes, denied ones are replaced by a "poison" message whose upstream error is
//             rewritten into the denial (so ordering, pipelining and transaction state stay exactly
//             what PostgreSQL makes of an error), held ones stop the client stream until a human
//             decides. Upstream messages are attributed to requests by the ResponseTracker, rows
//             are masked as they stream, and every statement ends its audit span.
//
// Identity, credentials, decisions, holds and the audit spans are the pipeline's (the session this
// connection was given, and its runs); this file holds PostgreSQL's wire state and mechanics.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { Decision, TargetSpec } from '../../../core/vocabulary.js';
import type { GateOutcome } from '../../pipeline/command-gate.js';
import { denialMessage } from '../../pipeline/command-gate.js';
import type { BoundParameters, HeldCommandInput } from '../../pipeline/held-command.js';
import { CancelRegistry } from './cancel-registry.js';
import { decisionAttributes, type Attributes } from '../../pipeline/audit-attributes.js';
import { IdentityRejected } from '../../pipeline/client-identity.js';
import { CredentialError } from '../../identity/credential-source.js';
import type { ConnectionSession } from '../../pipeline/connection-session.js';
import type { CommandRun, CommandRuns, RunOutcome, RunStatement } from '../../pipeline/command-runs.js';
import type { AdapterSettings } from '../../pipeline/pipeline-services.js';
import { PreAuthBounds, DEFAULT_AUTH_TIMEOUT_MS } from '../../pipeline/pre-auth-bounds.js';
import { OutputBatch } from '../../../core/streams/output-batch.js';
import { ResponseTracker, type Pending } from './response-tracker.js';
import type { CatalogNames } from './catalog-names.js';
import { RowShape } from './row-shape.js';
import { ResultShapePlanner } from './result-shape-planner.js';
import { HEX_SCREEN, maskCopyBinaryData, maskCopyTextLine, withheldCopyData, type BinaryCopyState } from './copy-out-masking.js';
import { maskNoticeFields, maskNotification, maskParameterStatus, withheldFunctionResult, type EchoContext } from './server-text-masking.js';
import type { ChunkScreen } from '../../masking/byte-screen.js';
import type { ResultMasker } from '../../masking/index.js';
import * as wire from './wire.js';
import { decisionFacts, inspectSql, type InspectedStatement } from './sql-inspector.js';
import { fastPathCallFacts } from './fastpath-function.js';
import { settingIndependentSql } from './sql-string-mode.js';
import { decideStartup } from './startup-settings.js';
import { serializeNegotiateProtocolVersion } from './startup-negotiation.js';
import { MAX_TOKEN_BYTES } from '../../../core/tokens/token-size.js';
import { PINNED_CLIENT_ENCODING } from './upstream-connection.js';
import { MAX_STATEMENT_BYTES, OFF_THREAD_BYTES, StatementRefused, checkStatementSize, statementInspectionPool, type OffThreadInspection } from './statement-inspection-pool.js';
import { NameTable, Removal, UNCERTAIN, type Clearing } from './server-names.js';
import { SecurityEvent } from '../../../core/logging/security-events.js';
import { mayTouchSessionObjects, planSessionObjects, unattributedExecute, unattributedPortal, type SessionObjectPlan } from './session-objects.js';
import { ATTR_DB_COLLECTION_NAME, ATTR_DB_NAMESPACE, ATTR_DB_OPERATION_NAME, ATTR_DB_QUERY_TEXT, ATTR_DB_SYSTEM_NAME, ATTR_ERROR_TYPE, DB_SYSTEM_NAME_VALUE_POSTGRESQL } from '@opentelemetry/semantic-conventions';

export interface PostgresProxyDeps {
  settings: AdapterSettings;
  catalog: CatalogNames;
  cancelRegistry: CancelRegistry;
  maxMessageBytes?: number;
  /** Statement inspection; defaults to the PostgreSQL grammar (benchmarks swap in a no-op). */
  inspect?: typeof inspectSql;
}

export { DEFAULT_AUTH_TIMEOUT_MS };
/** What a client may send ahead while its login to the target is under way, before it is paused. */
const MAX_PIPELINED_DURING_LOGIN = 1024 * 1024;

/** Moved to cancel-registry.ts; re-exported for the runtime. */
export { CancelRegistry };

/** SQLSTATEs we originate. */
const SQLSTATE = {
  insufficientPrivilege: '42501',
  invalidAuthorization: '28000',
  invalidPassword: '28P01',
  protocolViolation: '08P01',
  connectionFailure: '08006',
  tooManyConnections: '53300',
  characterNotInRepertoire: '22021',
  cannotConnect: '08001',
  rejectedConnection: '08004',
  featureNotSupported: '0A000',
  queryCanceled: '57014',
} as const;

/** A statement text the grammar rejects: the upstream answers it with an error we then rewrite. */
const POISON_SQL = 'SIDEGATE_DENIED_STATEMENT';
/** A statement whose string literals the server could read differently from sidegate (sql-string-mode.ts). */
function ambiguousLiteralDenial(reason: string): Decision {
  return { action: 'deny', rule: 'ambiguous-string-literal', reason };
}

/** Most of a reply held back to be written with the rest of its turn (flushClientSoon). */
const MAX_DEFERRED_CLIENT_BYTES = 256 * 1024;

/** One statement as it runs (the pipeline's run, command-runs.ts). */
type StatementRun = CommandRun<RunStatement>;

interface PreparedInfo {
  inspected: InspectedStatement[];
  decision: Decision;
  /** The batch of the message that defined it (server-names.ts). */
  batch: number;
  /** Made by SQL PREPARE: `inspected` is that PREPARE (its kinds are its query's). */
  viaSql?: boolean;
  /** approvals: an `approve` statement's text as forwarded and its declared types (what a hold shows and binds). */
  held?: { sql: Buffer; types: number[] };
}

/**
 * One generation of a portal: each Bind (or DECLARE) makes a new one, and every Describe and
 * Execute carries the generation it was sent for, so a row shape and a decision belong to exactly
 * the portal the reply answers, whatever the client rebinds under the same name meanwhile.
 */
interface PortalInfo {
  /** The statement it runs; absent when sidegate did not decide one (then it never runs). */
  statement?: PreparedInfo;
  batch: number;
  /** Known once a Describe P (the client's or ours) of this generation was answered. */
  shape?: RowShape;
  /** A Describe of this generation is on its way: no need to inject our own. */
  describing?: boolean;
  /** Its statement needs approval and a human gave it for this portal: continuing it is that run. */
  cleared?: boolean;
  /** Made by DECLARE: executing it fetches from the cursor, it does not declare it again. */
  cursor?: boolean;
  /** A WITH HOLD cursor: survives the end of its transaction (unless that transaction failed). */
  holdable?: boolean;
  /** For a WITH HOLD cursor: the transaction (counted at ReadyForQuery 'I') its DECLARE completed in. */
  txn?: number;
  /** approvals: the Bind's parameters and formats, kept only for a statement that is held at Execute. */
  parameters?: Omit<BoundParameters, 'types'>;
}

/** What the tracker carries for each request. */
type Work =
  | { t: 'plain' }
  | { t: 'parse'; name: string; change: PreparedInfo | Removal; denied?: { run: StatementRun[]; message: string } }
  | { t: 'bind'; name: string; change: PortalInfo }
  | { t: 'close'; target: 'S' | 'P'; name: string; change: Removal }
  | { t: 'describe'; target: 'S' | 'P'; name: string; portal?: PortalInfo }
  | { t: 'execute'; portal?: PortalInfo; runs: StatementRun[]; denied?: string; deniedCode?: string }
  | { t: 'query'; runs: StatementRun[]; index: number; shape?: RowShape; denied?: string; deniedCode?: string }
  | { t: 'sync' };

type Phase = 'startup' | 'auth' | 'connecting' | 'ready' | 'closed';

export class PostgresProxySession {
  private phase: Phase = 'startup';
  private client: Socket | tls.TLSSocket;
  private upstream?: Socket | tls.TLSSocket;
  private startupBuf: Buffer = Buffer.alloc(0);
  private startupParams: Record<string, string> = {};
  /** The client's startup settings that go upstream (decideStartup). */
  private forwardedParams: Record<string, string> = {};
  private database = '';
  private needsTableNames = false;

  private readonly clientFramer: wire.MessageFramer;
  private readonly upstreamFramer: wire.MessageFramer;
  private readonly toUpstream = new OutputBatch();
  private readonly toClient = new OutputBatch();
  private readonly tracker = new ResponseTracker<Work>();

  /** Client messages waiting while a hold (or a catalog lookup) is in progress. */
  private clientQueue: wire.Frame[] = [];
  private clientBusy = false;
  private upstreamQueue: wire.Frame[] = [];
  private upstreamBusy = false;
  /** A write to the client is due at the end of this turn of the event loop (flushClientSoon). */
  private clientFlushScheduled = false;
  /** close() ran: everything is released once. */
  private closing = false;

  /**
   * Prepared statements and portals as the server holds them, changed by its replies in order
   * (server-names.ts). `batch` counts the client's batches (ended by Sync, or by a Query or
   * FunctionCall outside an open extended batch): a name changed in an earlier batch still
   * unanswered is uncertain, and the message referring to it waits for that reply.
   */
  private readonly statements = new NameTable<PreparedInfo>();
  private readonly portals = new NameTable<PortalInfo>();
  private batch = 0;
  /** An extended-protocol message failed: the server skips everything up to the next Sync. */
  private skippingTillSync = false;
  /** Client messages waiting for a ReadyForQuery before they can be attributed. */
  private replyWaiters: (() => void)[] = [];
  /** Transactions ended so far (ReadyForQuery 'I'), and whether the current one saw an error. */
  private txnCount = 0;
  private errorInTxn = false;
  /** A WITH HOLD cursor may be among the portals. */
  private holdablePortals = false;
  /** Which portals outlive the transaction that just ended: WITH HOLD cursors of one that did not fail. */
  private readonly keepAfterTransaction = (portal: PortalInfo): boolean =>
    portal.holdable === true && !(this.errorInTxn && portal.txn === this.txnCount);
  /**
   * What a name refers to for the message being handled (server-names.ts). Uncertain while an
   * earlier batch that changes it is unanswered, unless the server is skipping everything up to a
   * Sync not yet sent: then this message is skipped too and never runs (and waiting for a reply
   * that needs that Sync would never end).
   */
  private readonly lookupPortal = (name: string) => this.certain(this.portals.lookup(name, this.batch));
  private readonly lookupStatement = (name: string) => this.certain(this.statements.lookup(name, this.batch));
  private certain<V>(found: V | typeof UNCERTAIN): V | undefined | typeof UNCERTAIN {
    return found === UNCERTAIN && this.skippingTillSync && !this.tracker.has('sync') ? undefined : found;
  }
  private inCopyOut: { work: Work | undefined; binary?: BinaryCopyState; withheld?: boolean } | null = null;
  private ourKey = { processId: 0, secretKey: 0 };
  private poisonCounter = 0;
  /** Detectors over whole COPY TO lines; null without masking rules. */
  private copyMasker: ResultMasker | null = null;
  /**
   * Which COPY TO rows and result values of the chunk being handled could hold a match of this
   * session's detectors at all (the detectors are the same for every result of the session).
   */
  private detectorScreen: ChunkScreen | null = null;
  private readonly inspect: typeof inspectSql;
  /** Masking plans of this session's results; set once its masking rules are known. */
  private shapes?: ResultShapePlanner;
  private searchPathChanged = false;
  /** The text of the statement answered last: what asynchronous echoes are compared with. */
  private lastRunText?: string;
  private readonly runs: CommandRuns<RunStatement>;
  private readonly preAuth: PreAuthBounds;

  constructor(
    socket: Socket,
    private readonly target: TargetSpec,
    private readonly deps: PostgresProxyDeps,
    private readonly session: ConnectionSession,
  ) {
    this.client = socket;
    this.runs = session.runs;
    session.useConventions({
      sessionAttributes: () => this.sessionAttributes(),
      commandAttributes: (statement) => this.statementAttributes(statement as InspectedStatement),
    });
    this.inspect = deps.inspect ?? inspectSql;
    const max = deps.maxMessageBytes ?? 16 * 1024 * 1024;
    this.clientFramer = new wire.MessageFramer({ maxMessageSize: max });
    // Upstream rows can legitimately be large (a 100 MB bytea); the bound is still finite.
    this.upstreamFramer = new wire.MessageFramer({ maxMessageSize: Math.max(max, 256 * 1024 * 1024) });
    socket.setNoDelay(true);
    this.attachClient(socket);
    this.preAuth = new PreAuthBounds(
      {
        timedOut: (message) => this.fatal(SQLSTATE.connectionFailure, message),
        evicted: (message) => this.fatal(SQLSTATE.tooManyConnections, message),
        waitingForClient: () => this.phase === 'startup' || this.phase === 'auth',
      },
      deps.settings.unauthenticated,
      deps.settings.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
    );
  }

  private get id(): string {
    return this.session.id;
  }

  private get maskingRules() {
    return this.session.maskingRules;
  }

  private get log() {
    return this.session.log;
  }

  private attachClient(socket: Socket | tls.TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', (err) => this.log.debug('client socket error', { error: err.message }));
    socket.on('close', () => this.close('client closed'));
    socket.on('drain', () => this.upstream?.resume());
  }

  // ───────────────────────────── startup ─────────────────────────────

  private onClientData(chunk: Buffer): void {
    try {
      if (this.phase === 'ready') {
        this.clientFramer.push(chunk);
        for (let f = this.clientFramer.next(); f !== null; f = this.clientFramer.next()) {
          // A client that says goodbye while its statement is held will not take the result: the
          // hold ends now (cancelled at the broker), not when someone approves it.
          if (f.code === 0x58 /* X Terminate */) this.runs.abandonHold();
          this.clientQueue.push(f);
        }
        this.pumpClient();
        return;
      }
      if (this.phase === 'startup' || this.phase === 'auth') {
        this.startupBuf = this.startupBuf.length === 0 ? chunk : Buffer.concat([this.startupBuf, chunk]);
        this.drainStartup();
        return;
      }
      // 'connecting': the client should be waiting for us; anything it sends now is kept, up to a bound.
      this.clientFramer.push(chunk);
      if (this.clientFramer.buffered > MAX_PIPELINED_DURING_LOGIN) this.client.pause();
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private drainStartup(): void {
    while (this.startupBuf.length > 0 && (this.phase === 'startup' || this.phase === 'auth')) {
      if (this.phase === 'startup') {
        // Like PostgreSQL: a client that says Terminate instead of starting up is closed without a reply.
        if (this.startupBuf[0] === 0x58 /* X */) {
          if (this.startupBuf.length < TERMINATE.length) return;
          if (this.startupBuf.subarray(0, TERMINATE.length).equals(TERMINATE)) {
            this.closeSilently('client terminated before starting up');
            return;
          }
        }
        const packet = wire.readStartupPacket(this.startupBuf);
        if (packet === null) return;
        const len = this.startupBuf.readInt32BE(0);
        this.startupBuf = this.startupBuf.subarray(len);
        this.onStartupPacket(packet);
      } else {
        // auth: the only thing we expect is the PasswordMessage answering our request, checked
        // from its header before its body is buffered (a token is at most MAX_TOKEN_BYTES).
        const code = this.startupBuf[0]!;
        if (code === 0x58 /* X Terminate */) {
          this.closeSilently('client terminated before authenticating');
          return;
        }
        if (code !== 0x70 /* 'p' */) {
          throw new wire.ProtocolError('unexpected-message', `expected a password message, got '${printable(code)}'`);
        }
        if (this.startupBuf.length < 5) return;
        const length = this.startupBuf.readInt32BE(1);
        if (length < 5 || length > MAX_TOKEN_BYTES + 5) {
          const message = `sidegate: password message of ${length} bytes exceeds the token size limit of ${MAX_TOKEN_BYTES} bytes`;
          this.session.rejectLogin(message);
          this.fatal(SQLSTATE.invalidAuthorization, message);
          return;
        }
        if (this.startupBuf.length < length + 1) return;
        const body = this.startupBuf.subarray(5, length + 1);
        // Anything the client pipelined behind its password waits for the session.
        this.clientFramer.push(this.startupBuf.subarray(length + 1));
        this.startupBuf = Buffer.alloc(0);
        this.phase = 'connecting';
        const password = wire.readPasswordMessage(body);
        this.authenticate(password).catch((err: unknown) => this.protocolFailure(err));
      }
    }
  }

  private onStartupPacket(packet: wire.StartupPacket): void {
    switch (packet.kind) {
      case 'ssl-request': {
        if (this.deps.settings.clientTls && !(this.client instanceof tls.TLSSocket)) {
          this.client.write('S');
          this.upgradeClientTls();
        } else {
          this.client.write('N');
        }
        return;
      }
      case 'gssenc-request':
        this.client.write('N');
        return;
      case 'cancel': {
        const up = this.deps.cancelRegistry.lookup(packet.processId, packet.secretKey);
        // A statement waiting for approval is cancelled here (nothing of it runs upstream).
        if (up && !up.cancelHold?.()) {
          wire
            .sendCancelRequest({ host: up.target.host, port: up.target.port, tls: up.target.tls }, up.processId, up.secretKey)
            .catch((err: Error) => this.log.warn('cancel request failed', { error: err.message }));
        }
        // Per protocol the server says nothing back to a CancelRequest.
        this.phase = 'closed';
        this.client.end();
        return;
      }
      case 'startup': {
        this.startupParams = packet.params;
        this.database = this.target.database ?? packet.params['database'] ?? packet.params['user'] ?? '';
        // Every setting the client asks for is forwarded or refused by name (startup-settings.ts).
        const settings = decideStartup(packet.params);
        if (!settings.ok) {
          this.session.rejectLogin(settings.message, 'startup-setting');
          this.fatal(settings.sqlState, settings.message);
          return;
        }
        this.forwardedParams = settings.forward;
        // As PostgreSQL does: a newer minor version or `_pq_.` options are answered with the
        // version and options we speak (3.0, none), and the client carries on or hangs up.
        if ((packet.protocolVersion & 0xffff) !== 0 || settings.unsupportedProtocolOptions.length > 0) {
          this.client.write(serializeNegotiateProtocolVersion(wire.PROTOCOL_VERSION_3_0, settings.unsupportedProtocolOptions));
        }
        this.phase = 'auth';
        // Ask for the client's token in the password field (cleartext over loopback or client TLS).
        this.client.write(wire.serializeAuthenticationCleartextPassword());
        return;
      }
    }
  }

  private upgradeClientTls(): void {
    const raw = this.client as Socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.deps.settings.clientTls });
    this.client = secure;
    this.attachClient(secure);
  }

  private async authenticate(presented: string): Promise<void> {
    const identified = await this.session.identify(presented);
    if (identified instanceof IdentityRejected) {
      // No token, or a password that is not one: the client's password is wrong (28P01).
      this.fatal(identified.code === 'missing' || identified.code === 'not-a-token' ? SQLSTATE.invalidPassword : SQLSTATE.invalidAuthorization, identified.message);
      return;
    }
    // The deadline (or an eviction) may have closed the session while the token was verified.
    if ((this.phase as Phase) === 'closed') {
      this.session.close([], 'closed while authenticating');
      return;
    }
    this.preAuth.release();
    this.planSessionDetectors();
    // Column rules need the catalog even for `*.col` patterns: an alias must not hide a column.
    this.needsTableNames = this.maskingRules.some((r) => r.columns.length > 0);

    let upstream: wire.UpstreamConnection;
    try {
      const credential = await this.session.credentials();
      upstream = await wire.connectUpstream({
        host: this.target.host,
        port: this.target.port,
        tls: this.target.tls,
        user: credential.username,
        password: credential.password,
        database: this.database,
        params: this.forwardedParams,
      });
    } catch (err) {
      const e = err as { code?: string; sqlState?: string; message?: string };
      const message = `sidegate: cannot log in to target "${this.target.name}": ${e.message ?? 'connection failed'}`;
      this.session.upstreamFailed(message, e.sqlState ?? e.code ?? 'upstream');
      // The client's own login succeeded; the target refused ours. 28xxx would tell the client
      // its password was wrong, so such refusals become 08004 (server rejected the connection).
      // The token exchange refusing this pod a credential is an authorization failure (28000);
      // the exchange unreachable is a connection that could not be made (08001).
      const code =
        err instanceof CredentialError
          ? err.code === 'refused' ? SQLSTATE.invalidAuthorization : SQLSTATE.cannotConnect
          : e.sqlState && !e.sqlState.startsWith('28') ? e.sqlState : e.sqlState ? SQLSTATE.rejectedConnection : SQLSTATE.cannotConnect;
      this.fatal(code, message);
      return;
    }
    if (this.phase === 'closed') {
      upstream.socket.destroy();
      return;
    }
    this.upstream = upstream.socket;
    this.upstream.setNoDelay?.(true);
    this.ourKey = { processId: randomBytes(4).readInt32BE(0) & 0x7fffffff, secretKey: randomBytes(4).readInt32BE(0) };
    this.deps.cancelRegistry.register(this.ourKey.processId, this.ourKey.secretKey, {
      target: this.target,
      processId: upstream.backendKey.processId,
      secretKey: upstream.backendKey.secretKey,
      cancelHold: () => this.runs.cancelHold(),
    });

    const out = this.toClient;
    out.add(wire.serializeAuthenticationOk());
    for (const [name, value] of upstream.parameters) out.add(wire.serializeParameterStatus(name, value));
    out.add(wire.serializeBackendKeyData(this.ourKey.processId, this.ourKey.secretKey));
    out.add(wire.serializeReadyForQuery(upstream.transactionStatus));
    out.flushTo(this.client);

    this.session.setAttributes({ 'sidegate.upstream.server_version': upstream.parameters.get('server_version') ?? '' });
    this.upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    this.upstream.on('error', (err) => this.log.debug('upstream socket error', { error: err.message }));
    this.upstream.on('close', () => this.close('upstream closed'));
    this.upstream.on('drain', () => this.client.resume());
    this.phase = 'ready';
    this.client.resume();
    if (upstream.leftover.length > 0) this.onUpstreamData(upstream.leftover);
    // Anything the client pipelined behind its password.
    for (let f = this.clientFramer.next(); f !== null; f = this.clientFramer.next()) this.clientQueue.push(f);
    this.pumpClient();
  }

  /** PostgreSQL's semantic conventions for the session span (the pipeline adds who and where). */
  private sessionAttributes(): Attributes {
    return {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      [ATTR_DB_NAMESPACE]: this.database,
      ...(this.startupParams['application_name'] ? { 'sidegate.client.application_name': this.startupParams['application_name'] } : {}),
      // The user name the client asked for (never the upstream login); db.user is deprecated.
      ...(this.startupParams['user'] ? { 'sidegate.client.user': this.startupParams['user'] } : {}),
    };
  }

  // ───────────────────────────── client → upstream ─────────────────────────────

  /**
   * Processes queued client messages in order. Synchronous for everything but holds: a held
   * command stops the queue (and, through backpressure, the client) until it is decided.
   */
  private pumpClient(): void {
    if (this.clientBusy || this.phase !== 'ready') return;
    try {
      while (this.clientQueue.length > 0) {
        const frame = this.clientQueue.shift()!;
        const pending = this.onClientMessage(frame);
        if (pending) {
          this.clientBusy = true;
          this.flushUpstream();
          if (this.clientQueue.length > 64) this.client.pause();
          pending
            .catch((err: Error) => this.protocolFailure(err))
            .finally(() => {
              this.clientBusy = false;
              this.client.resume();
              this.pumpClient();
            });
          return;
        }
      }
      this.flushUpstream();
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private flushUpstream(): void {
    if (!this.upstream) return;
    if (!this.toUpstream.flushTo(this.upstream)) this.client.pause();
    this.runs.openPending();
  }

  private flushClient(): void {
    if (!this.toClient.flushTo(this.client)) this.upstream?.pause();
    this.runs.endPending();
  }

  private flushClientSoon(): void {
    if (this.clientFlushScheduled) return;
    this.clientFlushScheduled = true;
    setImmediate(() => {
      this.clientFlushScheduled = false;
      this.flushClient();
    });
  }

  /** Returns a promise only when the message must wait (a hold). */
  private onClientMessage(frame: wire.Frame): Promise<void> | undefined {
    switch (frame.code) {
      case 0x51 /* Q */:
        return this.onQuery(frame);
      case 0x50 /* P */:
        return this.onParse(frame);
      case 0x42 /* B */:
        return this.onBind(frame);
      case 0x44 /* D */: {
        const d = wire.readDescribe(frame.body);
        let portal: PortalInfo | undefined;
        if (d.kind === 'P') {
          const found = this.lookupPortal(d.name);
          if (found === UNCERTAIN) return this.afterReplies(frame);
          portal = found;
          if (portal) portal.describing = true;
        }
        this.tracker.push({ kind: 'describe', data: { t: 'describe', target: d.kind, name: d.name, portal } });
        this.toUpstream.add(frame.raw);
        return undefined;
      }
      case 0x45 /* E */:
        return this.onExecute(frame);
      case 0x43 /* C */: {
        const c = wire.readClose(frame.body);
        const change = (c.kind === 'S' ? this.statements : this.portals).remove(c.name, this.batch);
        this.tracker.push({ kind: 'close', data: { t: 'close', target: c.kind, name: c.name, change } });
        this.toUpstream.add(frame.raw);
        return undefined;
      }
      case 0x53 /* S */:
        this.pushSyncPoint({ kind: 'sync', data: { t: 'sync' } });
        this.toUpstream.add(frame.raw);
        return undefined;
      case 0x48 /* H Flush */:
      case 0x64 /* d CopyData */:
      case 0x63 /* c CopyDone */:
      case 0x66 /* f CopyFail */:
        this.toUpstream.add(frame.raw);
        return undefined;
      case 0x58 /* X Terminate */:
        this.toUpstream.add(frame.raw);
        this.flushUpstream();
        this.close('client terminated');
        return undefined;
      case 0x46 /* F FunctionCall */:
        return this.onFunctionCall(frame);
      default:
        throw new wire.ProtocolError('unexpected-message', `unknown or unexpected message type '${printable(frame.code)}'`);
    }
  }

  private onQuery(frame: wire.Frame, pre?: OffThreadInspection): Promise<void> | undefined {
    const sql = pre?.sql ?? wire.readQuery(frame.body);
    if (!pre && this.offThread(frame)) return this.inspectOffThread(sql, false).then((r) => (this.phase === 'closed' ? undefined : this.onQuery(frame, r)));
    const inspected = this.sessionFacts(pre?.inspected ?? this.inspect(sql, { target: this.target.name }));
    const facts = decisionFacts(inspected);
    const mode = pre?.mode ?? settingIndependentSql(sql);
    const own = mode.kind === 'refused' ? ambiguousLiteralDenial(mode.reason) : this.runs.decide(facts);
    // FETCH/MOVE run a cursor: decided with the statement that created it (session-objects.ts).
    const plan = planSessionObjects(inspected, own, this.lookupPortal, this.lookupStatement);
    if (plan === UNCERTAIN) return this.afterReplies(frame);
    const decision = plan?.decision ?? own;
    const raw = mode.kind === 'rewritten' ? wire.serializeQuery(mode.sql) : frame.raw;
    const runs = inspected.map((s) => this.runs.start(s, decision));
    if (inspected.length === 0) {
      // Empty query: PostgreSQL answers EmptyQueryResponse; nothing to decide.
      this.pushSyncPoint({ kind: 'query', data: { t: 'query', runs, index: 0 } });
      this.toUpstream.add(raw);
      return undefined;
    }
    if (decision.action === 'allow') {
      if (plan) this.applySessionObjects(plan, inspected, runs);
      this.pushSyncPoint({ kind: 'query', data: { t: 'query', runs, index: 0 } });
      this.toUpstream.add(raw);
      return undefined;
    }
    if (decision.action === 'deny') {
      this.sendPoisonQuery(runs, denialMessage(decision), decision);
      return undefined;
    }
    // The approver sees, and approves, exactly the bytes forwarded (after sidegate's rewriting),
    // and the statements of the cursors or prepared statements it runs (session-objects.ts).
    const held: HeldCommandInput = { sessionId: this.id, target: this.target.name, sql: raw.subarray(5, raw.length - 1), context: plan ? this.runsAlso(plan) : undefined };
    return this.holdThen(decision, held, runs, (outcome, canceled) => {
      if (canceled !== undefined) {
        this.sendPoisonQuery(runs, canceled, decision, outcome, SQLSTATE.queryCanceled);
      } else if (outcome.verdict === 'allow') {
        if (plan) this.applySessionObjects(plan, inspected, runs, true);
        this.pushSyncPoint({ kind: 'query', data: { t: 'query', runs, index: 0 } });
        this.toUpstream.add(raw);
      } else {
        this.sendPoisonQuery(runs, outcome.message, decision, outcome);
      }
    });
  }

  /**
   * Whether a statement message is inspected off the event loop (statement-inspection-pool.ts);
   * one too large to inspect at all ends the session with 54000 and is never forwarded.
   */
  private offThread(frame: wire.Frame): boolean {
    const max = this.deps.settings.maxStatementBytes ?? MAX_STATEMENT_BYTES;
    if (frame.body.length <= OFF_THREAD_BYTES && frame.body.length <= max) return false;
    checkStatementSize(frame.body.length, max);
    return this.deps.inspect === undefined;
  }

  private inspectOffThread(sql: string, prepared: boolean): Promise<OffThreadInspection> {
    return statementInspectionPool.inspect(sql, { target: this.target.name, ...(prepared ? { prepared } : {}) });
  }

  private sendPoisonQuery(runs: StatementRun[], message: string, decision: Decision, outcome?: GateOutcome, code?: string): void {
    this.runs.mark(runs, decisionAttributes(decision, outcome));
    this.pushSyncPoint({ kind: 'query', poison: true, data: { t: 'query', runs, index: 0, denied: message, deniedCode: code } });
    this.toUpstream.add(wire.serializeQuery(POISON_SQL));
  }

  /**
   * Sync, Query and FunctionCall end a batch: what they change is certain only once their
   * ReadyForQuery arrives. (A Query inside an extended batch ends one too: after its own error
   * the rest of the extended batch still runs, so what it changed cannot be assumed.)
   */
  private pushSyncPoint(item: Pending<Work>): void {
    this.tracker.push(item);
    this.batch++;
  }

  /**
   * The message refers to a name an earlier, still unanswered batch changes (server-names.ts):
   * it is handled again once a ReadyForQuery has settled what the server made of that batch.
   */
  private afterReplies(frame: wire.Frame): Promise<void> {
    this.clientQueue.unshift(frame);
    return new Promise((resolve) => this.replyWaiters.push(resolve));
  }

  /**
   * The cursors and prepared statements the statements of a forwarded command create or drop,
   * pending until each statement completes (StatementRun.effect). A DECLARE makes a portal
   * generation that runs under the decision this command was forwarded with; `approved` clears
   * the cursors a FETCH of this command needed an approval for.
   */
  private applySessionObjects(plan: SessionObjectPlan<PortalInfo>, inspected: InspectedStatement[], runs: StatementRun[], approved = false): void {
    if (approved) for (const portal of plan.clears) portal.cleared = true;
    const batch = this.batch;
    for (let i = 0; i < plan.ops.length; i++) {
      const op = plan.ops[i];
      const run = runs[i];
      if (!op || !run) continue;
      switch (op.op) {
        case 'declare': {
          const statement: PreparedInfo = { inspected: [inspected[i]!], decision: plan.decision, batch };
          const portal: PortalInfo = { statement, batch, cleared: true, cursor: true, holdable: op.hold };
          this.portals.define(op.name, portal);
          run.effect = (applied) => {
            portal.txn = this.txnCount;
            if (applied && op.hold) this.holdablePortals = true;
            this.portals.settle(op.name, portal, applied);
          };
          break;
        }
        case 'close':
          run.effect = this.removal(this.portals, op.name, batch);
          break;
        case 'deallocate':
          run.effect = this.removal(this.statements, op.name, batch);
          break;
        case 'prepare': {
          // Decided as sent alone: its kinds are those of the query it prepares (plus `prepare`).
          const statement: PreparedInfo = { inspected: [inspected[i]!], decision: this.runs.decide(decisionFacts([inspected[i]!])), batch, viaSql: true };
          this.statements.define(op.name, statement);
          run.effect = (applied) => this.statements.settle(op.name, statement, applied);
          break;
        }
        case 'discard-all': {
          const a = this.statements.clearAll(batch);
          const b = this.portals.clearAll(batch);
          run.effect = (applied) => {
            this.statements.settleClearing(a, applied);
            this.portals.settleClearing(b, applied);
          };
          break;
        }
        case 'fetch':
        case 'execute':
          break;
      }
    }
  }

  /**
   * For the approver (HeldCommandInput.context): the statements a held command runs besides its
   * own text — the query of a cursor it fetches from, with that portal's parameters, or the
   * prepared statement an EXECUTE runs.
   */
  private runsAlso(plan: SessionObjectPlan<PortalInfo>): string | undefined {
    if (plan.also.length === 0) return undefined;
    return plan.also
      .map(({ statement, portal }) => {
        const info = statement as PreparedInfo;
        const sql = info.held ? info.held.sql.toString('utf8') : info.inspected.map((s) => s.text).join('; ');
        const values = portal?.parameters?.values ?? [];
        if (values.length === 0) return sql;
        const shown = values.map((v, i) => `$${i + 1} = ${v === null ? 'NULL' : isUtf8(v) ? JSON.stringify(v.toString('utf8')) : `\\x${v.toString('hex')}`}`);
        return `${sql}\n  with ${shown.join(', ')}`;
      })
      .join('\n');
  }

  private removal<V extends { batch: number }>(table: NameTable<V>, name: string | null, batch: number): (applied: boolean) => void {
    if (name === null) {
      const all: Clearing = table.clearAll(batch);
      return (applied) => table.settleClearing(all, applied);
    }
    const one = table.remove(name, batch);
    return (applied) => table.settle(name, one, applied);
  }

  private onParse(frame: wire.Frame, pre?: OffThreadInspection): Promise<void> | undefined {
    const p = wire.readParse(frame.body);
    if (!pre && this.offThread(frame)) return this.inspectOffThread(p.sql, true).then((r) => (this.phase === 'closed' ? undefined : this.onParse(frame, r)));
    const inspected = this.sessionFacts(pre?.inspected ?? this.inspect(p.sql, { target: this.target.name, prepared: true }));
    const mode = pre?.mode ?? settingIndependentSql(p.sql);
    const decision = mode.kind === 'refused' ? ambiguousLiteralDenial(mode.reason) : this.runs.decide(decisionFacts(inspected));
    if (decision.action === 'deny') {
      // The statement never reaches the target: a poison Parse provokes the upstream error in
      // exactly this position of the pipeline. Under the client's own name, so the server's slot
      // ends as after any failing Parse: the unnamed statement is dropped before parsing, a named
      // one keeps what it held. Sidegate follows the ErrorResponse (or the skip) the same way and
      // so knows the slot; Binds of it in this batch are skipped by the server.
      const runs = inspected.map((s) => this.runs.start(s, decision));
      const change = this.statements.remove(p.name, this.batch);
      this.tracker.push({ kind: 'parse', poison: true, data: { t: 'parse', name: p.name, change, denied: { run: runs, message: denialMessage(decision) } } });
      this.toUpstream.add(wire.serializeParse(p.name, POISON_SQL, []));
      return undefined;
    }
    // allow or approve: preparing is harmless; an `approve` statement is held at each Execute.
    // It is the statement of that name once its ParseComplete arrives (server-names.ts).
    const info: PreparedInfo = { inspected, decision, batch: this.batch };
    // What a hold shows and binds: kept for an `approve` statement, and for one that runs a cursor
    // or prepared statement (its Execute may be held for what that runs).
    if (decision.action === 'approve' || inspected.some(mayTouchSessionObjects)) {
      info.held = { sql: mode.kind === 'rewritten' ? Buffer.from(mode.sql, 'utf8') : parseSqlBytes(frame.body), types: p.paramTypes };
    }
    this.statements.define(p.name, info);
    this.tracker.push({ kind: 'parse', data: { t: 'parse', name: p.name, change: info } });
    this.toUpstream.add(mode.kind === 'rewritten' ? wire.serializeParse(p.name, mode.sql, p.paramTypes) : frame.raw);
    return undefined;
  }

  private onBind(frame: wire.Frame): Promise<void> | undefined {
    const b = wire.readBind(frame.body);
    const statement = this.lookupStatement(b.statement);
    if (statement === UNCERTAIN) return this.afterReplies(frame);
    // A new generation of the portal, the portal once its BindComplete arrives. Bound to a
    // statement sidegate does not know (or denied), it is forwarded but never executed.
    // approvals: a held Execute shows and binds these exact parameters.
    const parameters = statement?.held ? { values: b.params, formats: b.paramFormats, resultFormats: b.resultFormats } : undefined;
    const portal: PortalInfo = { statement, batch: this.batch, parameters };
    this.portals.define(b.portal, portal);
    this.tracker.push({ kind: 'bind', data: { t: 'bind', name: b.portal, change: portal } });
    this.toUpstream.add(frame.raw);
    return undefined;
  }

  private onExecute(frame: wire.Frame): Promise<void> | undefined {
    const e = wire.readExecute(frame.body);
    const portal = this.lookupPortal(e.portal);
    if (portal === UNCERTAIN) return this.afterReplies(frame);
    const statement = portal?.statement;
    if (!portal || !statement) {
      // No statement sidegate decided stands behind this portal (never bound, bound to an unknown
      // or denied statement, closed, ended with its transaction): whatever the server holds under
      // that name would run undecided, so the Execute is refused and never forwarded.
      const refusal = unattributedPortal(e.portal, 'portal');
      const runs = [this.runs.start(unattributedExecute(this.target.name), refusal)];
      this.runs.mark(runs, decisionAttributes(refusal));
      this.sendPoisonExecute(undefined, runs, denialMessage(refusal));
      return undefined;
    }
    // A cursor's portal runs the query its DECLARE decided, not the DECLARE again; a statement
    // prepared by SQL PREPARE runs its query, not the PREPARE.
    const plan = portal.cursor || statement.viaSql ? null : planSessionObjects(statement.inspected, statement.decision, this.lookupPortal, this.lookupStatement);
    if (plan === UNCERTAIN) return this.afterReplies(frame);
    // Decided at Parse; the audit trail may have failed since (then nothing runs).
    const decision = this.runs.recheck(plan?.decision ?? statement.decision);
    const runs = statement.inspected.map((s) => this.runs.start(s, decision));
    const forward = (approved: boolean) => {
      if (approved) portal.cleared = true;
      if (plan) this.applySessionObjects(plan, statement.inspected, runs, approved);
      if (this.maskingRules.length > 0 && !portal.shape && !portal.describing) this.injectDescribePortal(e.portal, portal);
      this.tracker.push({ kind: 'execute', data: { t: 'execute', portal, runs } });
      this.toUpstream.add(frame.raw);
    };
    // A portal a human approved runs on (PortalSuspended, FETCH) as part of that approved run.
    if (decision.action === 'allow' || (decision === statement.decision && decision.action === 'approve' && portal.cleared)) {
      forward(false);
      return undefined;
    }
    if (decision.action === 'deny') {
      this.sendPoisonExecute(portal, runs, denialMessage(decision));
      return undefined;
    }
    // Parsed while the policy said allow or deny, and a reload made it approve: nothing to show.
    if (!statement.held) {
      this.sendPoisonExecute(portal, runs, denialMessage({ ...decision, action: 'deny', reason: 'the statement was prepared before the policy held it; prepare it again' }));
      return undefined;
    }
    const held: HeldCommandInput = {
      sessionId: this.id,
      target: this.target.name,
      sql: statement.held.sql,
      parameters: { values: [], formats: [], resultFormats: [], ...portal.parameters, types: statement.held.types },
      context: plan ? this.runsAlso(plan) : undefined,
    };
    return this.holdThen(decision, held, runs, (outcome, canceled) => {
      if (canceled !== undefined) this.sendPoisonExecute(portal, runs, canceled, SQLSTATE.queryCanceled);
      else if (outcome.verdict === 'allow') forward(true);
      else this.sendPoisonExecute(portal, runs, outcome.message);
    });
  }

  private sendPoisonExecute(portal: PortalInfo | undefined, runs: StatementRun[], message: string, code?: string): void {
    this.tracker.push({ kind: 'parse', poison: true, data: { t: 'execute', portal, runs, denied: message, deniedCode: code } });
    this.toUpstream.add(wire.serializeParse(`sidegate_denied_${++this.poisonCounter}`, POISON_SQL, []));
  }

  /**
   * The client executes a portal whose row shape we have not seen (it skipped Describe). Masking
   * needs the shape before the first row, so ask for it ourselves and keep the answer to ourselves.
   */
  private injectDescribePortal(name: string, portal: PortalInfo): void {
    portal.describing = true;
    this.tracker.push({ kind: 'describe', injected: true, data: { t: 'describe', target: 'P', name, portal } });
    this.toUpstream.add(wire.serializeDescribe('P', name));
  }

  private onFunctionCall(frame: wire.Frame): Promise<void> | undefined {
    // The fast-path function call names a function by OID only: a catalogued built-in is
    // classified by its effect, any other OID is a call policy cannot inspect (fastpath-function.ts).
    if (frame.body.length < 4) throw new wire.ProtocolError('malformed', 'FunctionCall without a function OID');
    const facts = fastPathCallFacts(frame.body.readUInt32BE(0), this.target.name);
    const decision = this.runs.decide([facts]);
    const inspected: InspectedStatement = { facts, text: facts.text, queryText: facts.text };
    const runs = [this.runs.start(inspected, decision)];
    if (decision.action === 'allow') {
      this.pushSyncPoint({ kind: 'function-call', data: { t: 'query', runs, index: 0 } });
      this.toUpstream.add(frame.raw);
      return undefined;
    }
    // Not worth a hold: deny (fail closed) with the rule that would have held it.
    this.pushSyncPoint({ kind: 'query', poison: true, data: { t: 'query', runs, index: 0, denied: denialMessage(decision) } });
    this.toUpstream.add(wire.serializeQuery(POISON_SQL));
    return undefined;
  }

  /**
   * Holds a command for approval (the pipeline's hold: command-runs.ts), with the exact bytes that
   * will be forwarded; `then` runs once it is decided — with `canceled` set when the client's
   * CancelRequest ended the hold (the client is then told 57014, nothing runs).
   */
  private holdThen(
    decision: Decision,
    input: HeldCommandInput,
    runs: StatementRun[],
    then: (outcome: GateOutcome, canceled?: string) => void,
  ): Promise<void> {
    return this.runs.hold(decision, input, runs, this.holdPort).then((decided) => {
      if (!decided || this.phase === 'closed') return;
      then(decided.outcome, decided.canceled);
      this.flushUpstream();
    });
  }

  /** How a waiting client is told why nothing happens (psql prints notices as they arrive). */
  private readonly holdPort = {
    notice: (message: string) => {
      this.toClient.add(wire.serializeNotice({ severity: 'NOTICE', code: '00000', message }));
      this.flushClient();
    },
  };

  /**
   * Adds what only this session knows to the (shared, cached) inspection: once a statement that
   * can change search_path has been seen, unqualified names are no longer known to be `public`.
   */
  private sessionFacts(inspected: InspectedStatement[]): InspectedStatement[] {
    if (!this.searchPathChanged && inspected.some((s) => s.facts.flags.includes('search-path'))) this.searchPathChanged = true;
    if (!this.searchPathChanged) return inspected;
    // Not the template's any more: its flags differ.
    return inspected.map((s) => ({ ...s, template: undefined, facts: { ...s.facts, flags: [...s.facts.flags, 'search-path-changed'] } }));
  }

  /** PostgreSQL's semantic conventions for a statement's span (the pipeline adds who, where, what was decided). */
  private statementAttributes(inspected: InspectedStatement): Attributes {
    const facts = inspected.facts;
    return {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      [ATTR_DB_NAMESPACE]: this.database,
      [ATTR_DB_OPERATION_NAME]: facts.operation,
      [ATTR_DB_QUERY_TEXT]: inspected.queryText,
      ...(inspected.collection ? { [ATTR_DB_COLLECTION_NAME]: inspected.collection } : {}),
    };
  }

  private endRun(run: StatementRun, outcome: RunOutcome): void {
    if (run.ended) return;
    this.lastRunText = run.statement.text;
    this.runs.end(run, outcome);
  }

  // ───────────────────────────── upstream → client ─────────────────────────────

  private onUpstreamData(chunk: Buffer): void {
    try {
      this.detectorScreen?.reset(chunk);
      this.upstreamFramer.push(chunk);
      // Frames are handled as they are cut (queued only while the session waits on a lookup),
      // so that COPY TO rows can take the bulk path as soon as the COPY has begun.
      for (;;) {
        if (this.inCopyOut && !this.upstreamBusy && this.upstreamQueue.length === 0) this.forwardCopyRun();
        const f = this.upstreamFramer.next();
        if (f === null) break;
        this.upstreamQueue.push(f);
        this.handleQueuedUpstream();
      }
      if (this.upstreamBusy) return;
      // A reply that ends here (ReadyForQuery) is written at once. Mid-reply (rows of a large
      // result, COPY TO data) the target's TLS records of at most 16 kB arrive one read each:
      // what one turn of the event loop received goes out as one write (of the original slices,
      // no copy) instead of one write per record, up to a bound that keeps what waits small.
      if (wire.endsWithReadyForQuery(chunk) || this.toClient.size >= MAX_DEFERRED_CLIENT_BYTES) this.flushClient();
      else this.flushClientSoon();
    } catch (err) {
      this.log.warn('upstream protocol error', { error: (err as Error).message });
      this.fatal(SQLSTATE.protocolViolation, 'sidegate: the target sent a malformed message');
    }
  }

  private pumpUpstream(): void {
    this.handleQueuedUpstream();
    if (!this.upstreamBusy) this.flushClient();
  }

  /** Handles queued frames in order until the queue is empty or one needs a lookup first. */
  private handleQueuedUpstream(): void {
    if (this.upstreamBusy) return;
    while (this.upstreamQueue.length > 0) {
      const frame = this.upstreamQueue.shift()!;
      const pending = this.onUpstreamMessage(frame);
      if (pending) {
        this.upstreamBusy = true;
        this.flushClient();
        this.upstream?.pause();
        pending
          .catch((err: Error) => this.log.warn('catalog lookup failed', { error: err.message }))
          .finally(() => {
            this.upstreamBusy = false;
            this.upstream?.resume();
            this.pumpUpstream();
          });
        return;
      }
    }
  }

  /**
   * The bulk path of COPY TO: a run of CopyData rows in the received chunk goes to the client as
   * one slice, without a Frame per row. Without masking every row qualifies; with detectors only
   * rows the chunk screen clears do (the others take onCopyOutData's scanning path).
   */
  private forwardCopyRun(): void {
    const screen = this.detectorScreen;
    // Binary COPY fields are parsed one by one (copy-out-masking.ts): no bulk path under masking.
    if (this.inCopyOut?.withheld || (this.copyMasker && (!screen || this.inCopyOut?.binary))) return;
    const run = this.upstreamFramer.takeRun(0x64, screen ? (chunk, start, end) => !screen.mayMatchRange(chunk, start, end) : undefined);
    if (run === null) return;
    const stmt = this.copyRun(this.tracker.current());
    if (stmt) stmt.rows += run.count;
    this.toClient.add(run.raw);
  }

  /**
   * The session's COPY line masker and, from the same detectors, its chunk screen (used for
   * result values too: every result of the session has these detectors). Planned once, as
   * soon as the session's masking rules are known, so the screen sees every chunk whole.
   */
  private planSessionDetectors(): void {
    if (this.maskingRules.length === 0) return;
    this.shapes = new ResultShapePlanner({
      catalog: this.deps.catalog,
      target: this.target,
      database: this.database,
      principal: () => this.session.principal,
      rules: this.maskingRules,
      hashKey: this.session.maskingKey,
      warn: (message, error) => this.log.warn(message, { error }),
    });
    this.copyMasker = this.session.textMasker();
    this.detectorScreen = this.copyMasker?.chunkScreen(0, [HEX_SCREEN]) ?? null;
  }

  /** The statement a COPY TO row belongs to. */
  private copyRun(item: Pending<Work> | undefined): StatementRun | undefined {
    const work = item?.data;
    return work?.t === 'query' ? work.runs[work.index] : work?.t === 'execute' ? work.runs[0] : undefined;
  }

  private onUpstreamMessage(frame: wire.Frame): Promise<void> | undefined {
    if (frame.code === 0x53 /* S ParameterStatus */ && !this.encodingStillPinned(frame)) return undefined;
    const item = this.tracker.current();
    switch (frame.code) {
      case 0x44 /* D DataRow */:
        this.onDataRow(frame, item);
        return undefined;
      case 0x64 /* d CopyData */:
        this.onCopyOutData(frame, item);
        return undefined;
      case 0x54 /* T RowDescription */:
        return this.onRowDescription(frame, item);
      case 0x43 /* C CommandComplete */:
      case 0x49 /* I EmptyQueryResponse */:
      case 0x73 /* s PortalSuspended */:
        this.onCompletion(frame, item);
        return undefined;
      case 0x45 /* E ErrorResponse */:
        this.onError(frame, item);
        return undefined;
      case 0x5a /* Z ReadyForQuery */:
        this.onReadyForQuery(frame);
        return undefined;
      case 0x31 /* 1 ParseComplete */:
      case 0x32 /* 2 BindComplete */:
      case 0x33 /* 3 CloseComplete */:
        if (item) this.settleNames(item.data, 'applied');
        this.tracker.shift();
        this.toClient.add(frame.raw);
        return undefined;
      case 0x6e /* n NoData */:
        if (item?.kind === 'describe') {
          this.tracker.shift();
          if (item.injected) {
            const portal = (item.data as { portal?: PortalInfo }).portal;
            if (portal) portal.shape = RowShape.empty();
            return undefined;
          }
        }
        this.toClient.add(frame.raw);
        return undefined;
      case 0x74 /* t ParameterDescription */:
        this.toClient.add(frame.raw);
        return undefined;
      case 0x48 /* H CopyOutResponse */:
      {
        // Overall format byte: 1 is binary COPY, whose tuples are masked field by field.
        const copy: { work: Work | undefined; binary?: BinaryCopyState; withheld?: boolean } = { work: item?.data, binary: frame.body[0] === 1 ? { headerSeen: false } : undefined };
        this.inCopyOut = copy;
        this.toClient.add(frame.raw);
        const withheld = this.shapes && item?.data ? this.shapes.copyWithheld(this.resultStatement(item.data)) : false;
        if (typeof withheld === 'boolean') copy.withheld = withheld;
        else return withheld.then((w) => void (copy.withheld = w));
        return undefined;
      }
      case 0x63 /* c CopyDone */:
        this.inCopyOut = null;
        this.toClient.add(frame.raw);
        return undefined;
      case 0x56 /* V FunctionCallResponse */: {
        const withheld = this.maskingRules.length === 0 ? null : withheldFunctionResult(frame.body);
        const run = withheld && item?.data.t === 'query' ? item.data.runs[item.data.index] : undefined;
        if (run) run.masked += 1;
        this.toClient.add(withheld?.message ?? frame.raw);
        return undefined;
      }
      case 0x4e /* N NoticeResponse */:
      case 0x53 /* S ParameterStatus */:
      case 0x41 /* A NotificationResponse */:
        this.toClient.add(this.maskingRules.length === 0 ? frame.raw : this.maskServerText(frame, item));
        return undefined;
      default:
        // CopyInResponse, CopyBothResponse… pass through untouched: they carry no values.
        this.toClient.add(frame.raw);
        return undefined;
    }
  }

  /**
   * Defence in depth: statements that change client_encoding are refused by policy, but if the
   * server ever reports another one (a function changed it), sidegate no longer reads what the
   * server parses, so the session ends at once.
   */
  private encodingStillPinned(frame: wire.Frame): boolean {
    const p = wire.readParameterStatus(frame.body);
    if (p.name !== 'client_encoding' || p.value === PINNED_CLIENT_ENCODING) return true;
    const message = `sidegate: the session's client_encoding changed to ${JSON.stringify(p.value.slice(0, 64))}; sidegate inspects statements in UTF8 only, so the session is closed`;
    this.log.warn('upstream client_encoding changed; closing', { event: SecurityEvent.sessionClosed, encoding: p.value.slice(0, 64) });
    this.session.setAttributes({ 'sidegate.session.client_encoding_changed': p.value.slice(0, 64), [ATTR_ERROR_TYPE]: 'client-encoding-changed' });
    this.fatal(SQLSTATE.protocolViolation, message);
    return false;
  }

  private onRowDescription(frame: wire.Frame, item: Pending<Work> | undefined): Promise<void> | undefined {
    if (!item?.injected) this.toClient.add(frame.raw);
    const work = item?.data;
    if (!work) return undefined;
    if (work.t === 'describe') this.tracker.shift();
    // A session without masking rules needs no row shape, and a Describe S answer comes before Bind
    // chose the result formats: neither is parsed (this runs for every result on the hot path).
    if (this.maskingRules.length === 0 || (work.t === 'describe' && work.target === 'S')) return undefined;
    const apply = (shape: RowShape) => {
      if (work.t === 'describe') {
        // The generation this Describe was sent for, not whatever the name is bound to now.
        if (work.portal) work.portal.shape = shape;
      } else if (work.t === 'query') {
        work.shape = shape;
      } else if (work.t === 'execute' && work.portal) {
        work.portal.shape = shape;
      }
    };
    const planned = this.shapes!.plan(frame.body, this.resultStatement(work));
    if (planned instanceof RowShape) {
      apply(planned);
      return undefined;
    }
    return planned.then(apply);
  }

  /** The statement a result answers, for where its columns come from (result-shape-planner.ts). */
  private resultStatement(work: Work): InspectedStatement | undefined {
    if (work.t === 'query') return work.runs[work.index]?.statement as InspectedStatement | undefined;
    const portal = work.t === 'execute' || work.t === 'describe' ? work.portal : undefined;
    return portal?.statement?.inspected[0];
  }

  private onDataRow(frame: wire.Frame, item: Pending<Work> | undefined): void {
    const work = item?.data;
    let run: StatementRun | undefined;
    let shape: RowShape | undefined;
    if (work?.t === 'execute') {
      run = work.runs[0];
      shape = work.portal?.shape;
    } else if (work?.t === 'query') {
      run = work.runs[work.index];
      shape = work.shape;
    }
    if (run) run.rows++;
    if (shape?.masking) {
      const rewritten = shape.maskDataRow(frame.body, this.detectorScreen);
      if (rewritten) {
        if (run) run.masked += rewritten.masked;
        this.toClient.add(rewritten.message);
        return;
      }
    } else if (this.maskingRules.length > 0 && !shape) {
      // Rows with no known shape while masking rules apply: never pass them unmasked.
      const nulls = RowShape.nullRow(frame.body);
      if (run) run.masked += nulls.masked;
      this.toClient.add(nulls.message);
      return;
    }
    this.toClient.add(frame.raw);
  }

  private onCopyOutData(frame: wire.Frame, item: Pending<Work> | undefined): void {
    if (this.inCopyOut?.withheld) {
      // Column rules cover what this COPY reads: its rows are withheld (copy-out-masking.ts).
      const w = withheldCopyData(frame.body, this.inCopyOut.binary);
      const run = this.copyRun(item);
      if (run) {
        run.rows++;
        run.masked += w.masked;
      }
      this.toClient.add(w.masked > 0 ? wire.serializeCopyData(w.data) : frame.raw);
      return;
    }
    const masker = this.inCopyOut ? this.copyMasker : null;
    if (masker) {
      // COPY TO rows carry no column metadata: detectors run over the whole line.
      const run = this.copyRun(item);
      const binary = this.inCopyOut?.binary;
      if (binary) {
        const rewritten = maskCopyBinaryData(frame.body, masker, binary);
        if (run) {
          run.rows++;
          run.masked += rewritten?.masked ?? 0;
        }
        this.toClient.add(rewritten ? wire.serializeCopyData(rewritten.data) : frame.raw);
        return;
      }
      const screen = this.detectorScreen;
      if (screen && !screen.mayMatch(frame.body)) {
        if (run) run.rows++;
        this.toClient.add(frame.raw);
        return;
      }
      const rewritten = maskCopyTextLine(frame.body, masker);
      if (run) {
        run.rows++;
        run.masked += rewritten.masked;
      }
      this.toClient.add(rewritten.masked > 0 ? wire.serializeCopyData(rewritten.line) : frame.raw);
      return;
    }
    if (this.inCopyOut) {
      const run = this.copyRun(item);
      if (run) run.rows++;
    }
    this.toClient.add(frame.raw);
  }

  private onCompletion(frame: wire.Frame, item: Pending<Work> | undefined): void {
    const work = item?.data;
    const tag = frame.code === 0x43 ? wire.readCommandComplete(frame.body) : undefined;
    if (work?.t === 'execute') for (const run of work.runs) this.afterDdl(run);
    else if (work?.t === 'query') this.afterDdl(work.runs[work.index]);
    // ROLLBACK (or a COMMIT of a failed block, tagged ROLLBACK): its WITH HOLD cursors are gone.
    // ROLLBACK TO SAVEPOINT has the same tag: forgetting them then only refuses more (fail closed).
    if (tag === 'ROLLBACK') this.errorInTxn = true;
    const done = completed(tag);
    if (work?.t === 'execute') {
      this.tracker.shift();
      for (const run of work.runs) this.endRun(run, done);
    } else if (work?.t === 'query' || (work && item?.kind === 'function-call')) {
      const q = work as Extract<Work, { t: 'query' }>;
      const run = q.runs[q.index];
      if (run) this.endRun(run, done);
      q.index++;
      q.shape = undefined;
    }
    this.inCopyOut = null;
    this.toClient.add(frame.raw);
  }

  /** A DDL statement completed: what the catalog said of this target may be stale now (catalog-names.ts). */
  private afterDdl(run: StatementRun | undefined): void {
    if (!run?.statement.facts.kinds.includes('ddl')) return;
    this.deps.catalog.invalidate(this.target.name);
    this.shapes?.invalidate();
  }

  private onError(frame: wire.Frame, item: Pending<Work> | undefined): void {
    const work = item?.data;
    // The transaction fails with it (a WITH HOLD cursor it declared does not survive).
    this.errorInTxn = true;
    if (item?.poison && work) {
      // A poison message is an extended-protocol one unless it stands for a Query.
      if (item.kind !== 'query') this.skippingTillSync = true;
      if (this.skippingTillSync && this.replyWaiters.length > 0) this.wakeReplyWaiters();
      this.settleNames(work, 'failed');
      const denied = work.t === 'parse' ? work.denied?.message : work.t === 'query' || work.t === 'execute' ? work.denied : undefined;
      const runs = work.t === 'parse' ? (work.denied?.run ?? []) : work.t === 'query' || work.t === 'execute' ? work.runs : [];
      // A hold ended by the client's CancelRequest answers as PostgreSQL does (57014), not as a denial.
      const code = (work.t === 'query' || work.t === 'execute' ? work.deniedCode : undefined) ?? SQLSTATE.insufficientPrivilege;
      for (const run of runs) this.endRun(run, { error: denied ?? 'denied', statusCode: code, executed: false });
      if (item.kind !== 'query') this.tracker.shift();
      this.toClient.add(
        wire.serializeError({
          severity: 'ERROR',
          code,
          message: denied ?? 'sidegate: denied',
          ...(code === SQLSTATE.insufficientPrivilege ? { hint: 'sidegate policy decided this statement may not run for this identity' } : {}),
        }),
      );
      return;
    }
    if (item && item.kind !== 'query' && item.kind !== 'function-call') this.skippingTillSync = item.kind !== 'sync';
    // A message waiting on this batch's reply may now be known to be skipped (lookupPortal).
    if (this.skippingTillSync && this.replyWaiters.length > 0) this.wakeReplyWaiters();
    if (work) this.settleNames(work, 'failed');
    let raw = frame.raw;
    let fields: Record<string, string>;
    if (this.maskingRules.length > 0) {
      // The server may echo a value in any field: the client and the span get the masked text.
      const m = maskNoticeFields(frame.code, frame.body, this.echoContext(item));
      fields = Object.fromEntries(m.fields);
      if (m.rewritten) raw = m.rewritten.message;
    } else {
      fields = wire.readErrorFields(frame.body);
    }
    const sqlState = fields['C'];
    const message = fields['M'] ?? 'error';
    if (work?.t === 'query') {
      const run = work.runs[work.index];
      if (run) this.endRun(run, { error: message, statusCode: sqlState });
      work.index++;
    } else if (work?.t === 'execute') {
      for (const run of work.runs) this.endRun(run, { error: message, statusCode: sqlState });
      this.tracker.shift();
    } else if (work && item?.kind !== 'sync') {
      this.tracker.shift();
    }
    this.inCopyOut = null;
    this.toClient.add(raw);
  }

  /** What the server's text channels are compared with and masked by (server-text-masking.ts). */
  private echoContext(item: Pending<Work> | undefined): EchoContext {
    const work = item?.data;
    const runs = work?.t === 'query' || work?.t === 'execute' ? work.runs : undefined;
    const statement = runs && runs.length > 0 ? runs.map((r) => r.statement.text).join('\n') : this.lastRunText;
    return { detectors: this.copyMasker, columnRules: this.needsTableNames, statement };
  }

  /** A notice, setting or notification while masking applies: its echoes masked. */
  private maskServerText(frame: wire.Frame, item: Pending<Work> | undefined): Buffer {
    const ctx = this.echoContext(item);
    if (frame.code === 0x4e) return maskNoticeFields(frame.code, frame.body, ctx).rewritten?.message ?? frame.raw;
    const m = frame.code === 0x53 ? maskParameterStatus(frame.body, ctx) : maskNotification(frame.body, ctx);
    return m?.message ?? frame.raw;
  }

  private onReadyForQuery(frame: wire.Frame): void {
    const skipped = this.skippingTillSync;
    this.skippingTillSync = false;
    for (const item of this.tracker.retireThroughSync(skipped)) {
      const work = item.data;
      // Never answered: the server skipped it after an error.
      this.settleNames(work, 'skipped');
      if (work.t === 'query' && !skipped) {
        // A simple Query drops the unnamed statement and runs in (then drops) the unnamed portal.
        this.statements.forget('');
        this.portals.forget('');
      }
      if (work.t === 'query' || work.t === 'execute') {
        for (const run of work.runs) this.endRun(run, { executed: false, error: run.ended ? undefined : 'not executed: an earlier statement failed' });
      } else if (work.t === 'parse' && work.denied) {
        for (const run of work.denied.run) this.endRun(run, { error: work.denied.message, statusCode: SQLSTATE.insufficientPrivilege, executed: false });
      }
    }
    // Outside a transaction block every portal but a WITH HOLD cursor is gone (the implicit or
    // explicit transaction ended). In a failed block ('E') they live on until ROLLBACK (TO).
    // A WITH HOLD cursor declared in a transaction that failed is gone too.
    if (frame.body[0] === 0x49 /* I */) {
      // Without a WITH HOLD cursor (the usual case) no scan: every portal goes.
      if (!this.holdablePortals) this.portals.forgetAll();
      else if (this.portals.size > 0) this.portals.retain(this.keepAfterTransaction);
      if (this.portals.size === 0) this.holdablePortals = false;
      this.txnCount++;
      this.errorInTxn = false;
    }
    this.toClient.add(frame.raw);
    if (this.replyWaiters.length > 0) this.wakeReplyWaiters();
  }

  private wakeReplyWaiters(): void {
    const waiters = this.replyWaiters;
    this.replyWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * The server answered a Parse, Bind or Close (applied), refused it (failed) or skipped it: what
   * the name now holds follows (server-names.ts). A failing Parse of the unnamed statement has
   * dropped the previous one (the server drops it before it parses); so may a failing Bind of the
   * unnamed portal (forgetting it only refuses more).
   */
  private settleNames(work: Work, outcome: 'applied' | 'failed' | 'skipped'): void {
    const applied = outcome === 'applied';
    switch (work.t) {
      case 'parse':
        this.statements.settle(work.name, work.change, applied);
        if (outcome === 'failed' && work.name === '') this.statements.forget('');
        return;
      case 'bind':
        this.portals.settle(work.name, work.change, applied);
        if (outcome === 'failed' && work.name === '') this.portals.forget('');
        return;
      case 'close':
        if (work.target === 'S') {
          const closed = applied ? this.statements.committed(work.name) : undefined;
          this.statements.settle(work.name, work.change, applied);
          // Closing a statement closes the portals made from it.
          if (closed && this.portals.size > 0) this.portals.retain((p) => p.statement !== closed);
        } else {
          this.portals.settle(work.name, work.change, applied);
        }
        return;
      default:
        return;
    }
  }

  // ───────────────────────────── ending ─────────────────────────────

  /** An error the client should see in its own protocol, then the connection closes. */
  private fatal(code: string, message: string): void {
    if (this.phase === 'closed') return;
    try {
      // After anything of the reply still waiting to be written (flushClientSoon).
      this.toClient.add(wire.serializeError({ severity: 'FATAL', code, message }));
      this.flushClient();
    } catch {
      /* the socket may already be gone */
    }
    this.client.end();
    this.close(message);
  }

  private protocolFailure(err: unknown): void {
    this.log.warn('closing session on protocol error', { event: SecurityEvent.sessionClosed, error: (err as Error)?.message });
    if (err instanceof StatementRefused) {
      this.fatal(err.sqlState, err.message);
      return;
    }
    if (err instanceof wire.ProtocolError && err.code === 'invalid-encoding') {
      this.fatal(SQLSTATE.characterNotInRepertoire, `sidegate: ${err.message}: sidegate reads every statement and name as UTF-8, exactly as the server parses it`);
      return;
    }
    const message = err instanceof wire.ProtocolError ? err.message : 'internal error';
    this.fatal(SQLSTATE.protocolViolation, `sidegate: protocol violation: ${message}`);
  }

  /** Ends the connection without a reply, as PostgreSQL does for a client that is not speaking its protocol. */
  private closeSilently(reason: string): void {
    this.log.debug('closing connection silently', { reason });
    this.startupBuf = Buffer.alloc(0);
    this.client.end();
    this.close(reason);
  }

  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.phase = 'closed';
    this.preAuth?.release();
    // A client that goes away while held cancels its hold (the broker marks it cancelled).
    this.runs.abandonHold();
    this.wakeReplyWaiters();
    const inFlight: StatementRun[] = [];
    for (const item of this.tracker.drain()) {
      const work = item.data;
      inFlight.push(...(work.t === 'query' || work.t === 'execute' ? work.runs : work.t === 'parse' && work.denied ? work.denied.run : []));
    }
    if (this.ourKey.processId !== 0) this.deps.cancelRegistry.unregister(this.ourKey.processId, this.ourKey.secretKey);
    if (this.upstream) {
      const up = this.upstream;
      this.upstream = undefined;
      up.end();
      up.destroySoon?.();
    }
    if (!this.client.destroyed) {
      this.flushClient(); // what the target sent before it went away still reaches the client
      this.client.end();
    }
    // Unfinished runs, and whatever was not yet written, end before the session's own span.
    this.session.close(inFlight, reason);
  }
}

/** A Terminate message ('X', length 4). */
const TERMINATE = wire.serializeTerminate();

/** The SQL text bytes of a Parse body (after the statement name), exactly as the client sent them. */
function parseSqlBytes(body: Buffer): Buffer {
  const start = body.indexOf(0) + 1;
  return body.subarray(start, body.indexOf(0, start));
}

function printable(code: number): string {
  return code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : `0x${code.toString(16)}`;
}

/** A CommandComplete as the pipeline's outcome: the tag's row count where the tag has one. */
function completed(tag: string | undefined): RunOutcome {
  // "UPDATE 3", "INSERT 0 3", "DELETE 3", "COPY 3", "MERGE 3": the last number is the row count.
  const affected = tag ? /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/.exec(tag) : null;
  return affected ? { tag, executed: true, affectedRows: Number(affected[1]) } : { tag, executed: true };
}
