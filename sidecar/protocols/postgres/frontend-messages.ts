// Client → server messages: decoders for what the proxy inspects, encoders for what it sends
// upstream. Decoders take a frame's body (no header) and return views where values are bytes.
//
// Encoders delegate to pg-protocol's `serialize` where it builds the same bytes; what it lacks
// (a startup message without its forced client_encoding, Bind with explicit formats, NUL checks
// on strings) is written here with MessageBuilder.
import { serialize } from 'pg-protocol';
import { BodyReader, MessageBuilder, ProtocolError, PROTOCOL_VERSION_3_0, MAX_STARTUP_PACKET_SIZE, emptyMessage } from './message-framer.js';

/** Type bytes of frontend messages. */
export const FrontendCode = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D
  Execute: 0x45, // E
  Close: 0x43, // C
  Sync: 0x53, // S
  Flush: 0x48, // H
  Terminate: 0x58, // X
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  FunctionCall: 0x46, // F
  /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse all share 'p'. */
  Password: 0x70, // p
} as const;

// ───────────────────────────── decoders ─────────────────────────────

/** Query: the SQL text. */
export function readQuery(body: Buffer): string {
  const r = new BodyReader(body);
  const sql = r.cstring();
  r.expectEnd('Query');
  return sql;
}

export interface ParseMessage {
  name: string;
  sql: string;
  /** Parameter type OIDs (0 = unspecified). */
  paramTypes: number[];
}

export function readParse(body: Buffer): ParseMessage {
  const r = new BodyReader(body);
  const name = r.cstring();
  const sql = r.cstring();
  const n = r.count();
  const paramTypes = new Array<number>(n);
  for (let i = 0; i < n; i++) paramTypes[i] = r.uint32();
  r.expectEnd('Parse');
  return { name, sql, paramTypes };
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** As sent: empty = all text, one = applies to all, else one per parameter. */
  paramFormats: number[];
  /** Parameter values as views into the body; null = SQL NULL. */
  params: (Buffer | null)[];
  resultFormats: number[];
}

export function readBind(body: Buffer): BindMessage {
  const r = new BodyReader(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats = r.int16Array();
  const n = r.count();
  const params = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) params[i] = r.lengthPrefixed();
  const resultFormats = r.int16Array();
  r.expectEnd('Bind');
  return { portal, statement, paramFormats, params, resultFormats };
}

export interface TargetedMessage {
  /** 'S' prepared statement, 'P' portal. */
  kind: 'S' | 'P';
  name: string;
}

export function readDescribe(body: Buffer): TargetedMessage {
  return readTargeted(body, 'Describe');
}

export function readClose(body: Buffer): TargetedMessage {
  return readTargeted(body, 'Close');
}

function readTargeted(body: Buffer, what: string): TargetedMessage {
  const r = new BodyReader(body);
  const kind = String.fromCharCode(r.byte());
  if (kind !== 'S' && kind !== 'P') throw new ProtocolError('malformed', `${what} has an invalid target type`);
  const name = r.cstring();
  r.expectEnd(what);
  return { kind, name };
}

export interface ExecuteMessage {
  portal: string;
  /** 0 = no limit. */
  maxRows: number;
}

export function readExecute(body: Buffer): ExecuteMessage {
  const r = new BodyReader(body);
  const portal = r.cstring();
  const maxRows = r.int32();
  r.expectEnd('Execute');
  return { portal, maxRows };
}

/** CopyData (either direction): the payload itself. */
export function readCopyData(body: Buffer): Buffer {
  return body;
}

/** CopyFail: the client's reason. */
export function readCopyFail(body: Buffer): string {
  const r = new BodyReader(body);
  const message = r.cstring();
  r.expectEnd('CopyFail');
  return message;
}

/** PasswordMessage as a cleartext password (or token): one NUL-terminated string. */
export function readPasswordMessage(body: Buffer): string {
  const r = new BodyReader(body);
  const password = r.cstring();
  r.expectEnd('PasswordMessage');
  return password;
}

/** SASLInitialResponse: mechanism name and initial client response (null when absent). */
export function readSASLInitialResponse(body: Buffer): { mechanism: string; response: Buffer | null } {
  const r = new BodyReader(body);
  const mechanism = r.cstring();
  const response = r.lengthPrefixed();
  r.expectEnd('SASLInitialResponse');
  return { mechanism, response };
}

/** SASLResponse: the whole body is mechanism data. */
export function readSASLResponse(body: Buffer): Buffer {
  return body;
}

export interface FunctionCallMessage {
  /** OID of the function to call. */
  oid: number;
  argFormats: number[];
  args: (Buffer | null)[];
  resultFormat: number;
}

export function readFunctionCall(body: Buffer): FunctionCallMessage {
  const r = new BodyReader(body);
  const oid = r.uint32();
  const argFormats = r.int16Array();
  const n = r.count();
  const args = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) args[i] = r.lengthPrefixed();
  const resultFormat = r.int16();
  r.expectEnd('FunctionCall');
  return { oid, argFormats, args, resultFormat };
}

// ───────────────────────────── encoders ─────────────────────────────

/**
 * StartupMessage. Written here rather than with pg-protocol because its version always appends
 * client_encoding=UTF8 after the given parameters (the caller pins the encoding itself).
 */
export function serializeStartupMessage(params: Record<string, string>, protocolVersion = PROTOCOL_VERSION_3_0): Buffer {
  const b = new MessageBuilder(null).int32(protocolVersion);
  for (const [name, value] of Object.entries(params)) {
    if (name === '') throw new ProtocolError('malformed', 'startup parameter with an empty name');
    b.cstring(name).cstring(value);
  }
  const out = b.byte(0).build();
  if (out.length > MAX_STARTUP_PACKET_SIZE) throw new ProtocolError('message-too-large', 'startup parameters are too large');
  return out;
}

/** SSLRequest (pg-protocol). */
export function serializeSSLRequest(): Buffer {
  return serialize.requestSsl();
}

/** CancelRequest (pg-protocol). Both keys are signed int32 as they arrived in BackendKeyData. */
export function serializeCancelRequest(processId: number, secretKey: number): Buffer {
  return serialize.cancel(processId, secretKey);
}

/** PasswordMessage with a cleartext or md5 password (pg-protocol, after a NUL check). */
export function serializePasswordMessage(password: string): Buffer {
  noNul(password);
  return serialize.password(password);
}

/** SASLInitialResponse. SCRAM messages are ASCII, so pg-protocol's string form is exact. */
export function serializeSASLInitialResponse(mechanism: string, response: string): Buffer {
  noNul(mechanism);
  return serialize.sendSASLInitialResponseMessage(mechanism, response);
}

/** SASLResponse (pg-protocol). */
export function serializeSASLResponse(response: string): Buffer {
  return serialize.sendSCRAMClientFinalMessage(response);
}

/** Query (pg-protocol, after a NUL check: an embedded NUL would cut the statement short). */
export function serializeQuery(sql: string): Buffer {
  noNul(sql);
  return serialize.query(sql);
}

/** Parse. Written here: pg-protocol prints to the console for long names. */
export function serializeParse(name: string, sql: string, paramTypes: readonly number[]): Buffer {
  const b = new MessageBuilder(FrontendCode.Parse).cstring(name).cstring(sql).int16(paramTypes.length);
  for (const oid of paramTypes) b.int32(oid | 0);
  return b.build();
}

/** Bind with explicit formats and raw values (pg-protocol's Bind derives formats from JS types). */
export function serializeBind(m: BindMessage): Buffer {
  const b = new MessageBuilder(FrontendCode.Bind).cstring(m.portal).cstring(m.statement);
  b.int16(m.paramFormats.length);
  for (const f of m.paramFormats) b.int16(f);
  b.int16(m.params.length);
  for (const p of m.params) b.lengthPrefixed(p);
  b.int16(m.resultFormats.length);
  for (const f of m.resultFormats) b.int16(f);
  return b.build();
}

export function serializeDescribe(kind: 'S' | 'P', name: string): Buffer {
  return new MessageBuilder(FrontendCode.Describe).byte(kind.charCodeAt(0)).cstring(name).build();
}

export function serializeClose(kind: 'S' | 'P', name: string): Buffer {
  return new MessageBuilder(FrontendCode.Close).byte(kind.charCodeAt(0)).cstring(name).build();
}

export function serializeExecute(portal: string, maxRows = 0): Buffer {
  return new MessageBuilder(FrontendCode.Execute).cstring(portal).int32(maxRows).build();
}

export function serializeSync(): Buffer {
  return emptyMessage(FrontendCode.Sync);
}

export function serializeFlush(): Buffer {
  return emptyMessage(FrontendCode.Flush);
}

export function serializeTerminate(): Buffer {
  return emptyMessage(FrontendCode.Terminate);
}

/** CopyData: identical in both directions, so the proxy uses it toward the client too. */
export function serializeCopyData(data: Buffer): Buffer {
  return new MessageBuilder(FrontendCode.CopyData).bytes(data).build();
}

export function serializeCopyDone(): Buffer {
  return emptyMessage(FrontendCode.CopyDone);
}

export function serializeCopyFail(message: string): Buffer {
  return new MessageBuilder(FrontendCode.CopyFail).cstring(message).build();
}

function noNul(s: string): void {
  if (s.includes('\0')) throw new ProtocolError('malformed', 'string contains a NUL byte');
}
