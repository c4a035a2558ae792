// Logs in to the target MySQL/MariaDB on the client's behalf: TCP, the server's greeting,
// SSLRequest and TLS per the target's mode, HandshakeResponse41, then the authentication
// exchange (auth switch, caching_sha2's AuthMoreData) until the server's OK.
// The password is used here and in auth-scrambles.ts only; no error produced here contains it.
import net from 'node:net';
import tls from 'node:tls';
import { upstreamTlsOptions } from '../../pipeline/upstream-tls.js';
import { handOver } from '../../pipeline/socket-handover.js';
import type { UpstreamTls } from '../../../core/vocabulary.js';
import {
  CLIENT_COMPRESS,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
  COLLATION_UTF8MB4_GENERAL_CI,
  hasFlag,
} from './capabilities.js';
import { PacketFramer, framePacket, type Packet } from './packet-framer.js';
import {
  AUTH_MORE_DATA,
  AUTH_SWITCH_REQUEST,
  parseAuthMoreData,
  parseAuthSwitchRequest,
  parseHandshakeV10,
  serializeHandshakeResponse41,
  serializeSslRequest,
  type HandshakeV10,
} from './handshake-packets.js';
import { ERR_HEADER, OK_HEADER, parseErr, parseOk } from './response-packets.js';
import {
  CACHING_SHA2_FAST_AUTH_OK,
  CACHING_SHA2_PASSWORD,
  CACHING_SHA2_PERFORM_FULL_AUTH,
  CACHING_SHA2_REQUEST_PUBLIC_KEY,
  CLIENT_ED25519,
  MYSQL_CLEAR_PASSWORD,
  MYSQL_NATIVE_PASSWORD,
  cachingSha2Scramble,
  clearPasswordPayload,
  ed25519Signature,
  nativePasswordScramble,
  rsaEncryptedPassword,
} from './auth-scrambles.js';
import { MalformedPacket } from './wire-reader.js';

export interface UpstreamConnectOptions {
  host: string;
  port: number;
  tls: UpstreamTls;
  user: string;
  password: string;
  /** The default database, if any (CLIENT_CONNECT_WITH_DB). */
  database?: string | undefined;
  /** The handshake collation id (one byte). Default utf8mb4_general_ci (45). */
  collation?: number;
  /**
   * Capabilities to ask for beyond what the login itself needs (CLIENT_MULTI_STATEMENTS,
   * CLIENT_MULTI_RESULTS, CLIENT_PS_MULTI_RESULTS, CLIENT_DEPRECATE_EOF, CLIENT_TRANSACTIONS …).
   * Compression, connect attributes, SSL and database flags are decided here, not taken from it.
   */
  clientCapabilities?: number;
  /** MariaDB extended capabilities to ask for (sent only to a MariaDB server). Default none. */
  mariaDbCapabilities?: number;
  /** The largest packet we accept, as told to the server. Default 16 MiB. */
  maxPacketSize?: number;
  /** The server's RSA public key (PEM), for caching_sha2 full authentication without TLS. */
  serverPublicKey?: string | Buffer;
  /** Without TLS and without `serverPublicKey`, whether to ask the server for its key (open to a man in the middle). Default false. */
  allowPublicKeyRetrieval?: boolean;
  /** Bound on the whole login: TCP, TLS and authentication. Default 10 s. */
  timeoutMs?: number;
}

export interface UpstreamConnection {
  /**
   * Logged-in socket. It stays paused until a 'data' listener is attached (nothing is lost in
   * between) and keeps a listener that ignores 'error' so a late reset cannot crash the
   * process: watch 'close'. The command phase starts at sequence id 0 for every command.
   */
  socket: net.Socket | tls.TLSSocket;
  greeting: HandshakeV10;
  serverVersion: string;
  connectionId: number;
  isMariaDb: boolean;
  /** Capabilities in force: what we sent ∩ what the server offered. */
  capabilities: number;
  /** MariaDB extended capabilities in force (0 for MySQL). */
  mariaDbCapabilities: number;
  /** Status flags of the final OK (autocommit, NO_BACKSLASH_ESCAPES …). */
  statusFlags: number;
  /** The collation id sent in the handshake. */
  collation: number;
  encrypted: boolean;
  /** The plugin the login completed with. */
  authPlugin: string;
  /** Bytes received after the login's OK (normally none): process them before new data. */
  leftover: Buffer;
}

export type UpstreamErrorCode =
  | 'connect-failed'
  | 'timeout'
  | 'tls-unavailable'
  | 'tls-failed'
  | 'auth-unsupported'
  | 'auth-failed'
  | 'server-error'
  | 'protocol';

/** The target could not be reached or refused the login. Messages are safe to show a client. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    /** The server's error number when it sent an ERR packet (1045: access denied). */
    readonly errorNumber?: number,
    readonly sqlState?: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Login packets are small (the largest is an RSA public key); a bigger one means something is wrong. */
const MAX_LOGIN_PACKET = 64 * 1024;
const DEFAULT_MAX_PACKET_SIZE = 16 * 1024 * 1024;
const ER_ACCESS_DENIED_ERROR = 1045;

/** Flags the login negotiates itself; never taken from `clientCapabilities`. */
const LOGIN_OWNED = CLIENT_SSL | CLIENT_CONNECT_WITH_DB | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM | CLIENT_CONNECT_ATTRS | CLIENT_MYSQL;
const LOGIN_NEEDS = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;

export async function connectUpstream(opts: UpstreamConnectOptions): Promise<UpstreamConnection> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  let socket: net.Socket | tls.TLSSocket | undefined;
  try {
    socket = await openTcp(opts.host, opts.port, deadline.signal);
    return await login(socket, opts, deadline.signal, (s) => (socket = s));
  } catch (err) {
    socket?.destroy();
    throw asUpstreamError(err, opts.password);
  } finally {
    clearTimeout(timer);
  }
}

function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

function openTcp(host: string, port: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const off = onAbort(signal, () => {
      s.destroy();
      reject(new UpstreamError('timeout', `connecting to ${host}:${port} timed out`));
    });
    s.once('connect', () => {
      off();
      s.removeAllListeners('error');
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      off();
      reject(new UpstreamError('connect-failed', `cannot connect to ${host}:${port}: ${err.code ?? 'connection failed'}`));
    });
  });
}

/** Reads logical packets from whichever socket carries the login (plain, then TLS). */
class LoginPackets {
  private readonly framer = new PacketFramer({ maxPacketBytes: MAX_LOGIN_PACKET });
  private queue: Packet[] = [];
  private waiter: { resolve: (p: Packet) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private socket: net.Socket | undefined;

  private readonly onData = (chunk: Buffer) => {
    try {
      this.queue.push(...this.framer.push(chunk));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.deliver();
  };
  private readonly onError = () => this.fail(new UpstreamError('connect-failed', 'connection to the target failed during login'));
  private readonly onClose = () => this.fail(new UpstreamError('connect-failed', 'the target closed the connection during login'));

  attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.resume();
  }

  /** Stops reading; the bytes past the last packet are returned (nothing may be pending then). */
  detach(): Buffer {
    const s = this.socket;
    if (s) {
      s.off('data', this.onData);
      s.off('error', this.onError);
      s.off('close', this.onClose);
      s.pause();
    }
    this.socket = undefined;
    if (this.queue.length > 0) throw new UpstreamError('protocol', 'the target sent unexpected packets during login');
    return this.framer.takeBuffered();
  }

  fail(err: unknown): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  next(): Promise<Packet> {
    if (this.failure) return Promise.reject(this.failure);
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private deliver(): void {
    if (!this.waiter || this.queue.length === 0) return;
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(this.queue.shift()!);
  }
}

async function login(
  raw: net.Socket,
  opts: UpstreamConnectOptions,
  signal: AbortSignal,
  replaceSocket: (s: tls.TLSSocket) => void,
): Promise<UpstreamConnection> {
  const packets = new LoginPackets();
  const offAbort = onAbort(signal, () => packets.fail(new UpstreamError('timeout', 'login to the target timed out')));
  try {
    packets.attach(raw);
    let socket: net.Socket | tls.TLSSocket = raw;

    const first = await packets.next();
    if (first.payload[0] === ERR_HEADER) throw serverError(first.payload, 'the target refused the connection');
    const greeting = parseHandshakeV10(first.payload);
    const isMariaDb = /mariadb/i.test(greeting.serverVersion);
    const serverCaps = greeting.capabilities;
    for (const [flag, name] of [[CLIENT_PROTOCOL_41, 'protocol 4.1'], [CLIENT_SECURE_CONNECTION, 'secure connection'], [CLIENT_PLUGIN_AUTH, 'plugin authentication']] as const) {
      if (!hasFlag(serverCaps, flag)) throw new UpstreamError('auth-unsupported', `the target does not support ${name}`);
    }

    const collation = opts.collation ?? COLLATION_UTF8MB4_GENERAL_CI;
    if (!Number.isInteger(collation) || collation < 1 || collation > 0xff) throw new UpstreamError('protocol', `handshake collation must be 1..255, got ${collation}`);
    let caps = ((opts.clientCapabilities ?? 0) & ~LOGIN_OWNED) | LOGIN_NEEDS;
    if (hasFlag(serverCaps, CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)) caps |= CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    if (opts.database) caps |= CLIENT_CONNECT_WITH_DB;
    // A MariaDB server reads our extended capabilities only when CLIENT_MYSQL is unset.
    const speaksMariaDbExtensions = !hasFlag(serverCaps, CLIENT_MYSQL);
    if (!speaksMariaDbExtensions) caps |= CLIENT_MYSQL;
    const mariaDbCapabilities = speaksMariaDbExtensions ? (opts.mariaDbCapabilities ?? 0) & greeting.mariaDbCapabilities : 0;
    const maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;

    let sequenceId = first.nextSequenceId;
    let encrypted = false;
    if (opts.tls.mode !== 'disable') {
      if (!hasFlag(serverCaps, CLIENT_SSL)) {
        if (opts.tls.mode !== 'prefer') throw new UpstreamError('tls-unavailable', `the target does not accept TLS (tls mode ${opts.tls.mode})`);
      } else {
        caps |= CLIENT_SSL;
        const sslRequest = serializeSslRequest({ capabilities: caps >>> 0, maxPacketSize, characterSet: collation, mariaDbCapabilities });
        const framed = framePacket(sequenceId, sslRequest);
        sequenceId = framed.nextSequenceId;
        // Anything the server sent past its greeting before TLS could be injected plaintext.
        if (packets.detach().length > 0) throw new UpstreamError('protocol', 'the target sent data before the TLS handshake');
        raw.write(framed.bytes);
        const secure = await startTls(raw, opts, signal);
        replaceSocket(secure);
        socket = secure;
        encrypted = true;
        packets.attach(secure);
      }
    }
    caps = caps >>> 0;

    const nonce = greeting.authPluginData;
    // Answer the server's default plugin when we can; the server switches us to the user's own.
    let plugin = greeting.authPluginName === CACHING_SHA2_PASSWORD ? CACHING_SHA2_PASSWORD : MYSQL_NATIVE_PASSWORD;
    const send = (payload: Buffer) => {
      const framed = framePacket(sequenceId, payload);
      sequenceId = framed.nextSequenceId;
      socket.write(framed.bytes);
    };
    send(
      serializeHandshakeResponse41({
        capabilities: caps,
        maxPacketSize,
        characterSet: collation,
        mariaDbCapabilities,
        user: opts.user,
        authResponse: pluginAnswer(plugin, opts.password, nonce, encrypted),
        database: opts.database || undefined,
        authPluginName: plugin,
        connectAttributes: undefined,
        zstdCompressionLevel: undefined,
      }),
    );

    const auth = new AuthExchange(opts, encrypted, send);
    let switched = false;
    let currentNonce = nonce;
    for (;;) {
      const p = await packets.next();
      sequenceId = p.nextSequenceId;
      const header = p.payload[0];
      if (header === OK_HEADER) {
        const ok = parseOk(p.payload, { capabilities: caps & serverCaps });
        const leftover = packets.detach();
        offAbort();
        handOver(socket);
        return {
          socket,
          greeting,
          serverVersion: greeting.serverVersion,
          connectionId: greeting.connectionId,
          isMariaDb,
          capabilities: (caps & serverCaps) >>> 0,
          mariaDbCapabilities,
          statusFlags: ok.statusFlags,
          collation,
          encrypted,
          authPlugin: plugin,
          leftover,
        };
      }
      if (header === ERR_HEADER) throw serverError(p.payload, 'the target refused the login');
      if (header === AUTH_SWITCH_REQUEST) {
        if (switched) throw new UpstreamError('protocol', 'the target asked to switch authentication plugins twice');
        switched = true;
        const sw = parseAuthSwitchRequest(p.payload);
        plugin = sw.pluginName;
        currentNonce = stripTrailingNul(sw.pluginData);
        send(pluginAnswer(plugin, opts.password, currentNonce, encrypted));
        continue;
      }
      if (header === AUTH_MORE_DATA) {
        if (plugin !== CACHING_SHA2_PASSWORD) throw new UpstreamError('protocol', `unexpected extra authentication data for ${plugin}`);
        auth.cachingSha2MoreData(parseAuthMoreData(p.payload), currentNonce);
        continue;
      }
      throw new UpstreamError('protocol', `unexpected packet 0x${(header ?? 0).toString(16)} during login`);
    }
  } finally {
    offAbort();
  }
}

/** The first answer a plugin gives to a nonce. */
function pluginAnswer(plugin: string, password: string, nonce: Buffer, encrypted: boolean): Buffer {
  switch (plugin) {
    case MYSQL_NATIVE_PASSWORD:
      return nativePasswordScramble(password, nonce);
    case CACHING_SHA2_PASSWORD:
      return cachingSha2Scramble(password, nonce);
    case CLIENT_ED25519:
      return ed25519Signature(password, nonce);
    case MYSQL_CLEAR_PASSWORD:
      if (!encrypted) throw new UpstreamError('auth-unsupported', 'the target asks for the password in clear (mysql_clear_password) over a connection without TLS');
      return clearPasswordPayload(password);
    default:
      throw new UpstreamError('auth-unsupported', `the target asks for authentication plugin ${JSON.stringify(plugin.slice(0, 64))}, which sidegate does not support`);
  }
}

/** caching_sha2_password's second round: fast-auth result, then full authentication. */
class AuthExchange {
  private awaitingKey = false;

  constructor(
    private readonly opts: UpstreamConnectOptions,
    private readonly encrypted: boolean,
    private readonly send: (payload: Buffer) => void,
  ) {}

  cachingSha2MoreData(data: Buffer, nonce: Buffer): void {
    if (this.awaitingKey) {
      this.awaitingKey = false;
      this.send(this.rsa(data, nonce));
      return;
    }
    if (data.length === 1 && data[0] === CACHING_SHA2_FAST_AUTH_OK) return; // the OK follows
    if (data.length !== 1 || data[0] !== CACHING_SHA2_PERFORM_FULL_AUTH) throw new UpstreamError('protocol', 'unexpected caching_sha2_password data from the target');
    if (this.encrypted) {
      this.send(clearPasswordPayload(this.opts.password));
    } else if (this.opts.serverPublicKey) {
      this.send(this.rsa(this.opts.serverPublicKey, nonce));
    } else if (this.opts.allowPublicKeyRetrieval) {
      this.awaitingKey = true;
      this.send(Buffer.from([CACHING_SHA2_REQUEST_PUBLIC_KEY]));
    } else {
      throw new UpstreamError('auth-unsupported', "caching_sha2_password full authentication needs TLS or the server's RSA public key");
    }
  }

  private rsa(key: string | Buffer, nonce: Buffer): Buffer {
    try {
      return rsaEncryptedPassword(this.opts.password, nonce, key);
    } catch {
      throw new UpstreamError('auth-failed', "cannot encrypt the password with the server's RSA public key");
    }
  }
}

function stripTrailingNul(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, -1) : b;
}

function serverError(payload: Buffer, fallback: string): UpstreamError {
  const e = parseErr(payload);
  const message = e.message.toString('utf8').slice(0, 1000) || fallback;
  return new UpstreamError(e.errorCode === ER_ACCESS_DENIED_ERROR ? 'auth-failed' : 'server-error', message, e.errorCode, e.sqlState);
}

async function startTls(raw: net.Socket, opts: UpstreamConnectOptions, signal: AbortSignal): Promise<tls.TLSSocket> {
  let options: tls.ConnectionOptions;
  try {
    options = await upstreamTlsOptions(raw, opts.host, opts.tls);
  } catch (err) {
    throw new UpstreamError('tls-failed', (err as Error).message);
  }
  return new Promise((resolve, reject) => {
    const secure = tls.connect(options);
    const off = onAbort(signal, () => {
      secure.destroy();
      reject(new UpstreamError('timeout', 'TLS handshake with the target timed out'));
    });
    secure.once('secureConnect', () => {
      off();
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (err: Error) => {
      off();
      reject(new UpstreamError('tls-failed', `TLS to the target failed: ${err.message}`));
    });
  });
}

/** Every failure leaves as an UpstreamError, and none carries the password. */
function asUpstreamError(err: unknown, password: string): UpstreamError {
  let e: UpstreamError;
  if (err instanceof UpstreamError) e = err;
  else if (err instanceof MalformedPacket) e = new UpstreamError('protocol', `protocol error during login: ${err.message}`);
  else e = new UpstreamError('protocol', 'login to the target failed');
  if (password.length > 0 && e.message.includes(password)) {
    return new UpstreamError(e.code, e.message.split(password).join('********'), e.errorNumber, e.sqlState);
  }
  return e;
}
