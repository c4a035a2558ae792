// The server's generic replies: OK (0x00, or 0xFE ending a result set under CLIENT_DEPRECATE_EOF),
// ERR (0xFF), EOF (0xFE, under 9 bytes) and the LOCAL INFILE request (0xFB), with the
// classification that tells them from rows. Payloads only; our own codecs because a proxy must
// re-serialize them byte-exact (mysql2's packet classes only read them for a client).
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_PROTOCOL_41,
  CLIENT_SESSION_TRACK,
  CLIENT_TRANSACTIONS,
  SERVER_SESSION_STATE_CHANGED,
  SESSION_TRACK_SCHEMA,
  SESSION_TRACK_SYSTEM_VARIABLES,
  hasFlag,
} from './capabilities.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

export const OK_HEADER = 0x00;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
export const LOCAL_INFILE_HEADER = 0xfb;
/** The largest payload a 0xFE-headed OK may have; a 0xFE row beyond it is data. */
const MAX_OK_AS_EOF = 0xffffff;

/** What the negotiated capabilities change in these packets. */
export interface ResponseOptions {
  /** The capabilities both sides agreed (client ∩ server). */
  capabilities: number;
}

export interface OkPacket {
  /** 0x00, or 0xFE for the OK that ends a result set under CLIENT_DEPRECATE_EOF. */
  header: number;
  affectedRows: number;
  lastInsertId: number;
  statusFlags: number;
  warnings: number;
  /** Human-readable info ("Rows matched: 1  Changed: 1 …"), as sent. */
  info: Buffer;
  /** The session-state change block (CLIENT_SESSION_TRACK with SERVER_SESSION_STATE_CHANGED), as sent. */
  sessionState: Buffer | undefined;
}

export function parseOk(payload: Buffer, opts: ResponseOptions): OkPacket {
  const r = new PacketReader(payload);
  const header = r.int1('header');
  if (header !== OK_HEADER && header !== EOF_HEADER) throw new MalformedPacket(`not an OK packet (header 0x${header.toString(16)})`);
  const affectedRows = r.lenencInt('affected rows');
  const lastInsertId = r.lenencInt('last insert id');
  let statusFlags = 0;
  let warnings = 0;
  if (hasFlag(opts.capabilities, CLIENT_PROTOCOL_41)) {
    statusFlags = r.int2('status flags');
    warnings = r.int2('warnings');
  } else if (hasFlag(opts.capabilities, CLIENT_TRANSACTIONS)) {
    statusFlags = r.int2('status flags');
  }
  let info: Buffer = Buffer.alloc(0);
  let sessionState: Buffer | undefined;
  if (hasFlag(opts.capabilities, CLIENT_SESSION_TRACK)) {
    // The server omits an empty info field when no session state follows.
    if (!r.atEnd()) info = r.lenencBytes('info');
    if (hasFlag(statusFlags, SERVER_SESSION_STATE_CHANGED)) sessionState = r.lenencBytes('session state');
    r.expectEnd('OK packet');
  } else {
    info = r.rest();
  }
  return { header, affectedRows, lastInsertId, statusFlags, warnings, info, sessionState };
}

export function serializeOk(ok: Partial<OkPacket> & Pick<OkPacket, 'statusFlags'>, opts: ResponseOptions): Buffer {
  const w = new PacketWriter()
    .int1(ok.header ?? OK_HEADER)
    .lenencInt(ok.affectedRows ?? 0)
    .lenencInt(ok.lastInsertId ?? 0);
  if (hasFlag(opts.capabilities, CLIENT_PROTOCOL_41)) w.int2(ok.statusFlags).int2(ok.warnings ?? 0);
  else if (hasFlag(opts.capabilities, CLIENT_TRANSACTIONS)) w.int2(ok.statusFlags);
  const info = ok.info ?? Buffer.alloc(0);
  if (hasFlag(opts.capabilities, CLIENT_SESSION_TRACK)) {
    const changed = hasFlag(ok.statusFlags, SERVER_SESSION_STATE_CHANGED);
    if (changed || info.length > 0) w.lenencString(info);
    if (changed) w.lenencString(ok.sessionState ?? Buffer.alloc(0));
  } else {
    w.bytes(info);
  }
  return w.build();
}

/** One entry of an OK packet's session-state block. */
export interface SessionStateChange {
  /** SESSION_TRACK_*. */
  type: number;
  data: Buffer;
}

export function parseSessionState(block: Buffer): SessionStateChange[] {
  const r = new PacketReader(block);
  const out: SessionStateChange[] = [];
  while (!r.atEnd()) out.push({ type: r.int1('session state type'), data: r.lenencBytes('session state data') });
  return out;
}

/** A SESSION_TRACK_SYSTEM_VARIABLES entry's variable and new value (e.g. character_set_client). */
export function parseSystemVariableChange(change: SessionStateChange): { name: string; value: Buffer } {
  if (change.type !== SESSION_TRACK_SYSTEM_VARIABLES) throw new MalformedPacket('not a system variable change');
  const r = new PacketReader(change.data);
  const name = r.lenencString('variable name');
  const value = r.lenencBytes('variable value');
  return { name, value };
}

/** A SESSION_TRACK_SCHEMA entry's new default database. */
export function parseSchemaChange(change: SessionStateChange): string {
  if (change.type !== SESSION_TRACK_SCHEMA) throw new MalformedPacket('not a schema change');
  return new PacketReader(change.data).lenencString('schema name');
}

export interface ErrPacket {
  errorCode: number;
  /** Five characters, when the message carries the `#` marker (always with CLIENT_PROTOCOL_41). */
  sqlState: string | undefined;
  /** As sent, in the connection's result character set. */
  message: Buffer;
}

export function parseErr(payload: Buffer): ErrPacket {
  const r = new PacketReader(payload);
  if (r.int1('header') !== ERR_HEADER) throw new MalformedPacket('not an ERR packet (0xFF)');
  const errorCode = r.int2('error code');
  let sqlState: string | undefined;
  if (r.peek() === 0x23 /* # */ && r.remaining >= 6) {
    r.skip(1);
    sqlState = r.bytes(5, 'SQLSTATE').toString('latin1');
  }
  return { errorCode, sqlState, message: r.rest() };
}

export function serializeErr(e: { errorCode: number; sqlState?: string | undefined; message: Buffer | string }): Buffer {
  const w = new PacketWriter().int1(ERR_HEADER).int2(e.errorCode);
  if (e.sqlState !== undefined) {
    if (!/^[0-9A-Z]{5}$/.test(e.sqlState)) throw new RangeError(`invalid SQLSTATE ${JSON.stringify(e.sqlState)}`);
    w.bytes(Buffer.from(`#${e.sqlState}`, 'latin1'));
  }
  return w.bytes(typeof e.message === 'string' ? Buffer.from(e.message, 'utf8') : e.message).build();
}

export interface EofPacket {
  warnings: number;
  statusFlags: number;
}

export function parseEof(payload: Buffer, opts: ResponseOptions): EofPacket {
  if (!isEof(payload)) throw new MalformedPacket('not an EOF packet (0xFE, under 9 bytes)');
  const r = new PacketReader(payload, 1);
  if (!hasFlag(opts.capabilities, CLIENT_PROTOCOL_41)) return { warnings: 0, statusFlags: 0 };
  const warnings = r.int2('warnings');
  const statusFlags = r.int2('status flags');
  r.expectEnd('EOF packet');
  return { warnings, statusFlags };
}

export function serializeEof(e: EofPacket, opts: ResponseOptions): Buffer {
  const w = new PacketWriter().int1(EOF_HEADER);
  if (hasFlag(opts.capabilities, CLIENT_PROTOCOL_41)) w.int2(e.warnings).int2(e.statusFlags);
  return w.build();
}

/** The server asks the client to send a local file (LOAD DATA LOCAL INFILE). */
export function parseLocalInfileRequest(payload: Buffer): { filename: Buffer } {
  if (payload[0] !== LOCAL_INFILE_HEADER) throw new MalformedPacket('not a LOCAL INFILE request (0xFB)');
  return { filename: payload.subarray(1) };
}

export function isErr(payload: Buffer): boolean {
  return payload[0] === ERR_HEADER;
}

/** An EOF packet: 0xFE and under 9 bytes (a longer 0xFE packet is a row or a 0xFE-headed OK). */
export function isEof(payload: Buffer): boolean {
  return payload[0] === EOF_HEADER && payload.length < 9;
}

/**
 * An OK packet, outside a result set's rows (where a 0x00-headed packet is a row): 0x00 and at
 * least the 7 bytes of its fixed fields (3 without CLIENT_PROTOCOL_41), or, with
 * CLIENT_DEPRECATE_EOF, the 0xFE-headed OK that ends a result set.
 */
export function isOk(payload: Buffer, opts: ResponseOptions): boolean {
  const min = hasFlag(opts.capabilities, CLIENT_PROTOCOL_41) ? 7 : 3;
  if (payload[0] === OK_HEADER) return payload.length >= min;
  return payload[0] === EOF_HEADER && hasFlag(opts.capabilities, CLIENT_DEPRECATE_EOF) && payload.length < MAX_OK_AS_EOF;
}

/** What the first packet of a reply to COM_QUERY / COM_STMT_EXECUTE is. */
export type ResponseKind = 'ok' | 'err' | 'local-infile' | 'result-set';

export function classifyResponse(payload: Buffer): ResponseKind {
  if (payload.length === 0) throw new MalformedPacket('empty response packet');
  switch (payload[0]) {
    case OK_HEADER:
      return 'ok';
    case ERR_HEADER:
      return 'err';
    case LOCAL_INFILE_HEADER:
      return 'local-infile';
    case EOF_HEADER:
      throw new MalformedPacket('unexpected EOF packet where a response begins');
    default:
      return 'result-set';
  }
}

/**
 * A packet where a result set's rows are: a row, the end of the rows (EOF, or the 0xFE-headed OK
 * under CLIENT_DEPRECATE_EOF), or an ERR that aborts the result. A text row cannot begin with
 * 0xFF, and one beginning with 0xFE (an 8-byte length prefix) is longer than an end packet.
 */
export function classifyRowPacket(payload: Buffer, opts: ResponseOptions): 'row' | 'end' | 'err' {
  if (payload.length === 0) throw new MalformedPacket('empty row packet');
  if (payload[0] === ERR_HEADER) return 'err';
  if (payload[0] === EOF_HEADER) {
    const limit = hasFlag(opts.capabilities, CLIENT_DEPRECATE_EOF) ? MAX_OK_AS_EOF : 9;
    if (payload.length < limit) return 'end';
  }
  return 'row';
}

/** The packet that ended a result set's rows, as status and warnings (EOF, or OK under CLIENT_DEPRECATE_EOF). */
export function parseRowsEnd(payload: Buffer, opts: ResponseOptions): { statusFlags: number; warnings: number; ok: OkPacket | undefined } {
  if (hasFlag(opts.capabilities, CLIENT_DEPRECATE_EOF)) {
    const ok = parseOk(payload, opts);
    return { statusFlags: ok.statusFlags, warnings: ok.warnings, ok };
  }
  const eof = parseEof(payload, opts);
  return { statusFlags: eof.statusFlags, warnings: eof.warnings, ok: undefined };
}
