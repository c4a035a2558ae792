// The connection-phase packets: the server's greeting (HandshakeV10), the client's reply
// (HandshakeResponse41) and its 32-byte SSLRequest prefix, and the authentication exchange
// (AuthSwitchRequest, AuthMoreData, the client's auth switch response). One parser and one
// serializer per packet, payloads only (framing is packet-framer.ts). Our own codecs: mysql2's
// packet classes serve a client that consumes; a proxy parses both sides and re-serializes.
import {
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM,
  hasFlag,
} from './capabilities.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

/** The server's greeting, the first packet of every connection. */
export interface HandshakeV10 {
  protocolVersion: number;
  /** MariaDB prefixes its version with `5.5.5-` for old clients: `5.5.5-10.11.19-MariaDB-…`. */
  serverVersion: string;
  connectionId: number;
  /** The scramble (nonce): part 1 and part 2 joined, without part 2's trailing NUL; 20 bytes in practice. */
  authPluginData: Buffer;
  /** The 32-bit capability flags (unsigned). */
  capabilities: number;
  /** The server's default collation id. */
  characterSet: number;
  statusFlags: number;
  /** MariaDB's extended capabilities (reserved bytes 6..9), 0 when CLIENT_MYSQL is set. */
  mariaDbCapabilities: number;
  /** The default authentication plugin, when CLIENT_PLUGIN_AUTH. */
  authPluginName: string | undefined;
}

export function parseHandshakeV10(payload: Buffer): HandshakeV10 {
  const r = new PacketReader(payload);
  const protocolVersion = r.int1('protocol version');
  if (protocolVersion === 0xff) throw new MalformedPacket('the server sent an error instead of its greeting');
  if (protocolVersion !== 10) throw new MalformedPacket(`unsupported handshake protocol version ${protocolVersion}`);
  const serverVersion = r.nulString('server version');
  const connectionId = r.int4('connection id');
  const part1 = r.bytes(8, 'auth plugin data part 1');
  r.skip(1, 'filler');
  let capabilities = r.int2('capability flags');
  if (r.atEnd()) {
    return { protocolVersion, serverVersion, connectionId, authPluginData: Buffer.from(part1), capabilities, characterSet: 0, statusFlags: 0, mariaDbCapabilities: 0, authPluginName: undefined };
  }
  const characterSet = r.int1('character set');
  const statusFlags = r.int2('status flags');
  capabilities = (capabilities | (r.int2('capability flags (upper)') << 16)) >>> 0;
  const authDataLength = r.int1('auth plugin data length');
  r.skip(6, 'reserved');
  const extended = r.int4('reserved (MariaDB capabilities)');
  const mariaDbCapabilities = hasFlag(capabilities, CLIENT_MYSQL) ? 0 : extended;
  let part2: Buffer = Buffer.alloc(0);
  if (hasFlag(capabilities, CLIENT_SECURE_CONNECTION)) {
    part2 = r.bytes(Math.max(13, authDataLength - 8), 'auth plugin data part 2');
    if (part2[part2.length - 1] === 0) part2 = part2.subarray(0, -1);
  }
  let authPluginName: string | undefined;
  if (hasFlag(capabilities, CLIENT_PLUGIN_AUTH)) {
    // Some 5.5 servers omit the terminating NUL: the name then runs to the end of the packet.
    const rest = r.rest();
    const nul = rest.indexOf(0);
    authPluginName = (nul < 0 ? rest : rest.subarray(0, nul)).toString('utf8');
  }
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    authPluginData: Buffer.concat([part1, part2]),
    capabilities,
    characterSet,
    statusFlags,
    mariaDbCapabilities,
    authPluginName,
  };
}

export function serializeHandshakeV10(h: HandshakeV10): Buffer {
  if (h.authPluginData.length < 8) throw new RangeError('auth plugin data must be at least 8 bytes');
  const caps = h.capabilities >>> 0;
  const w = new PacketWriter()
    .int1(h.protocolVersion)
    .nulString(h.serverVersion)
    .int4(h.connectionId)
    .bytes(h.authPluginData.subarray(0, 8))
    .int1(0)
    .int2(caps & 0xffff)
    .int1(h.characterSet)
    .int2(h.statusFlags)
    .int2(caps >>> 16);
  const part2 = h.authPluginData.subarray(8);
  w.int1(hasFlag(caps, CLIENT_PLUGIN_AUTH) ? h.authPluginData.length + 1 : 0);
  w.zeros(6);
  w.int4(hasFlag(caps, CLIENT_MYSQL) ? 0 : h.mariaDbCapabilities);
  if (hasFlag(caps, CLIENT_SECURE_CONNECTION)) {
    // Part 2 is at least 13 bytes, NUL-terminated.
    const field = Buffer.alloc(Math.max(13, part2.length + 1));
    part2.copy(field);
    w.bytes(field);
  }
  if (hasFlag(caps, CLIENT_PLUGIN_AUTH)) w.nulString(h.authPluginName ?? '');
  return w.build();
}

/** The first 32 bytes of a HandshakeResponse41, sent alone (with CLIENT_SSL) before the TLS handshake. */
export interface SslRequest {
  capabilities: number;
  maxPacketSize: number;
  characterSet: number;
  /** MariaDB's extended capabilities (0 when CLIENT_MYSQL is set). */
  mariaDbCapabilities: number;
}

export const SSL_REQUEST_LENGTH = 32;

/**
 * Is this client packet (the reply to the greeting) an SSLRequest? A HandshakeResponse41 is at
 * least 33 bytes (its user name's NUL), so a 32-byte payload is one; it is malformed without CLIENT_SSL.
 */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === SSL_REQUEST_LENGTH;
}

export function parseSslRequest(payload: Buffer): SslRequest {
  if (payload.length !== SSL_REQUEST_LENGTH) throw new MalformedPacket(`SSLRequest must be ${SSL_REQUEST_LENGTH} bytes, got ${payload.length}`);
  const fixed = parseFixedPart(new PacketReader(payload));
  if (!hasFlag(fixed.capabilities, CLIENT_SSL)) throw new MalformedPacket('SSLRequest without the CLIENT_SSL capability');
  return fixed;
}

export function serializeSslRequest(s: SslRequest): Buffer {
  return writeFixedPart(new PacketWriter(), { ...s, capabilities: (s.capabilities | CLIENT_SSL) >>> 0 }).build();
}

function parseFixedPart(r: PacketReader): SslRequest {
  const capabilities = r.int4('client capability flags') >>> 0;
  if (!hasFlag(capabilities, CLIENT_PROTOCOL_41)) throw new MalformedPacket('client does not speak protocol 4.1 (CLIENT_PROTOCOL_41 unset)');
  const maxPacketSize = r.int4('max packet size');
  const characterSet = r.int1('character set');
  r.skip(19, 'filler');
  const extended = r.int4('filler (MariaDB capabilities)');
  return { capabilities, maxPacketSize, characterSet, mariaDbCapabilities: hasFlag(capabilities, CLIENT_MYSQL) ? 0 : extended };
}

function writeFixedPart(w: PacketWriter, s: SslRequest): PacketWriter {
  return w
    .int4(s.capabilities >>> 0)
    .int4(s.maxPacketSize)
    .int1(s.characterSet)
    .zeros(19)
    .int4(hasFlag(s.capabilities, CLIENT_MYSQL) ? 0 : s.mariaDbCapabilities);
}

/** The client's reply to the greeting. */
export interface HandshakeResponse41 extends SslRequest {
  user: string;
  /** The first plugin's answer to the scramble (empty for an empty password). */
  authResponse: Buffer;
  /** With CLIENT_CONNECT_WITH_DB. */
  database: string | undefined;
  /** With CLIENT_PLUGIN_AUTH: the plugin that produced `authResponse`. */
  authPluginName: string | undefined;
  /** With CLIENT_CONNECT_ATTRS: key/value pairs in the order sent. */
  connectAttributes: Array<[string, string]> | undefined;
  /** With CLIENT_ZSTD_COMPRESSION_ALGORITHM (MySQL 8). */
  zstdCompressionLevel: number | undefined;
}

export function parseHandshakeResponse41(payload: Buffer): HandshakeResponse41 {
  const r = new PacketReader(payload);
  const fixed = parseFixedPart(r);
  const caps = fixed.capabilities;
  const user = r.nulString('user name');
  let authResponse: Buffer;
  if (hasFlag(caps, CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)) authResponse = r.lenencBytes('auth response');
  else if (hasFlag(caps, CLIENT_SECURE_CONNECTION)) authResponse = r.bytes(r.int1('auth response length'), 'auth response');
  else authResponse = r.nulBytes('auth response');
  // Clients omit trailing optional fields they have nothing for even when the flag is set.
  const database = hasFlag(caps, CLIENT_CONNECT_WITH_DB) && !r.atEnd() ? r.nulString('database') : undefined;
  const authPluginName = hasFlag(caps, CLIENT_PLUGIN_AUTH) && !r.atEnd() ? r.nulString('auth plugin name') : undefined;
  let connectAttributes: Array<[string, string]> | undefined;
  if (hasFlag(caps, CLIENT_CONNECT_ATTRS) && !r.atEnd()) {
    const attrs = new PacketReader(r.lenencBytes('connection attributes'));
    connectAttributes = [];
    while (!attrs.atEnd()) connectAttributes.push([attrs.lenencString('attribute name'), attrs.lenencString('attribute value')]);
  }
  const zstdCompressionLevel = hasFlag(caps, CLIENT_ZSTD_COMPRESSION_ALGORITHM) && !r.atEnd() ? r.int1('zstd compression level') : undefined;
  r.expectEnd('HandshakeResponse41');
  return { ...fixed, user, authResponse: Buffer.from(authResponse), database, authPluginName, connectAttributes, zstdCompressionLevel };
}

export function serializeHandshakeResponse41(h: HandshakeResponse41): Buffer {
  const caps = h.capabilities >>> 0;
  const w = writeFixedPart(new PacketWriter(), h).nulString(h.user);
  if (hasFlag(caps, CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)) w.lenencString(h.authResponse);
  else if (hasFlag(caps, CLIENT_SECURE_CONNECTION)) {
    if (h.authResponse.length > 0xff) throw new RangeError('auth response over 255 bytes needs CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA');
    w.int1(h.authResponse.length).bytes(h.authResponse);
  } else w.nulString(h.authResponse);
  if (hasFlag(caps, CLIENT_CONNECT_WITH_DB)) w.nulString(h.database ?? '');
  if (hasFlag(caps, CLIENT_PLUGIN_AUTH)) w.nulString(h.authPluginName ?? '');
  if (hasFlag(caps, CLIENT_CONNECT_ATTRS)) {
    const attrs = new PacketWriter();
    for (const [k, v] of h.connectAttributes ?? []) attrs.lenencString(k).lenencString(v);
    w.lenencString(attrs.build());
  }
  if (hasFlag(caps, CLIENT_ZSTD_COMPRESSION_ALGORITHM)) w.int1(h.zstdCompressionLevel ?? 3);
  return w.build();
}

/** 0xFE: the server asks the client to authenticate again with another plugin. */
export const AUTH_SWITCH_REQUEST = 0xfe;
/** 0x01: extra data for the current plugin (caching_sha2's fast-auth result, a public key …). */
export const AUTH_MORE_DATA = 0x01;

export interface AuthSwitchRequest {
  pluginName: string;
  /** The plugin's data as sent (a new scramble, usually with a trailing NUL). */
  pluginData: Buffer;
}

export function parseAuthSwitchRequest(payload: Buffer): AuthSwitchRequest {
  const r = new PacketReader(payload);
  if (r.int1('header') !== AUTH_SWITCH_REQUEST) throw new MalformedPacket('not an AuthSwitchRequest (0xFE)');
  // The 1-byte form is the pre-4.1 "old password" switch; no plugin name follows.
  if (r.atEnd()) return { pluginName: 'mysql_old_password', pluginData: Buffer.alloc(0) };
  const pluginName = r.nulString('auth plugin name');
  return { pluginName, pluginData: Buffer.from(r.rest()) };
}

export function serializeAuthSwitchRequest(a: AuthSwitchRequest): Buffer {
  return new PacketWriter().int1(AUTH_SWITCH_REQUEST).nulString(a.pluginName).bytes(a.pluginData).build();
}

export function parseAuthMoreData(payload: Buffer): Buffer {
  if (payload[0] !== AUTH_MORE_DATA) throw new MalformedPacket('not an AuthMoreData packet (0x01)');
  return Buffer.from(payload.subarray(1));
}

export function serializeAuthMoreData(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([AUTH_MORE_DATA]), data]);
}

/** The client's answer to an AuthSwitchRequest or AuthMoreData: the plugin's bytes, unframed. */
export function parseAuthSwitchResponse(payload: Buffer): Buffer {
  return Buffer.from(payload);
}

export function serializeAuthSwitchResponse(data: Buffer): Buffer {
  return Buffer.from(data);
}
