// sidegate as the MySQL server toward its client: what the greeting offers, what a client's
// HandshakeResponse41 may ask for, how its token is taken, and which capabilities go on to the
// target. Pure decisions; proxy-session.ts does the I/O.
//
// The token is asked for with `mysql_clear_password` (as cloud IAM database logins do): the
// client's CI token is its password. An empty password means "no token": the pod's own identity
// applies. Capabilities are an allow-list: each one forwarded changes the wire format both sides
// must agree on, so only those this adapter reads are offered, and the target must grant them.
import {
  CLIENT_COMPRESS,
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_DEPRECATE_EOF,
  CLIENT_FOUND_ROWS,
  CLIENT_IGNORE_SIGPIPE,
  CLIENT_INTERACTIVE,
  CLIENT_LONG_FLAG,
  CLIENT_LONG_PASSWORD,
  CLIENT_MULTI_RESULTS,
  CLIENT_MULTI_STATEMENTS,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_PS_MULTI_RESULTS,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  CLIENT_TRANSACTIONS,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
  SERVER_STATUS_AUTOCOMMIT,
  MARIADB_CLIENT_EXTENDED_METADATA,
  hasFlag,
} from './capabilities.js';
import type { HandshakeResponse41, HandshakeV10 } from './handshake-packets.js';
import { clientCharsetOf, type ClientCharset } from './client-charset.js';

/** The plugin sidegate asks clients to log in with: the token travels as the password. */
export const TOKEN_PLUGIN = 'mysql_clear_password';

/** utf8mb4_general_ci: what the greeting announces as the server's default collation. */
const GREETING_COLLATION = 45;

/**
 * Capabilities offered to clients (and so at most these go upstream). Not offered: COMPRESS (the
 * compressed protocol is refused), LOCAL_FILES (the server must never ask the runner for a file),
 * SESSION_TRACK, QUERY_ATTRIBUTES, OPTIONAL_RESULTSET_METADATA and MariaDB's extended
 * capabilities (metadata caching, bulk, progress): formats this adapter does not read.
 */
export const OFFERED_CAPABILITIES =
  CLIENT_LONG_PASSWORD |
  CLIENT_FOUND_ROWS |
  CLIENT_LONG_FLAG |
  CLIENT_CONNECT_WITH_DB |
  CLIENT_PROTOCOL_41 |
  CLIENT_INTERACTIVE |
  CLIENT_IGNORE_SIGPIPE |
  CLIENT_TRANSACTIONS |
  CLIENT_SECURE_CONNECTION |
  CLIENT_MULTI_STATEMENTS |
  CLIENT_MULTI_RESULTS |
  CLIENT_PS_MULTI_RESULTS |
  CLIENT_PLUGIN_AUTH |
  CLIENT_CONNECT_ATTRS |
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
  CLIENT_DEPRECATE_EOF;

/** Of the client's capabilities, those the upstream login asks for (the format-defining ones). */
const FORWARDED_CAPABILITIES =
  CLIENT_LONG_PASSWORD |
  CLIENT_FOUND_ROWS |
  CLIENT_LONG_FLAG |
  CLIENT_PROTOCOL_41 |
  CLIENT_INTERACTIVE |
  CLIENT_TRANSACTIONS |
  CLIENT_SECURE_CONNECTION |
  CLIENT_MULTI_STATEMENTS |
  CLIENT_MULTI_RESULTS |
  CLIENT_PS_MULTI_RESULTS |
  CLIENT_DEPRECATE_EOF;

/** Capabilities that change the reply formats: the target must grant every one the client got. */
export const FORMAT_CAPABILITIES = CLIENT_DEPRECATE_EOF | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PROTOCOL_41;

/**
 * `extendedMetadata`: greet as MariaDB does when it offers extended column metadata (the
 * CLIENT_MYSQL bit clear, the extended capability in the greeting's reserved bytes), so a client
 * that types JSON columns from it sees the server it would have seen directly.
 */
export function greeting(opts: { connectionId: number; scramble: Buffer; serverVersion: string; tls: boolean; extendedMetadata?: boolean }): HandshakeV10 {
  const capabilities = (OFFERED_CAPABILITIES | (opts.tls ? CLIENT_SSL : 0)) >>> 0;
  return {
    protocolVersion: 10,
    serverVersion: opts.serverVersion,
    connectionId: opts.connectionId,
    authPluginData: opts.scramble,
    capabilities: opts.extendedMetadata ? (capabilities & ~CLIENT_MYSQL) >>> 0 : capabilities,
    characterSet: GREETING_COLLATION,
    statusFlags: SERVER_STATUS_AUTOCOMMIT,
    mariaDbCapabilities: opts.extendedMetadata ? MARIADB_CLIENT_EXTENDED_METADATA : 0,
    authPluginName: TOKEN_PLUGIN,
  };
}

export type ClientAcceptance =
  | {
      ok: true;
      /** Capabilities both sides now speak with (the client's, within what was offered). */
      capabilities: number;
      /** What the upstream login asks the target for. */
      upstreamCapabilities: number;
      charset: ClientCharset;
      /** The token, when the client already sent its password in clear (or sent none: ''). */
      token: string | undefined;
    }
  | { ok: false; errorCode: number; sqlState: string; message: string; rule: string };

/** ER_NOT_SUPPORTED_AUTH_MODE */
const ER_NOT_SUPPORTED_AUTH_MODE = 1251;
/** ER_UNKNOWN_CHARACTER_SET */
const ER_UNKNOWN_CHARACTER_SET = 1115;
/** ER_HANDSHAKE_ERROR */
const ER_HANDSHAKE_ERROR = 1043;

/** Decides a client's HandshakeResponse41; `secure` when the connection is TLS. */
export function acceptClient(response: HandshakeResponse41): ClientAcceptance {
  const caps = response.capabilities >>> 0;
  if (!hasFlag(caps, CLIENT_PROTOCOL_41)) {
    return { ok: false, errorCode: ER_HANDSHAKE_ERROR, sqlState: '08S01', message: 'sidegate: the client must speak protocol 4.1', rule: 'handshake' };
  }
  if (hasFlag(caps, CLIENT_COMPRESS) || hasFlag(caps, CLIENT_ZSTD_COMPRESSION_ALGORITHM)) {
    return { ok: false, errorCode: ER_NOT_SUPPORTED_AUTH_MODE, sqlState: '08004', message: 'sidegate: the compressed protocol is not supported; connect without compression', rule: 'handshake' };
  }
  const charset = clientCharsetOf(response.characterSet);
  if (!charset.allowed) {
    return { ok: false, errorCode: ER_UNKNOWN_CHARACTER_SET, sqlState: '42000', message: `sidegate: character set ${charset.name} is refused: use utf8mb4 (${charset.why})`, rule: 'client-charset' };
  }
  const capabilities = (caps & (OFFERED_CAPABILITIES | CLIENT_SSL)) >>> 0;
  const upstreamCapabilities = (capabilities & FORWARDED_CAPABILITIES) >>> 0;
  return { ok: true, capabilities, upstreamCapabilities, charset, token: presentedToken(response) };
}

/**
 * The token in a client's first answer, if it can be read there: an empty answer is an empty
 * password (every plugin answers an empty password with nothing); an answer by the clear-text
 * plugin is the password itself. Anything else is a scramble: the client is asked to switch.
 */
export function presentedToken(response: HandshakeResponse41): string | undefined {
  if (response.authResponse.length === 0) return '';
  if (response.authPluginName === TOKEN_PLUGIN) return clearPassword(response.authResponse);
  return undefined;
}

/** mysql_clear_password's answer: the password, NUL-terminated. */
export function clearPassword(answer: Buffer): string {
  const end = answer.indexOf(0);
  return answer.subarray(0, end === -1 ? answer.length : end).toString('utf8');
}
