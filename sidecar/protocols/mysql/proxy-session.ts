// One MySQL client connection through sidegate: MySQL's wire state and mechanics, driving the
// pipeline's session (who is calling, credentials, masking plan, evidence) and its runs (decide,
// hold, span per command). The pipeline's rules, in MySQL's terms:
//
// - Decide on server truth. Commands go one at a time: the next is read only once the reply to
//   the last is complete, so every reply is read against the command that caused it
//   (response-reader.ts) and every piece of state — prepared statement ids, open cursors, the
//   database, multi-statement mode, NO_BACKSLASH_ESCAPES — follows the server's replies.
// - Same bytes, same reading: statements are inspected in the connection's character set, which
//   is pinned to one sidegate reads exactly as the server does (client-charset.ts); statements
//   that would change it, or switch sql_mode to a lexing the inspector does not share, are
//   refused; the server's status flags are watched for the modes that change lexing.
// - Every byte toward the client passes the masker while masking applies: text and binary rows,
//   column names, error and OK messages.
// - Bounded: packet sizes are checked from their headers, a statement above the inspection limit
//   is refused, long data per statement is capped, the login has a deadline and a slot.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { CommandFacts, Decision, TargetSpec } from '../../../core/vocabulary.js';
import type { Attributes } from '../../pipeline/audit-attributes.js';
import type { ConnectionSession } from '../../pipeline/connection-session.js';
import type { CommandRun, CommandRuns, HoldPort } from '../../pipeline/command-runs.js';
import { IdentityRejected } from '../../pipeline/client-identity.js';
import type { AdapterSettings } from '../../pipeline/pipeline-services.js';
import { PreAuthBounds, DEFAULT_AUTH_TIMEOUT_MS } from '../../pipeline/pre-auth-bounds.js';
import { CredentialError } from '../../identity/credential-source.js';
import { MAX_TOKEN_BYTES } from '../../../core/tokens/token-size.js';
import { OutputBatch } from '../../../core/streams/output-batch.js';
import { isOwnAddress } from '../../../core/network/own-address.js';
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_MULTI_STATEMENTS,
  CLIENT_MYSQL,
  MARIADB_CLIENT_EXTENDED_METADATA,
  CLIENT_SSL,
  COM_FIELD_LIST,
  COM_INIT_DB,
  COM_PING,
  COM_QUERY,
  COM_QUIT,
  COM_RESET_CONNECTION,
  COM_SET_OPTION,
  COM_STATISTICS,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_RESET,
  COM_STMT_SEND_LONG_DATA,
  MYSQL_OPTION_MULTI_STATEMENTS_ON,
  SERVER_STATUS_ANSI_QUOTES,
  SERVER_STATUS_NO_BACKSLASH_ESCAPES,
  hasFlag,
} from './capabilities.js';
import { PacketFramer, framePacket, type Packet } from './packet-framer.js';
import { MalformedPacket } from './wire-reader.js';
import { isSslRequest, parseHandshakeResponse41, serializeAuthSwitchRequest, serializeHandshakeV10 } from './handshake-packets.js';
import { isEof, parseErr, parseOk, parseRowsEnd, serializeErr, serializeOk, type ErrPacket, type OkPacket } from './response-packets.js';
import { parseColumnDefinition41, serializeColumnDefinition41, type ColumnDefinition41 as ColumnDefinition } from './result-packets.js';
import { commandName, parseComStmtClose, parseComStmtExecute, parseComStmtFetch, parseComStmtReset, parseComStmtSendLongData, parseComSetOption } from './command-packets.js';
import { acceptClient, clearPassword, greeting, FORMAT_CAPABILITIES, TOKEN_PLUGIN } from './server-handshake.js';
import { probeGreeting, type TargetGreeting } from './server-greeting-probe.js';
import { clientCharsetNamed, type ClientCharset } from './client-charset.js';
import { sqlModeReadable } from './sql-mode-guard.js';
import { connectUpstream, type UpstreamConnection } from './upstream-connection.js';
import { ReplyReader, type ReplyShape } from './response-reader.js';
import { StatementIds, type PreparedStatement } from './statement-ids.js';
import type { KillTarget } from './sql-token-statements.js';
import { lexMysql } from './sql-lexer.js';
import { ResultRows } from './result-rows.js';
import type { ConnectionIds } from './connection-ids.js';
import { sourcesOf, type MaskingSources, type SourcesRequest } from './masking-sources.js';
import type { MysqlCatalog } from './catalog-relations.js';
import { decisionFacts, type InspectedMysqlStatement, type MysqlInspectOptions } from './sql-inspector.js';
import { executedParameters } from './executed-parameters.js';
import { ATTR_DB_COLLECTION_NAME, ATTR_DB_NAMESPACE, ATTR_DB_OPERATION_NAME, ATTR_DB_QUERY_TEXT, ATTR_DB_SYSTEM_NAME, ATTR_ERROR_TYPE, DB_SYSTEM_NAME_VALUE_MARIADB, DB_SYSTEM_NAME_VALUE_MYSQL } from '@opentelemetry/semantic-conventions';
import { SecurityEvent } from '../../../core/logging/security-events.js';

export interface MysqlProxyDeps {
  settings: AdapterSettings;
  connectionIds: ConnectionIds;
  /**
   * Per target, what its own greeting says (probed once, then what each login saw): the version
   * and extended metadata sidegate's greeting offers, as the client would have seen directly.
   */
  greetings: Map<string, Promise<TargetGreeting | null>>;
  inspect(text: string, opts: MysqlInspectOptions): InspectedMysqlStatement[];
  /** The relations statements name, for column rules over views and expressions. */
  catalog: MysqlCatalog;
  /** Largest packet accepted from a client after login (documented in docs/POLICY.md). */
  maxPacketBytes?: number;
}

/** Default bound on one client packet after login (a statement, a long-data chunk). */
export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024 * 1024;
/** Rows can legitimately be large; the bound on one server packet is still finite. */
const MAX_UPSTREAM_PACKET_BYTES = 256 * 1024 * 1024;
/** Before login only the handshake and a token can arrive. */
const MAX_LOGIN_PACKET_BYTES = MAX_TOKEN_BYTES + 8 * 1024;
/** Default largest statement inspected (as for PostgreSQL). */
const DEFAULT_MAX_STATEMENT_BYTES = 1024 * 1024;
/** Long data kept per statement for the approver's view and hash. */
const MAX_LONG_DATA_BYTES = 64 * 1024 * 1024;
/** Client packets queued behind a command in flight before the client is paused. */
const MAX_QUEUED_PACKETS = 64;
const GREETING_VERSION = '5.5.5-10.11.0-MariaDB-sidegate';

/** MySQL error numbers sidegate answers with, and their SQLSTATEs. */
const ER = {
  accessDenied: { code: 1045, state: '28000' },
  tableAccessDenied: { code: 1142, state: '42000' },
  specificAccess: { code: 1227, state: '42000' },
  unknownCommand: { code: 1047, state: '08S01' },
  unknownStmtHandler: { code: 1243, state: 'HY000' },
  queryInterrupted: { code: 1317, state: '70100' },
  packetTooLarge: { code: 1153, state: '08S01' },
  invalidCharacterString: { code: 1300, state: 'HY000' },
  cannotConnect: { code: 2003, state: 'HY000' },
  connectionError: { code: 1158, state: '08S01' },
  tooManyConnections: { code: 1040, state: '08004' },
  handshake: { code: 1043, state: '08S01' },
} as const;

type Phase = 'handshake' | 'auth-switch' | 'connecting' | 'ready' | 'closed';

type StatementRun = CommandRun<InspectedMysqlStatement>;

/** The reply being read and what its results belong to. */
interface Reply {
  reader: ReplyReader;
  shape: ReplyShape;
  binary: boolean;
  /** The runs of the command's statements, in order; results are attributed in that order. */
  runs: StatementRun[];
  index: number;
  /** Columns of the result set being read (or of the cursor being fetched). */
  columns: ColumnDefinition[];
  masker: ResultRows | null;
  /** The plan's masked count when this result started (plans are shared between results). */
  maskedBefore: number;
  /** The current result set's column definitions as sent (the plan's key). */
  definitions: Buffer[];
  /** The next packet to the client carries this sequence id. */
  sequence: number;
  /** What the command changes once the server confirms it. */
  onSuccess?: (status: number) => void;
  /** COM_STMT_PREPARE: what the server's reply assigns an id to. */
  preparing?: { statement: InspectedMysqlStatement; params: number; columns: ColumnDefinition[]; id?: number; decision: Decision };
  /** COM_STMT_EXECUTE: the statement whose result set (or cursor) this is. */
  executing?: PreparedStatement<InspectedMysqlStatement>;
  /** What the command's statements read, while column rules apply. */
  sources?: MaskingSources;
}

export class MysqlProxySession {
  private client: Socket | tls.TLSSocket;
  private upstream?: Socket | tls.TLSSocket;
  private phase: Phase = 'handshake';
  private clientFramer = new PacketFramer({ maxPacketBytes: MAX_LOGIN_PACKET_BYTES });
  private readonly upstreamFramer = new PacketFramer({ maxPacketBytes: MAX_UPSTREAM_PACKET_BYTES });
  private readonly connectionId: number;
  private readonly scramble = greetingScramble();
  /** Sequence id of the next packet sidegate sends the client during login. */
  private loginSequence = 1;
  /** The greeting offered MariaDB's extended column metadata (the target does). */
  private offersExtendedMetadata = false;
  /** The client took it: column definitions carry an extended-metadata field. */
  private extendedMetadata = false;
  /** The start of a possible SSLRequest, until its 36 bytes are in. */
  private preTls: Buffer = Buffer.alloc(0);
  private capabilities = 0;
  private upstreamCapabilities = 0;
  private collation = 45;
  private charset!: ClientCharset;
  private database = '';
  private user = '';
  private clientAttributes: Array<[string, string]> = [];
  private serverVersion = '';
  /** Commands waiting while one is in flight. */
  private readonly queue: Packet[] = [];
  private busy = false;
  private reply?: Reply;
  private readonly statements = new StatementIds<InspectedMysqlStatement>();
  /** The sources last made for a set of statements' relations, reused while the catalog's answer is the same. */
  private readonly sourcesMemo = new Map<string, { relations: ReadonlyArray<unknown>; stored: string; sources: MaskingSources }>();
  private rowPlans = new WeakMap<object, Map<string, ResultRows | null>>();
  private rowPlanCount = 0;
  /**
   * Column definitions by their exact bytes, parsed and with their labels masked: a prepared
   * statement's every execute sends the same ones again. `masked` null: sent as they came.
   */
  private readonly columnMemo = new Map<string, { def: ColumnDefinition; masked: Buffer | null }>();
  /** What each inspected statement reads, per current database (sourcesOf lexes the text). */
  private readonly sourcesRequests = new WeakMap<InspectedMysqlStatement, { database: string; request: SourcesRequest }>();
  private multiStatements = false;
  private noBackslashEscapes = false;
  private readonly toClient = new OutputBatch();
  private readonly runs: CommandRuns<InspectedMysqlStatement>;
  private readonly preAuth: PreAuthBounds;
  private readonly holdPort: HoldPort = {
    // MySQL has no asynchronous notices: a waiting client simply sees nothing until the decision.
    notice: () => undefined,
  };

  constructor(
    socket: Socket,
    private readonly target: TargetSpec,
    private readonly deps: MysqlProxyDeps,
    private readonly session: ConnectionSession<InspectedMysqlStatement>,
  ) {
    this.client = socket;
    this.runs = session.runs;
    session.useConventions({
      sessionAttributes: () => this.sessionAttributes(),
      commandAttributes: (statement) => this.statementAttributes(statement as InspectedMysqlStatement),
      commandVariant: () => this.database,
    });
    this.connectionId = deps.connectionIds.allocate();
    socket.setNoDelay(true);
    this.attachClient(socket);
    this.preAuth = new PreAuthBounds(
      {
        timedOut: (message) => this.failLogin(ER.handshake, message),
        evicted: (message) => this.failLogin(ER.tooManyConnections, message),
        waitingForClient: () => this.phase === 'handshake' || this.phase === 'auth-switch',
      },
      deps.settings.unauthenticated,
      deps.settings.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
    );
    if (this.phase === 'closed') return;
    let known = deps.greetings.get(target.name);
    if (!known) deps.greetings.set(target.name, (known = probeGreeting(target)));
    void known.then((target) => {
      if (this.phase !== 'handshake') return;
      this.offersExtendedMetadata = target?.extendedMetadata === true;
      const hello = greeting({
        connectionId: this.connectionId,
        scramble: this.scramble,
        serverVersion: target?.serverVersion ?? GREETING_VERSION,
        tls: deps.settings.clientTls !== undefined,
        extendedMetadata: this.offersExtendedMetadata,
      });
      this.client.write(framePacket(0, serializeHandshakeV10(hello)).bytes);
    });
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

  // ───────────────────────────── login ─────────────────────────────

  private onClientData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'handshake' && this.loginSequence === 1 && this.deps.settings.clientTls && !(this.client instanceof tls.TLSSocket)) {
      chunk = this.takeSslRequest(chunk);
      if (chunk.length === 0) return;
    }
    let packets: Packet[];
    try {
      packets = this.clientFramer.push(chunk);
    } catch (err) {
      this.protocolFailure(err);
      return;
    }
    if (this.phase === 'ready' || this.phase === 'connecting') {
      for (const p of packets) {
        // A client that says goodbye while its statement is held will not take the result.
        if (p.payload[0] === COM_QUIT) this.runs.abandonHold();
        this.queue.push(p);
      }
      if (this.queue.length > MAX_QUEUED_PACKETS) this.client.pause();
      this.pump();
      return;
    }
    for (const p of packets) {
      if (this.phase === 'handshake' || this.phase === 'auth-switch') this.onLoginPacket(p);
      else if (this.phase !== 'closed') this.queue.push(p);
    }
  }

  private onLoginPacket(packet: Packet): void {
    try {
      this.loginSequence = packet.nextSequenceId;
      if (this.phase === 'auth-switch') {
        this.phase = 'connecting';
        void this.authenticate(clearPassword(packet.payload));
        return;
      }
      if (isSslRequest(packet.payload)) {
        if (!this.deps.settings.clientTls || this.client instanceof tls.TLSSocket) {
          this.failLogin(ER.handshake, 'sidegate: TLS was not offered');
          return;
        }
        this.upgradeClientTls();
        return;
      }
      const response = parseHandshakeResponse41(packet.payload);
      if (hasFlag(response.capabilities, CLIENT_SSL) && !(this.client instanceof tls.TLSSocket)) {
        throw new MalformedPacket('the client asked for TLS without an SSLRequest');
      }
      const accepted = acceptClient(response);
      if (!accepted.ok) {
        this.session.rejectLogin(accepted.message, accepted.rule);
        this.failLogin({ code: accepted.errorCode, state: accepted.sqlState }, accepted.message);
        return;
      }
      this.capabilities = accepted.capabilities;
      this.upstreamCapabilities = accepted.upstreamCapabilities;
      // A MariaDB client that speaks the extended capabilities and asked for the metadata.
      this.extendedMetadata =
        this.offersExtendedMetadata && !hasFlag(response.capabilities, CLIENT_MYSQL) && hasFlag(response.mariaDbCapabilities, MARIADB_CLIENT_EXTENDED_METADATA);
      this.charset = accepted.charset;
      this.collation = response.characterSet;
      this.user = response.user;
      this.database = this.target.database ?? response.database ?? '';
      this.clientAttributes = response.connectAttributes ?? [];
      this.multiStatements = hasFlag(this.capabilities, CLIENT_MULTI_STATEMENTS);
      // A token travels as a clear-text password: only over TLS or from inside the pod. Clients
      // (libmariadb) send it whatever the transport, so sidegate must refuse to ask for it.
      if (accepted.token !== '' && !(this.client instanceof tls.TLSSocket) && !isOwnAddress(this.client.remoteAddress)) {
        const message = 'sidegate: a token is accepted only over TLS (or from inside the pod); connect with TLS';
        this.session.rejectLogin(message, 'clear-text-token');
        this.failLogin(ER.accessDenied, message);
        return;
      }
      if (accepted.token === '' && response.authPluginName !== undefined && !ONE_STEP_PLUGINS.has(response.authPluginName)) {
        // An empty answer by a plugin whose dialog may not be over (libmariadb's threads sometimes
        // answer with `dummy_fallback_auth`, which waits for the server's plugin): switch to ours,
        // as a server whose plugin differs does, and read the password (empty: no token).
        this.switchTo(TOKEN_PLUGIN);
        return;
      }
      if (accepted.token !== undefined) {
        this.phase = 'connecting';
        void this.authenticate(accepted.token);
        return;
      }
      // The client answered with another plugin's scramble: ask for the password in clear.
      this.switchTo(TOKEN_PLUGIN);
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private switchTo(plugin: string): void {
    this.phase = 'auth-switch';
    this.sendLogin(serializeAuthSwitchRequest({ pluginName: plugin, pluginData: Buffer.concat([this.scramble, Buffer.from([0])]) }));
  }

  private sendLogin(payload: Buffer): void {
    const framed = framePacket(this.loginSequence, payload);
    this.loginSequence = framed.nextSequenceId;
    this.client.write(framed.bytes);
  }

  /**
   * A client asking for TLS sends its SSLRequest and starts the TLS handshake at once (nothing
   * answers an SSLRequest), often in one write: the ClientHello behind it must go to TLS, not to
   * the packet framer. Returns the bytes that are not an SSLRequest (all of them, if it is none).
   */
  private takeSslRequest(chunk: Buffer): Buffer {
    const bytes = this.preTls.length > 0 ? Buffer.concat([this.preTls, chunk]) : chunk;
    this.preTls = Buffer.alloc(0);
    const SSL_REQUEST = 4 + 32;
    if (bytes.length < 4 || bytes.readUIntLE(0, 3) !== 32 || bytes[3] !== 1) return bytes;
    if (bytes.length < SSL_REQUEST) {
      this.preTls = bytes;
      return Buffer.alloc(0);
    }
    const payload = bytes.subarray(4, SSL_REQUEST);
    if (!isSslRequest(payload) || !hasFlag(payload.readUInt32LE(0), CLIENT_SSL)) return bytes;
    this.loginSequence = 2;
    this.upgradeClientTls(bytes.subarray(SSL_REQUEST));
    return Buffer.alloc(0);
  }

  private upgradeClientTls(pending: Buffer = Buffer.alloc(0)): void {
    const raw = this.client as Socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    // TLSSocket reads what is buffered in the socket first: the ClientHello that came along.
    raw.pause();
    if (pending.length > 0) raw.unshift(pending);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.deps.settings.clientTls });
    this.client = secure;
    this.attachClient(secure);
  }

  private async authenticate(presented: string): Promise<void> {
    try {
      const identified = await this.session.identify(presented);
      if (identified instanceof IdentityRejected) {
        this.failLogin(ER.accessDenied, identified.message);
        return;
      }
      if ((this.phase as Phase) === 'closed') {
        this.session.close([], 'closed while authenticating');
        return;
      }
      this.preAuth.release();
      this.deps.connectionIds.register(this.connectionId, {
        owner: `${identified.issuer} ${identified.subject}`,
        cancelHold: () => this.runs.cancelHold(),
      });
      let upstream: UpstreamConnection;
      try {
        const credential = await this.session.credentials();
        upstream = await connectUpstream({
          host: this.target.host,
          port: this.target.port,
          tls: this.target.tls,
          user: credential.username,
          password: credential.password,
          database: this.database || undefined,
          collation: this.collation,
          clientCapabilities: this.upstreamCapabilities,
          mariaDbCapabilities: this.extendedMetadata ? MARIADB_CLIENT_EXTENDED_METADATA : 0,
        });
      } catch (err) {
        const e = err as { message?: string; errorNumber?: number; sqlState?: string; code?: string };
        const message = `sidegate: cannot log in to target "${this.target.name}": ${e.message ?? 'connection failed'}`;
        this.session.upstreamFailed(message, e.errorNumber !== undefined ? String(e.errorNumber) : (e.code ?? 'upstream'));
        // The client's own login succeeded; the target refused ours. 1045 would tell the
        // client its password was wrong, so such refusals are connection errors. The token
        // exchange refusing this pod a credential is an authorization failure (1045, 28000); the
        // exchange unreachable is a connection that could not be made (2003).
        const refusedByExchange = err instanceof CredentialError && err.code === 'refused';
        this.failLogin(refusedByExchange ? ER.accessDenied : e.errorNumber !== undefined && e.errorNumber !== ER.accessDenied.code ? { code: e.errorNumber, state: e.sqlState ?? 'HY000' } : ER.cannotConnect, message);
        return;
      }
      if ((this.phase as Phase) === 'closed') {
        upstream.socket.destroy();
        return;
      }
      // Reply formats must be what the client was promised.
      const missing = (this.upstreamCapabilities & FORMAT_CAPABILITIES & ~upstream.capabilities) >>> 0;
      if (missing !== 0 || (this.extendedMetadata && !hasFlag(upstream.mariaDbCapabilities, MARIADB_CLIENT_EXTENDED_METADATA))) {
        upstream.socket.destroy();
        const message = `sidegate: target "${this.target.name}" does not support capabilities 0x${missing.toString(16)} the client asked for`;
        this.session.upstreamFailed(message, 'capabilities');
        this.failLogin(ER.cannotConnect, message);
        return;
      }
      this.onUpstreamLoggedIn(upstream);
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private onUpstreamLoggedIn(upstream: UpstreamConnection): void {
    this.upstream = upstream.socket;
    this.upstream.setNoDelay?.(true);
    this.serverVersion = upstream.serverVersion;
    this.deps.greetings.set(
      this.target.name,
      Promise.resolve({ serverVersion: upstream.serverVersion, extendedMetadata: !hasFlag(upstream.greeting.capabilities, CLIENT_MYSQL) && hasFlag(upstream.greeting.mariaDbCapabilities, MARIADB_CLIENT_EXTENDED_METADATA) }),
    );
    this.deps.connectionIds.register(this.connectionId, {
      owner: `${this.session.principal.issuer} ${this.session.principal.subject}`,
      upstreamThreadId: upstream.connectionId,
      cancelHold: () => this.runs.cancelHold(),
    });
    this.noteStatus(upstream.statusFlags);
    this.session.setAttributes({ [ATTR_DB_SYSTEM_NAME]: this.systemName(), 'sidegate.upstream.server_version': upstream.serverVersion });
    this.sendLogin(serializeOk({ statusFlags: upstream.statusFlags }, { capabilities: this.capabilities }));
    this.upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    this.upstream.on('error', (err) => this.log.debug('upstream socket error', { error: err.message }));
    this.upstream.on('close', () => this.close('upstream closed'));
    this.upstream.on('drain', () => this.client.resume());
    // Commands may now be as large as the documented limit.
    const framer = new PacketFramer({ maxPacketBytes: this.deps.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES });
    const pending = this.clientFramer.takeBuffered();
    this.clientFramer = framer;
    this.phase = 'ready';
    if (upstream.leftover.length > 0) this.onUpstreamData(upstream.leftover);
    if (pending.length > 0) this.onClientData(pending);
    else this.pump();
  }

  private systemName(): string {
    return /mariadb/i.test(this.serverVersion) ? DB_SYSTEM_NAME_VALUE_MARIADB : DB_SYSTEM_NAME_VALUE_MYSQL;
  }

  /** MySQL's semantic conventions for the session span (the pipeline adds who and where). */
  private sessionAttributes(): Attributes {
    const program = this.clientAttributes.find(([k]) => k === 'program_name')?.[1];
    return {
      [ATTR_DB_SYSTEM_NAME]: this.serverVersion ? this.systemName() : DB_SYSTEM_NAME_VALUE_MYSQL,
      [ATTR_DB_NAMESPACE]: this.database,
      'sidegate.mysql.connection_id': this.connectionId,
      ...(program ? { 'sidegate.client.application_name': program.slice(0, 128) } : {}),
    };
  }

  private statementAttributes(statement: InspectedMysqlStatement): Attributes {
    return {
      [ATTR_DB_SYSTEM_NAME]: this.serverVersion ? this.systemName() : DB_SYSTEM_NAME_VALUE_MYSQL,
      [ATTR_DB_NAMESPACE]: this.database,
      [ATTR_DB_OPERATION_NAME]: statement.facts.operation,
      [ATTR_DB_QUERY_TEXT]: statement.queryText,
      ...(statement.collection ? { [ATTR_DB_COLLECTION_NAME]: statement.collection } : {}),
    };
  }

  // ───────────────────────────── client → upstream ─────────────────────────────

  /** Runs queued commands one at a time: the next only once the last one's reply is complete. */
  private pump(): void {
    while (!this.busy && this.phase === 'ready' && this.queue.length > 0) {
      const packet = this.queue.shift()!;
      try {
        this.onCommand(packet);
      } catch (err) {
        this.protocolFailure(err);
        return;
      }
    }
    if (!this.busy && this.queue.length === 0 && this.client.isPaused()) this.client.resume();
  }

  private onCommand(packet: Packet): void {
    if (packet.sequenceId !== 0) throw new MalformedPacket(`a command must start a new exchange (sequence ${packet.sequenceId})`);
    const payload = packet.payload;
    const command = payload[0];
    switch (command) {
      case COM_QUIT:
        this.upstream?.write(framePacket(0, Buffer.from([COM_QUIT])).bytes);
        this.close('client quit');
        return;
      case COM_QUERY:
        return this.onQuery(packet);
      case COM_STMT_PREPARE:
        return this.onPrepare(packet);
      case COM_STMT_EXECUTE:
        return this.onExecute(packet);
      case COM_STMT_SEND_LONG_DATA:
        return this.onSendLongData(packet);
      case COM_STMT_FETCH:
        return this.onFetch(packet);
      case COM_STMT_CLOSE: {
        const { statementId } = parseComStmtClose(payload);
        // No reply: the server drops the statement if it has it.
        this.statements.close(statementId);
        this.forward(packet);
        return;
      }
      case COM_STMT_RESET: {
        const stmt = this.statements.get(parseComStmtReset(payload).statementId);
        this.forwardExpecting(packet, 'status', [], {
          onSuccess: () => stmt && this.statements.reset(stmt),
        });
        return;
      }
      case COM_PING:
        this.forwardExpecting(packet, 'status', []);
        return;
      case COM_STATISTICS:
        this.forwardExpecting(packet, 'statistics', []);
        return;
      case COM_INIT_DB:
        return this.onInitDb(packet);
      case COM_RESET_CONNECTION:
        this.forwardExpecting(packet, 'status', [], {
          onSuccess: (status) => {
            // The server forgets prepared statements and session variables; the character set
            // returns to the handshake's.
            this.statements.clear();
            this.noteStatus(status);
          },
        });
        return;
      case COM_SET_OPTION: {
        const on = parseComSetOption(payload).option === MYSQL_OPTION_MULTI_STATEMENTS_ON;
        this.forwardExpecting(packet, 'status', [], { onSuccess: () => void (this.multiStatements = on) });
        return;
      }
      case COM_FIELD_LIST:
        return this.onFieldList(packet);
      default:
        return this.refuseCommand(command ?? -1);
    }
  }

  /** Replication, user changes and the legacy commands: refused, audited, the connection stays usable. */
  private refuseCommand(command: number): void {
    const name = commandName(command);
    const facts: CommandFacts = { protocol: 'mysql', target: this.target.name, text: name, operation: name, kinds: ['protocol-command'], tables: [], flags: [] };
    const message = `sidegate: ${name} is not allowed through sidegate`;
    const decision: Decision = { action: 'deny', rule: 'mysql-command', reason: message };
    const run = this.runs.start(this.bare(facts), decision);
    this.runs.end(run, { executed: false, error: message, statusCode: String(ER.unknownCommand.code) });
    this.sendError(1, ER.unknownCommand, message);
  }

  private bare(facts: CommandFacts): InspectedMysqlStatement {
    return { facts, text: facts.text, queryText: facts.text } as InspectedMysqlStatement;
  }

  /** Decodes a statement's text in the connection's character set; null (and an error sent) when it cannot be. */
  private statementText(bytes: Buffer): string | null {
    const max = this.deps.settings.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES;
    if (bytes.length > max) {
      this.sendError(1, ER.packetTooLarge, `sidegate: statement of ${bytes.length} bytes exceeds the inspection limit of ${max} bytes`);
      return null;
    }
    if (this.charset.decoding === 'latin1') return bytes.toString('latin1');
    try {
      return UTF8.decode(bytes);
    } catch {
      this.sendError(1, ER.invalidCharacterString, 'sidegate: the statement is not valid UTF-8 (the connection character set)');
      return null;
    }
  }

  private inspect(text: string, prepared: boolean): InspectedMysqlStatement[] {
    return this.deps.inspect(text, {
      target: this.target.name,
      dialect: this.systemName() === 'mariadb' ? 'mariadb' : 'mysql',
      prepared,
      noBackslashEscapes: this.noBackslashEscapes,
    });
  }

  /**
   * What sidegate itself refuses before policy: a character set it cannot read as the server
   * does, a sql_mode that changes lexing, a client file request.
   */
  private builtinDenial(statements: readonly InspectedMysqlStatement[]): Decision | null {
    for (const s of statements) {
      if (s.charset !== undefined) {
        const cs = s.charset === '?' ? null : clientCharsetNamed(s.charset);
        if (!cs || !cs.allowed) {
          return { action: 'deny', rule: 'mysql-charset', reason: `character set ${s.charset === '?' ? 'given by an expression' : s.charset} is refused: sidegate reads statements in utf8mb4, latin1, ascii or binary only` };
        }
      }
      if (s.sqlMode !== undefined && !sqlModeReadable(s.sqlMode)) {
        return { action: 'deny', rule: 'mysql-sql-mode', reason: `sql_mode ${s.sqlMode === '?' ? 'given by an expression' : s.sqlMode} is refused: it changes how statements are read` };
      }
      if (s.facts.flags.includes('local-infile')) {
        return { action: 'deny', rule: 'mysql-local-infile', reason: 'LOAD DATA LOCAL INFILE is refused: the server would read a file from the runner' };
      }
    }
    return null;
  }

  private decide(statements: readonly InspectedMysqlStatement[]): Decision {
    return this.builtinDenial(statements) ?? this.runs.decide(decisionFacts(statements));
  }

  private onQuery(packet: Packet): void {
    const text = this.statementText(packet.payload.subarray(1));
    if (text === null) return;
    const statements = this.inspect(text, false);
    if (statements.length === 0) {
      // Nothing but comments or whitespace: the server answers with its own error.
      this.forwardExpecting(packet, 'results', []);
      return;
    }
    const decision = this.decide(statements);
    const runs = statements.map((s) => this.runs.start(s, decision));
    const kill = statements.length === 1 ? statements[0]!.kill : undefined;
    if (decision.action === 'deny') return this.deny(runs, decision);
    const go = () => {
      if (kill && this.onKill(kill, packet, runs)) return;
      this.withSources(runs, (sources) => this.forwardExpecting(packet, 'results', runs, { sources }));
    };
    if (decision.action === 'approve') {
      this.holdThen(decision, packet.payload.subarray(1), runs, undefined, go);
      return;
    }
    go();
  }

  /**
   * `KILL [QUERY] n` naming a connection id sidegate gave out: a held statement of the caller's
   * own connection is cancelled here (nothing of it ran); otherwise the id is the upstream's.
   * Another identity's connection id is not ours to resolve: the statement goes as written.
   */
  private onKill(kill: KillTarget, packet: Packet, runs: StatementRun[]): boolean {
    const id = Number(kill.id);
    if (!Number.isSafeInteger(id)) return false;
    const query = kill.scope === 'query';
    const entry = this.deps.connectionIds.lookup(id, `${this.session.principal.issuer} ${this.session.principal.subject}`);
    if (!entry) {
      // Not one of the caller's own connections: an upstream thread id could be another
      // identity's session on the same login. Refused (fail closed).
      const decision: Decision = { action: 'deny', rule: 'mysql-kill', reason: `connection ${kill.id} is not one of this identity's connections through sidegate` };
      this.deny(runs, decision);
      return true;
    }
    if (query && entry.cancelHold()) {
      for (const run of runs) this.runs.end(run, { executed: true });
      this.sendToClient(1, serializeOk({ statusFlags: 0 }, { capabilities: this.capabilities }));
      this.flushClient();
      return true;
    }
    if (entry.upstreamThreadId === undefined) return false;
    const rewritten = Buffer.from(`KILL ${query ? 'QUERY ' : ''}${entry.upstreamThreadId}`, 'latin1');
    this.forwardExpecting({ ...packet, payload: Buffer.concat([Buffer.from([COM_QUERY]), rewritten]), raw: [] }, 'results', runs);
    return true;
  }

  private onPrepare(packet: Packet): void {
    const text = this.statementText(packet.payload.subarray(1));
    if (text === null) return;
    const statements = this.inspect(text, true);
    if (statements.length !== 1) {
      // The server prepares one statement; let it say so (nothing runs at prepare).
      const decision = statements.length === 0 ? ({ action: 'allow', rule: 'empty', reason: 'empty' } as Decision) : this.decide(statements);
      if (decision.action === 'deny') return this.deny(statements.map((s) => this.runs.start(s, decision)), decision);
      this.forwardExpecting(packet, 'prepare', []);
      return;
    }
    const statement = statements[0]!;
    const decision = this.decide(statements);
    if (decision.action === 'deny') return this.deny([this.runs.start(statement, decision)], decision);
    // Allowed or held: nothing runs at prepare; every execute is decided (and held) on its own.
    this.forwardExpecting(packet, 'prepare', [], { preparing: { statement, params: 0, columns: [], decision } });
  }

  private onExecute(packet: Packet): void {
    const id = packet.payload.length >= 5 ? packet.payload.readUInt32LE(1) : -1;
    const stmt = this.statements.resolve(id);
    if (!stmt) {
      this.sendError(1, ER.unknownStmtHandler, `Unknown prepared statement handler (${id === 0xffffffff ? -1 : id}) given to mysqld_stmt_execute`);
      return;
    }
    const execute = parseComStmtExecute(packet.payload, { paramCount: stmt.params, previousTypes: stmt.paramTypes, longDataParameters: stmt.longData.size > 0 ? new Set(stmt.longData.keys()) : undefined });
    stmt.paramTypes = execute.types;
    if (stmt.longDataOverflow) {
      this.sendError(1, ER.packetTooLarge, `sidegate: long data for this statement exceeds ${MAX_LONG_DATA_BYTES} bytes`);
      this.statements.reset(stmt);
      return;
    }
    // Decided at prepare, as the server binds its tables then; approve still holds every execute.
    const decision = this.runs.recheck(stmt.decision);
    const runs = [this.runs.start(stmt.inspection, decision)];
    if (decision.action === 'deny') return this.deny(runs, decision);
    const go = () => {
      // Long data is consumed by an execute, whatever its outcome.
      this.statements.reset(stmt, { keepCursor: false });
      this.withSources(runs, (sources) => this.forwardExpecting(packet, 'results', runs, { binary: true, executing: stmt, sources }));
    };
    if (decision.action === 'approve') {
      this.holdThen(decision, Buffer.from(stmt.inspection.text, 'utf8'), runs, executedParameters(execute, stmt), go);
      return;
    }
    go();
  }

  private onSendLongData(packet: Packet): void {
    const { statementId, paramId, data } = parseComStmtSendLongData(packet.payload);
    const stmt = this.statements.get(statementId);
    // No reply either way; an unknown statement's data is dropped (its execute is refused).
    if (!stmt) return;
    this.statements.addLongData(stmt, paramId, data, MAX_LONG_DATA_BYTES);
    this.forward(packet);
  }

  private onFetch(packet: Packet): void {
    const { statementId } = parseComStmtFetch(packet.payload);
    const stmt = this.statements.get(statementId);
    if (!stmt || !stmt.cursor) {
      this.sendError(1, ER.unknownStmtHandler, `Unknown prepared statement handler (${statementId}) given to mysqld_stmt_fetch`);
      return;
    }
    // The rows of a cursor opened by an execute that was decided: a run of its own, for the evidence.
    const decision: Decision = { action: 'allow', rule: stmt.cursor.rule, reason: 'fetch from a cursor its execute opened' };
    const run = this.runs.start(stmt.inspection, decision);
    this.forwardExpecting(packet, 'fetch', [run], { binary: true, executing: stmt, columns: [...stmt.cursor.columns], sources: stmt.cursor.sources });
  }

  private onInitDb(packet: Packet): void {
    const name = packet.payload.subarray(1).toString('utf8');
    const facts: CommandFacts = { protocol: 'mysql', target: this.target.name, text: `USE \`${name.replace(/`/g, '``')}\``, operation: 'USE', kinds: ['use', 'session'], tables: [], flags: [] };
    const statement = this.bare(facts);
    const decision = this.decide([statement]);
    const runs = [this.runs.start(statement, decision)];
    if (decision.action !== 'allow') return this.deny(runs, decision.action === 'deny' ? decision : { ...decision, action: 'deny', reason: `${decision.reason} (a database change is not held)` });
    this.forwardExpecting(packet, 'status', runs, { onSuccess: () => void (this.database = name) });
  }

  private onFieldList(packet: Packet): void {
    const end = packet.payload.indexOf(0, 1);
    const table = packet.payload.subarray(1, end === -1 ? undefined : end).toString('utf8');
    const facts: CommandFacts = { protocol: 'mysql', target: this.target.name, text: `SHOW COLUMNS FROM \`${table.replace(/`/g, '``')}\``, operation: 'SHOW COLUMNS', kinds: ['show', 'read'], tables: [{ name: table }], flags: [] };
    const statement = this.bare(facts);
    const decision = this.decide([statement]);
    const runs = [this.runs.start(statement, decision)];
    if (decision.action !== 'allow') return this.deny(runs, decision.action === 'deny' ? decision : { ...decision, action: 'deny' });
    this.forwardExpecting(packet, 'field-list', runs);
  }

  private deny(runs: StatementRun[], decision: Decision, message = denialText(decision)): void {
    const er = decision.rule === 'audit-unavailable' ? ER.specificAccess : ER.tableAccessDenied;
    for (const run of runs) this.runs.end(run, { executed: false, error: message, statusCode: String(er.code) });
    this.sendError(1, er, message);
  }

  /** Holds a command for approval; `go` runs once a human approved exactly these bytes. */
  private holdThen(decision: Decision, sql: Buffer, runs: StatementRun[], parameters: Parameters<CommandRuns<InspectedMysqlStatement>['hold']>[1]['parameters'], go: () => void): void {
    this.busy = true;
    const input = { sessionId: this.session.id, target: this.target.name, sql, ...(parameters ? { parameters } : {}) };
    this.runs
      .hold(decision, input, runs, this.holdPort)
      .then((decided) => {
        this.busy = false;
        if (decided === null || this.phase === 'closed') return;
        if (decided.canceled) {
          for (const run of runs) this.runs.end(run, { executed: false, error: decided.canceled, statusCode: String(ER.queryInterrupted.code) });
          this.sendError(1, ER.queryInterrupted, decided.canceled);
        } else if (decided.outcome.verdict === 'deny') {
          this.deny(runs, decision, decided.outcome.message);
        } else {
          go();
        }
        this.pump();
      })
      .catch((err: unknown) => this.protocolFailure(err));
  }

  /**
   * While column rules apply, what the statements read is looked up before they are forwarded
   * (the reply's columns are planned against it); `go` runs once it is known. A lookup that fails
   * leaves the sources unknown: every column without a base table of its own is masked.
   */
  private withSources(runs: StatementRun[], go: (sources: MaskingSources | undefined) => void): void {
    if (!this.session.maskingRules.some((r) => r.columns.length > 0)) return go(undefined);
    const request = this.sourcesRequest(runs);
    const cached = this.deps.catalog.cached(this.target.name, request.refs, request.functions);
    if (cached) {
      // The same answer as last time for these statements: the same sources (and result plans).
      const memo = this.sourcesMemo.get(request.key);
      const same = memo && memo.relations.length === cached.relations.length && memo.relations.every((r, i) => r === cached.relations[i]) && memo.stored === cached.storedFunctions.join();
      if (memo && same) return go(memo.sources);
      const sources = request.resolved(cached);
      if (this.sourcesMemo.size >= 256) this.sourcesMemo.clear();
      this.sourcesMemo.set(request.key, { relations: cached.relations, stored: cached.storedFunctions.join(), sources });
      return go(sources);
    }
    this.busy = true;
    this.deps.catalog
      .resolve(this.target, this.session.principal, request.refs, request.functions)
      .then(
        (answer) => request.resolved(answer),
        (err: Error) => {
          this.log.warn('catalog lookup failed; masking conservatively', { error: err.message });
          return request.failed();
        },
      )
      .then((sources) => {
        this.busy = false;
        if (this.phase === 'closed') return;
        go(sources);
        this.pump();
      })
      .catch((err: unknown) => this.protocolFailure(err));
  }

  private sourcesRequest(runs: readonly StatementRun[]): SourcesRequest {
    if (runs.length !== 1) return sourcesOf(runs.map((r) => r.statement), this.database);
    const statement = runs[0]!.statement;
    const known = this.sourcesRequests.get(statement);
    if (known && known.database === this.database) return known.request;
    const request = sourcesOf([statement], this.database);
    this.sourcesRequests.set(statement, { database: this.database, request });
    return request;
  }

  /** A command with no reply (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
  private forward(packet: Packet): void {
    this.writeUpstream(packet);
  }

  private forwardExpecting(
    packet: Packet,
    shape: ReplyShape,
    runs: StatementRun[],
    extra: { binary?: boolean; onSuccess?: (status: number) => void; preparing?: Reply['preparing']; executing?: Reply['executing']; columns?: ColumnDefinition[]; sources?: MaskingSources | undefined } = {},
  ): void {
    this.reply = {
      reader: new ReplyReader(shape, { capabilities: this.capabilities }),
      shape,
      binary: extra.binary === true,
      runs,
      index: 0,
      columns: extra.columns ?? [],
      masker: null,
      maskedBefore: 0,
      definitions: [],
      sequence: 1,
      ...(extra.onSuccess ? { onSuccess: extra.onSuccess } : {}),
      ...(extra.preparing ? { preparing: extra.preparing } : {}),
      ...(extra.executing ? { executing: extra.executing } : {}),
      ...(extra.sources ? { sources: extra.sources } : {}),
    };
    if (shape === 'fetch' && this.reply.columns.length > 0) {
      this.reply.definitions = this.reply.columns.map((c) => serializeColumnDefinition41(c));
      this.startRows(this.reply);
    }
    this.busy = true;
    this.writeUpstream(packet);
    this.runs.openPending();
  }

  private writeUpstream(packet: Packet): void {
    const upstream = this.upstream;
    if (!upstream) return;
    const ok = packet.raw.length > 0 ? packet.raw.every((b) => upstream.write(b)) : upstream.write(framePacket(0, packet.payload).bytes);
    if (!ok) this.client.pause();
  }

  // ───────────────────────────── upstream → client ─────────────────────────────

  private onUpstreamData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      for (const packet of this.upstreamFramer.push(chunk)) this.onReplyPacket(packet);
      this.flushClient();
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private onReplyPacket(packet: Packet): void {
    const reply = this.reply;
    if (!reply) throw new MalformedPacket('the server sent a packet no command asked for');
    const event = reply.reader.next(packet.payload);
    let out: Buffer = packet.payload;
    switch (event.kind) {
      case 'ok': {
        // COM_SET_OPTION's answer is an EOF (the reader read its status), the rest OK packets.
        const ok: Pick<OkPacket, 'statusFlags' | 'affectedRows'> = isEof(packet.payload)
          ? { statusFlags: reply.reader.lastStatus, affectedRows: 0 }
          : parseOk(packet.payload, { capabilities: this.capabilities });
        this.noteStatus(ok.statusFlags);
        if (!isEof(packet.payload)) out = this.maskedOk(packet.payload, ok as OkPacket);
        const run = reply.runs[reply.index];
        if (run) {
          // A USE sent as a query changes the database as COM_INIT_DB does (server truth: its OK).
          if (run.statement.facts.operation === 'USE') this.database = useTarget(run.statement.text) ?? this.database;
          this.runs.end(run, { executed: true, affectedRows: ok.affectedRows });
          // Relations may have changed shape: catalog answers for this target are dropped.
          if (run.statement.facts.kinds.includes('ddl')) this.deps.catalog.invalidate(this.target.name);
        }
        reply.index++;
        if (reply.reader.done) reply.onSuccess?.(ok.statusFlags);
        break;
      }
      case 'error': {
        const err = parseErr(packet.payload);
        out = this.maskedErr(err, reply.sources) ?? packet.payload;
        const message = err.message.toString('utf8');
        const run = reply.runs[reply.index];
        if (run) this.runs.end(run, { executed: true, error: this.session.textMasker() ? '[error text withheld]' : message, statusCode: String(err.errorCode) });
        // Nothing after an error runs.
        for (const rest of reply.runs.slice(reply.index + 1)) this.runs.end(rest, { executed: false, error: 'not run: an earlier statement failed' });
        break;
      }
      case 'local-infile':
        // Never relayed: the upstream login does not offer CLIENT_LOCAL_FILES, so this is a
        // server that ignores it. The file request must not reach the runner.
        throw new MalformedPacket('the server asked for a local file');
      case 'column-count':
        reply.columns = [];
        reply.definitions = [];
        reply.masker = null;
        break;
      case 'column': {
        const { def, masked } = this.columnOf(packet.payload);
        if (!reply.preparing) reply.definitions.push(packet.payload);
        if (reply.preparing) {
          if (reply.preparing.id !== undefined) reply.preparing.columns.push(def);
        } else reply.columns.push(def);
        if (masked) out = masked;
        // Without an EOF after the definitions, the plan is made on the last one.
        if (event.last && !reply.preparing && reply.shape !== 'field-list' && hasFlag(this.capabilities, CLIENT_DEPRECATE_EOF)) {
          this.startRows(reply);
        }
        break;
      }
      case 'columns-end':
        if (!reply.preparing) this.startRows(reply);
        if (reply.reader.cursorOpened) this.noteCursor(reply);
        if (reply.reader.done && reply.preparing) this.notePrepared(reply);
        break;
      case 'row': {
        const run = reply.runs[reply.index];
        if (run) run.rows++;
        if (reply.masker) out = reply.masker.mask(packet.payload);
        break;
      }
      case 'rows-end': {
        const status = parseRowsEnd(packet.payload, { capabilities: this.capabilities }).statusFlags;
        this.noteStatus(status);
        const run = reply.runs[reply.index];
        if (reply.reader.cursorOpened) this.noteCursor(reply);
        if (reply.masker && run) run.masked += reply.masker.masked - reply.maskedBefore;
        reply.masker = null;
        // A CALL's result sets end with an OK of its own; any other statement's set ends it.
        if (run && (reply.shape !== 'results' || run.statement.facts.operation !== 'CALL')) {
          this.runs.end(run, { executed: true });
          reply.index++;
        }
        if (reply.reader.done) reply.onSuccess?.(status);
        break;
      }
      case 'prepare-ok': {
        const p = reply.preparing;
        if (p) {
          p.id = packet.payload.readUInt32LE(1);
          p.params = event.params;
        }
        if (reply.reader.done && p) this.notePrepared(reply);
        break;
      }
      case 'param':
      case 'params-end':
        if (reply.reader.done && reply.preparing) this.notePrepared(reply);
        break;
      case 'statistics':
        out = this.maskedText(packet.payload) ?? packet.payload;
        break;
    }
    if (reply.reader.done && reply.preparing && reply.preparing.id !== undefined && !this.statements.get(reply.preparing.id)) this.notePrepared(reply);
    this.sendReply(reply, packet, out);
    if (reply.reader.done) {
      for (const run of reply.runs.slice(reply.index)) if (!run.ended) this.runs.end(run, { executed: true });
      this.reply = undefined;
      this.busy = false;
    }
  }

  private columnOf(payload: Buffer): { def: ColumnDefinition; masked: Buffer | null } {
    const key = payload.toString('latin1');
    const known = this.columnMemo.get(key);
    if (known) return known;
    const def = parseColumnDefinition41(payload, { extendedMetadata: this.extendedMetadata });
    const out = this.maskedColumn(payload, def);
    // Only a fresh buffer is kept: the packet itself is a view of a whole chunk read.
    const entry = { def, masked: out === payload ? null : out };
    if (this.columnMemo.size >= 1024) this.columnMemo.clear();
    this.columnMemo.set(key, entry);
    return entry;
  }

  private startRows(reply: Reply): void {
    reply.masker = this.planRows(reply.columns, reply.binary, reply.sources, reply.definitions);
    reply.maskedBefore = reply.masker?.masked ?? 0;
  }

  private noteCursor(reply: Reply): void {
    const stmt = reply.executing;
    const run = reply.runs[0];
    if (stmt) stmt.cursor = { columns: [...reply.columns], rule: run?.decision.rule ?? 'default', ...(reply.sources ? { sources: reply.sources } : {}) };
  }

  private notePrepared(reply: Reply): void {
    const p = reply.preparing;
    if (!p || p.id === undefined || this.statements.get(p.id)) return;
    this.statements.add({ id: p.id, inspection: p.statement, decision: p.decision, params: p.params, columns: p.columns });
  }

  /** Watches the server's status for modes that change how statements are read. */
  private noteStatus(status: number): void {
    this.noBackslashEscapes = hasFlag(status, SERVER_STATUS_NO_BACKSLASH_ESCAPES);
    if (hasFlag(status, SERVER_STATUS_ANSI_QUOTES)) {
      // `"` would quote identifiers: the inspector's reading of tables could differ. Fail closed.
      this.session.setAttributes({ [ATTR_ERROR_TYPE]: 'sql-mode-changed' });
      throw new SessionRefused('sidegate: the target session has sql_mode ANSI_QUOTES, which sidegate does not read statements in; the connection is closed');
    }
  }

  private planRows(columns: readonly ColumnDefinition[], binary: boolean, sources: MaskingSources | undefined, definitions: readonly Buffer[]): ResultRows | null {
    if (!this.session.masking) return null;
    // Plans are kept per result shape (its column definitions, exactly) and sources: a prepared
    // statement's thousandth execute does not compile the masking rules again.
    const key = `${binary ? 'B' : 'T'}${this.database}\0${Buffer.concat(definitions as Buffer[]).toString('latin1')}`;
    const bySources = this.rowPlans.get(sources ?? NO_SOURCES);
    const hit = bySources?.get(key);
    if (hit !== undefined) return hit;
    const plan = ResultRows.plan({ rules: this.session.maskingRules, database: this.database, plan: (c) => this.session.planResult(c) }, columns, binary, sources);
    if (this.rowPlanCount >= 512) {
      this.rowPlans = new WeakMap();
      this.rowPlanCount = 0;
    }
    let map = this.rowPlans.get(sources ?? NO_SOURCES);
    if (!map) this.rowPlans.set(sources ?? NO_SOURCES, (map = new Map()));
    map.set(key, plan);
    this.rowPlanCount++;
    return plan;
  }

  /** A column's label can be a value (`SELECT 'ada@example.com'`): it passes the text masker. */
  private maskedColumn(payload: Buffer, def: ColumnDefinition): Buffer {
    const masker = this.session.textMasker();
    if (!masker) return payload;
    const next = { ...def };
    let changed = false;
    for (const key of ['name', 'orgName'] as const) {
      const r = masker.maskText(0, next[key]);
      if (r.masked > 0) {
        next[key] = r.value;
        changed = true;
      }
    }
    if (next.defaultValue) {
      const r = masker.maskUtf8(0, next.defaultValue);
      if (r.masked > 0) {
        next.defaultValue = r.value;
        changed = true;
      }
    }
    return changed ? serializeColumnDefinition41(next) : payload;
  }

  /**
   * An error's text passes the detectors; while a column rule covers what the statement read,
   * the values it quotes ('…': a duplicate entry, a bad value) are withheld too, and a message
   * the statement itself wrote (SIGNAL, a routine's or dynamic SQL's error) is withheld whole.
   */
  private maskedErr(err: ErrPacket, sources: MaskingSources | undefined): Buffer | null {
    const masker = this.session.textMasker();
    if (!masker) return null;
    let message = err.message;
    let changed = false;
    if (sources && sources.derived(this.session.maskingRules) !== null) {
      const text = message.toString('utf8');
      const withheld = sources.unknown || err.errorCode === ER_SIGNAL_EXCEPTION ? `[error text withheld while masking applies: error ${err.errorCode}]` : text.replace(/'(?:[^'\\]|\\.|'')*'/g, "'[REDACTED]'");
      if (withheld !== text) {
        message = Buffer.from(withheld, 'utf8');
        changed = true;
      }
    }
    const r = masker.maskUtf8(0, message);
    return r.masked > 0 || changed ? serializeErr({ ...err, message: r.value }) : null;
  }

  private maskedOk(payload: Buffer, ok: OkPacket): Buffer {
    const masker = this.session.textMasker();
    if (!masker || ok.info.length === 0) return payload;
    const r = masker.maskUtf8(0, ok.info);
    return r.masked > 0 ? serializeOk({ ...ok, info: r.value }, { capabilities: this.capabilities }) : payload;
  }

  private maskedText(payload: Buffer): Buffer | null {
    const masker = this.session.textMasker();
    if (!masker) return null;
    const r = masker.maskText(0, payload.toString('utf8'));
    return r.masked > 0 ? Buffer.from(r.value, 'utf8') : null;
  }

  private sendReply(reply: Reply, packet: Packet, payload: Buffer): void {
    if (payload === packet.payload && packet.sequenceId === reply.sequence && packet.raw.length > 0) {
      for (const b of packet.raw) this.toClient.add(b);
      reply.sequence = packet.nextSequenceId;
      return;
    }
    const framed = framePacket(reply.sequence, payload);
    reply.sequence = framed.nextSequenceId;
    this.toClient.add(framed.bytes);
  }

  private sendToClient(sequence: number, payload: Buffer): void {
    this.toClient.add(framePacket(sequence, payload).bytes);
  }

  private sendError(sequence: number, er: { code: number; state: string }, message: string): void {
    this.sendToClient(sequence, serializeErr({ errorCode: er.code, sqlState: er.state, message }));
    this.flushClient();
  }

  private flushClient(): void {
    if (!this.toClient.flushTo(this.client)) this.upstream?.pause();
    this.runs.endPending();
    if (!this.busy) queueMicrotask(() => this.pump());
  }

  // ───────────────────────────── ending ─────────────────────────────

  /** A refusal before the session is logged in: an ERR in the login exchange, then close. */
  private failLogin(er: { code: number; state: string }, message: string): void {
    if (this.phase === 'closed') return;
    try {
      this.sendLogin(serializeErr({ errorCode: er.code, sqlState: er.state, message }));
    } catch {
      // The socket may be gone already.
    }
    this.close(message);
  }

  private protocolFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof SessionRefused) {
      this.log.warn('security: session closed', { event: SecurityEvent.sessionClosed, reason: message });
      this.sendToClient(this.reply?.sequence ?? 1, serializeErr({ errorCode: ER.connectionError.code, sqlState: ER.connectionError.state, message }));
      this.toClient.flushTo(this.client);
      this.close(message);
      return;
    }
    this.log.info('protocol error', { error: message });
    if (this.phase === 'handshake' || this.phase === 'auth-switch') {
      this.failLogin(ER.handshake, `sidegate: malformed handshake: ${message}`);
      return;
    }
    const seq = this.reply?.sequence ?? 1;
    try {
      this.sendToClient(seq, serializeErr({ errorCode: ER.connectionError.code, sqlState: ER.connectionError.state, message: `sidegate: protocol error: ${message}` }));
      this.toClient.flushTo(this.client);
    } catch {
      // Nothing more to tell.
    }
    this.close(`protocol error: ${message}`);
  }

  private close(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.preAuth.release();
    this.deps.connectionIds.release(this.connectionId);
    const inFlight = this.reply ? this.reply.runs.filter((r) => !r.ended) : [];
    this.reply = undefined;
    this.session.close(inFlight, reason);
    this.client.end();
    setTimeout(() => this.client.destroy(), 1000).unref();
    this.upstream?.destroy();
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The greeting's 20-byte nonce as servers make it: printable ASCII, no NUL and no `$`. Clients
 * read the greeting's second nonce part up to a NUL, so a random NUL inside it (one greeting in
 * a dozen) made libmariadb misread the rest of the greeting.
 */
export function greetingScramble(): Buffer {
  const out = randomBytes(20);
  for (let i = 0; i < out.length; i++) {
    let b = 0x21 + (out[i]! % 94);
    if (b === 0x24 /* $ */) b++;
    out[i] = b;
  }
  return out;
}

/** The database a `USE db` statement names (a name or a quoted name), from its tokens. */
function useTarget(text: string): string | undefined {
  const lexed = lexMysql(text, { dialect: 'mariadb' });
  if (!lexed.ok || lexed.statements.length !== 1) return undefined;
  const tokens = lexed.statements[0]!.tokens;
  const name = tokens[1];
  return tokens[0]?.value.toUpperCase() === 'USE' && name && (name.kind === 'word' || name.kind === 'quoted-name') ? name.value : undefined;
}

/**
 * Plugins whose first answer is their last: an empty one means an empty password, and the
 * server's OK ends the login (mysql2 and the mariadb CLI answer with one of these).
 */
const ONE_STEP_PLUGINS = new Set([TOKEN_PLUGIN, 'mysql_native_password', 'caching_sha2_password', 'sha256_password', 'client_ed25519']);

/** ER_SIGNAL_EXCEPTION: SIGNAL's own message text. */
const ER_SIGNAL_EXCEPTION = 1644;

/** The key of result plans made without sources (no column rules). */
const NO_SOURCES = {};

/** The session must end: a mode or state sidegate cannot follow. */
class SessionRefused extends Error {}

function denialText(decision: Decision): string {
  return `sidegate: denied by rule "${decision.rule}": ${decision.reason}`;
}

export type { PreparedStatement };
