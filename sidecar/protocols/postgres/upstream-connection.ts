// Logs in to the target PostgreSQL on the client's behalf: TCP, SSLRequest and TLS per the
// target's mode, StartupMessage, authentication (SCRAM-SHA-256[-PLUS], md5, cleartext), then the
// ParameterStatus and BackendKeyData the server sends until its first ReadyForQuery.
// The password is used here and nowhere else; no error produced here contains it.
import net from 'node:net';
import tls from 'node:tls';
import { upstreamTlsOptions } from '../../pipeline/upstream-tls.js';
import { handOver } from '../../pipeline/socket-handover.js';
import { createHash } from 'node:crypto';
import type { UpstreamTls } from '../../../core/vocabulary.js';
import { MessageFramer, ProtocolError } from './message-framer.js';
import {
  serializePasswordMessage,
  serializeSASLInitialResponse,
  serializeSASLResponse,
  serializeSSLRequest,
  serializeStartupMessage,
} from './frontend-messages.js';
import {
  AuthCode,
  BackendCode,
  readAuthentication,
  readBackendKeyData,
  readErrorFields,
  readParameterStatus,
  readReadyForQuery,
  readSASLMechanisms,
  type BackendKey,
  type TransactionStatus,
} from './backend-messages.js';
import { createScramClient, tlsServerEndPoint, type ScramClient } from './scram-client.js';

export interface UpstreamConnectOptions {
  host: string;
  port: number;
  tls: UpstreamTls;
  user: string;
  password: string;
  database: string;
  /** Client startup parameters to pass on (application_name, client_encoding, DateStyle, options…). */
  params?: Record<string, string>;
  /** Bound on the whole login: TCP, TLS and authentication. Default 10 s. */
  connectTimeoutMs?: number;
}

export interface UpstreamConnection {
  /**
   * Logged-in socket. It stays paused until a 'data' listener is attached (nothing is lost in
   * between) and keeps a listener that ignores 'error' so a late reset cannot crash the
   * process: watch 'close'.
   */
  socket: net.Socket | tls.TLSSocket;
  /** ParameterStatus values the server sent during startup. */
  parameters: Map<string, string>;
  backendKey: BackendKey;
  transactionStatus: TransactionStatus;
  /** Bytes after the first ReadyForQuery (normally empty): process them before new data. */
  leftover: Buffer;
  serverVersion: string;
  /** Whether the connection is encrypted (false in disable mode or when `prefer` fell back). */
  encrypted: boolean;
  /** How the server authenticated us. */
  authMethod: 'trust' | 'cleartext' | 'md5' | 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS';
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
    /** The server's SQLSTATE when it sent an ErrorResponse (e.g. 28P01 wrong password). */
    readonly sqlState?: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Startup messages are small; a bigger one means something is wrong. */
const MAX_STARTUP_MESSAGE = 64 * 1024;
/** Every upstream session's client_encoding, whatever the caller passes. */
export const PINNED_CLIENT_ENCODING = 'UTF8';
/** Parameters the proxy decides itself, never taken from the client. */
const RESERVED_PARAMS = new Set(['user', 'database', 'replication']);

export async function connectUpstream(opts: UpstreamConnectOptions): Promise<UpstreamConnection> {
  const deadline = new Deadline(opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const socket = await openTransport(opts, deadline);
    try {
      return await login(socket, opts, deadline);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  } finally {
    deadline.clear();
  }
}

/**
 * TCP connection plus SSLRequest/TLS per `tls.mode`, ready for the first startup-phase packet
 * (StartupMessage or CancelRequest). Shared by the login and by CancelRequest.
 */
export async function openUpstreamTransport(
  target: { host: string; port: number; tls: UpstreamTls },
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<net.Socket | tls.TLSSocket> {
  const deadline = new Deadline(timeoutMs);
  try {
    return await openTransport(target, deadline);
  } finally {
    deadline.clear();
  }
}

async function openTransport(target: { host: string; port: number; tls: UpstreamTls }, deadline: Deadline): Promise<net.Socket | tls.TLSSocket> {
  const raw = await openTcp(target.host, target.port, deadline);
  if (target.tls.mode === 'disable') return raw;
  try {
    return await negotiateTls(raw, target, deadline);
  } catch (err) {
    raw.destroy();
    throw err;
  }
}

/** One timer for the whole login; each step registers what to do when it fires. */
class Deadline {
  private timer: NodeJS.Timeout;
  private onExpire: (() => void) | undefined;
  private expired = false;

  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.onExpire?.();
    }, ms);
  }

  /** Runs `fn` when the deadline passes (at once if it already has). */
  watch(fn: () => void): void {
    this.onExpire = fn;
    if (this.expired) fn();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.onExpire = undefined;
  }
}

function openTcp(host: string, port: number, deadline: Deadline): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    deadline.watch(() => {
      s.destroy();
      reject(new UpstreamError('timeout', `connecting to ${host}:${port} timed out`));
    });
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      reject(new UpstreamError('connect-failed', `cannot connect to ${host}:${port}: ${err.code ?? 'connection failed'}`));
    });
  });
}

async function negotiateTls(raw: net.Socket, opts: { host: string; tls: UpstreamTls }, deadline: Deadline): Promise<net.Socket | tls.TLSSocket> {
  const answer = await askForTls(raw, deadline);
  if (answer === 'N') {
    if (opts.tls.mode === 'prefer') return raw;
    throw new UpstreamError('tls-unavailable', `the target does not accept TLS (tls mode ${opts.tls.mode})`);
  }
  let options: tls.ConnectionOptions;
  try {
    options = await upstreamTlsOptions(raw, opts.host, opts.tls);
  } catch (err) {
    throw new UpstreamError('tls-failed', (err as Error).message);
  }
  return new Promise((resolve, reject) => {
    const secure = tls.connect(options);
    deadline.watch(() => {
      secure.destroy();
      reject(new UpstreamError('timeout', 'TLS handshake with the target timed out'));
    });
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (err: Error) => {
      reject(new UpstreamError('tls-failed', `TLS to the target failed: ${err.message}`));
    });
  });
}

/** Sends SSLRequest and reads the one-byte answer. */
function askForTls(raw: net.Socket, deadline: Deadline): Promise<'S' | 'N'> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      raw.off('data', onData);
      raw.off('error', onError);
      raw.off('close', onClose);
    };
    const fail = (err: UpstreamError) => {
      cleanup();
      reject(err);
    };
    const onData = (d: Buffer) => {
      cleanup();
      // More than one byte before the handshake could be injected plaintext (CVE-2021-23222).
      if (d.length !== 1 || (d[0] !== 0x53 && d[0] !== 0x4e)) {
        fail(new UpstreamError('protocol', 'unexpected answer to SSLRequest'));
        return;
      }
      resolve(d[0] === 0x53 ? 'S' : 'N');
    };
    const onError = () => fail(new UpstreamError('connect-failed', 'connection to the target failed during SSLRequest'));
    const onClose = () => fail(new UpstreamError('connect-failed', 'the target closed the connection during SSLRequest'));
    deadline.watch(() => fail(new UpstreamError('timeout', 'the target did not answer SSLRequest')));
    raw.on('data', onData);
    raw.on('error', onError);
    raw.on('close', onClose);
    raw.write(serializeSSLRequest());
  });
}

function startupParams(opts: UpstreamConnectOptions): Record<string, string> {
  const params: Record<string, string> = { user: opts.user, database: opts.database };
  for (const [name, value] of Object.entries(opts.params ?? {})) {
    // `_pq_.` names are protocol extensions this layer does not negotiate.
    if (!RESERVED_PARAMS.has(name) && !name.startsWith('_pq_.') && name.toLowerCase() !== 'client_encoding') params[name] = value;
  }
  // Pinned: the server must parse exactly the UTF-8 bytes sidegate inspected (client-encoding.ts).
  params['client_encoding'] = PINNED_CLIENT_ENCODING;
  return params;
}

function md5Password(password: string, user: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner, 'latin1'), salt])).digest('hex');
}

function login(socket: net.Socket | tls.TLSSocket, opts: UpstreamConnectOptions, deadline: Deadline): Promise<UpstreamConnection> {
  const encrypted = socket instanceof tls.TLSSocket;
  return new Promise((resolve, reject) => {
    const framer = new MessageFramer({ maxMessageSize: MAX_STARTUP_MESSAGE });
    const parameters = new Map<string, string>();
    let backendKey: BackendKey = { processId: 0, secretKey: 0 };
    let scram: ScramClient | undefined;
    let authMethod: UpstreamConnection['authMethod'] = 'trust';
    let authenticated = false;

    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (err: unknown) => {
      cleanup();
      reject(asUpstreamError(err, opts.password));
    };
    const onError = () => fail(new UpstreamError('connect-failed', 'connection to the target failed during login'));
    const onClose = () => fail(new UpstreamError('connect-failed', 'the target closed the connection during login'));
    deadline.watch(() => fail(new UpstreamError('timeout', 'login to the target timed out')));

    const onAuthentication = (body: Buffer) => {
      const { code, payload } = readAuthentication(body);
      switch (code) {
        case AuthCode.Ok:
          // A server that skips the SCRAM final message never proved it knows the password.
          if (scram && !scram.verified) throw new UpstreamError('auth-failed', 'the target ended SCRAM authentication without proving its identity');
          authenticated = true;
          return;
        case AuthCode.CleartextPassword:
          authMethod = 'cleartext';
          socket.write(serializePasswordMessage(opts.password));
          return;
        case AuthCode.MD5Password:
          if (payload.length !== 4) throw new ProtocolError('malformed', 'MD5 authentication request without a 4-byte salt');
          authMethod = 'md5';
          socket.write(serializePasswordMessage(md5Password(opts.password, opts.user, payload)));
          return;
        case AuthCode.SASL: {
          if (scram) throw new ProtocolError('unexpected-message', 'second SASL authentication request');
          scram = startScram(readSASLMechanisms(payload), socket, opts.password);
          authMethod = scram.mechanism;
          socket.write(serializeSASLInitialResponse(scram.mechanism, scram.clientFirstMessage()));
          return;
        }
        case AuthCode.SASLContinue:
          if (!scram) throw new ProtocolError('unexpected-message', 'SASLContinue without SASL');
          socket.write(serializeSASLResponse(scram.handleServerFirst(payload.toString('utf8'))));
          return;
        case AuthCode.SASLFinal:
          if (!scram) throw new ProtocolError('unexpected-message', 'SASLFinal without SASL');
          scram.verifyServerFinal(payload.toString('utf8'));
          return;
        case AuthCode.KerberosV5:
        case AuthCode.GSS:
        case AuthCode.GSSContinue:
        case AuthCode.SSPI:
          throw new UpstreamError('auth-unsupported', 'the target asks for GSSAPI/SSPI/Kerberos authentication, which sidegate does not support');
        default:
          throw new UpstreamError('auth-unsupported', `the target asks for an unknown authentication method (${code})`);
      }
    };

    const onData = (chunk: Buffer) => {
      try {
        framer.push(chunk);
        for (let f = framer.next(); f !== null; f = framer.next()) {
          switch (f.code) {
            case BackendCode.Authentication:
              if (authenticated) throw new ProtocolError('unexpected-message', 'authentication request after AuthenticationOk');
              onAuthentication(f.body);
              break;
            case BackendCode.ErrorResponse: {
              const fields = readErrorFields(f.body);
              throw new UpstreamError('server-error', (fields['M'] ?? 'the target refused the login').slice(0, 1000), fields['C']);
            }
            case BackendCode.ParameterStatus: {
              const p = readParameterStatus(f.body);
              parameters.set(p.name, p.value);
              break;
            }
            case BackendCode.BackendKeyData:
              backendKey = readBackendKeyData(f.body);
              break;
            case BackendCode.NoticeResponse:
            case BackendCode.NegotiateProtocolVersion:
              break;
            case BackendCode.ReadyForQuery: {
              if (!authenticated) throw new ProtocolError('unexpected-message', 'ReadyForQuery before AuthenticationOk');
              const transactionStatus = readReadyForQuery(f.body);
              cleanup();
              handOver(socket);
              resolve({
                socket,
                parameters,
                backendKey,
                transactionStatus,
                leftover: framer.takeRemaining(),
                serverVersion: parameters.get('server_version') ?? '',
                encrypted,
                authMethod,
              });
              return;
            }
            default:
              throw new ProtocolError('unexpected-message', `unexpected message '${String.fromCharCode(f.code)}' during login`);
          }
        }
      } catch (err) {
        fail(err);
      }
    };

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
    try {
      socket.write(serializeStartupMessage(startupParams(opts)));
    } catch (err) {
      fail(err);
    }
  });
}

/** Prefers SCRAM-SHA-256-PLUS over TLS when the certificate allows binding. */
function startScram(mechanisms: string[], socket: net.Socket | tls.TLSSocket, password: string): ScramClient {
  if (socket instanceof tls.TLSSocket) {
    const der = socket.getPeerCertificate()?.raw;
    const binding = der ? tlsServerEndPoint(der) : null;
    if (binding && mechanisms.includes('SCRAM-SHA-256-PLUS')) return createScramClient(password, { channelBinding: binding });
    if (mechanisms.includes('SCRAM-SHA-256')) return createScramClient(password, { clientSupportsBinding: binding !== null });
  } else if (mechanisms.includes('SCRAM-SHA-256')) {
    return createScramClient(password);
  }
  throw new UpstreamError('auth-unsupported', `the target offers no supported SASL mechanism (${mechanisms.join(', ').slice(0, 200)})`);
}

/** Every failure leaves as an UpstreamError, and none carries the password. */
function asUpstreamError(err: unknown, password: string): UpstreamError {
  let e: UpstreamError;
  if (err instanceof UpstreamError) e = err;
  else if (err instanceof ProtocolError) e = new UpstreamError('protocol', `protocol error during login: ${err.message}`);
  else if (err instanceof Error && err.name === 'ScramError') e = new UpstreamError('auth-failed', err.message);
  else e = new UpstreamError('protocol', 'login to the target failed');
  if (password.length > 0 && e.message.includes(password)) {
    return new UpstreamError(e.code, e.message.split(password).join('********'), e.sqlState);
  }
  return e;
}
