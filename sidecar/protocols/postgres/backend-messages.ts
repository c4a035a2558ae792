// Server → client messages: fast decoders for what the proxy inspects and encoders for what it
// generates toward the client (its own errors, the login handshake, rewritten rows).
// Decoders take a frame's body (no header). Column values stay views into the body.
import { BodyReader, MessageBuilder, ProtocolError, emptyMessage } from './message-framer.js';

/** Type bytes of backend messages. */
export const BackendCode = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  CommandComplete: 0x43, // C
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  CopyBothResponse: 0x57, // W
  DataRow: 0x44, // D
  EmptyQueryResponse: 0x49, // I
  ErrorResponse: 0x45, // E
  FunctionCallResponse: 0x56, // V
  NegotiateProtocolVersion: 0x76, // v
  NoData: 0x6e, // n
  NoticeResponse: 0x4e, // N
  NotificationResponse: 0x41, // A
  ParameterDescription: 0x74, // t
  ParameterStatus: 0x53, // S
  ParseComplete: 0x31, // 1
  PortalSuspended: 0x73, // s
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
} as const;

/** Authentication request codes (the int32 that starts every 'R' message). */
export const AuthCode = {
  Ok: 0,
  KerberosV5: 2,
  CleartextPassword: 3,
  MD5Password: 5,
  GSS: 7,
  GSSContinue: 8,
  SSPI: 9,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

export type TransactionStatus = 'I' | 'T' | 'E';

// ───────────────────────────── decoders ─────────────────────────────

export interface RowDescriptionField {
  name: string;
  /** OID of the column's table, 0 when it is not a plain table column. */
  tableOid: number;
  /** Attribute number within that table, 0 when none. */
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeMod: number;
  /** 0 text, 1 binary. */
  format: number;
}

export function readRowDescription(body: Buffer): RowDescriptionField[] {
  const r = new BodyReader(body);
  const n = r.count();
  const fields = new Array<RowDescriptionField>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: r.cstring(),
      tableOid: r.uint32(),
      columnAttr: r.int16(),
      typeOid: r.uint32(),
      typeSize: r.int16(),
      typeMod: r.int32(),
      format: r.int16(),
    };
  }
  r.expectEnd('RowDescription');
  return fields;
}

/**
 * DataRow: writes each column value (a view into `body`, or null) into `out` from index 0 and
 * returns the column count. Reusing `out` across rows avoids an allocation per row; entries past
 * the count are left as they were.
 */
export function readDataRow(body: Buffer, out: (Buffer | null)[]): number {
  if (body.length < 2) throw new ProtocolError('truncated', 'DataRow is shorter than its contents');
  const n = body.readInt16BE(0);
  if (n < 0) throw new ProtocolError('malformed', `invalid column count ${n}`);
  let pos = 2;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > body.length) throw new ProtocolError('truncated', 'DataRow is shorter than its contents');
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len === -1) {
      out[i] = null;
      continue;
    }
    if (len < 0 || pos + len > body.length) throw new ProtocolError('truncated', 'DataRow is shorter than its contents');
    out[i] = body.subarray(pos, pos + len);
    pos += len;
  }
  if (pos !== body.length) throw new ProtocolError('malformed', 'DataRow has unexpected trailing bytes');
  return n;
}

/**
 * ErrorResponse / NoticeResponse: field type letter → value (S severity, V non-localized
 * severity, C SQLSTATE, M message, D detail, H hint, P position, W where, …).
 */
export function readErrorFields(body: Buffer): Record<string, string> {
  const r = new BodyReader(body);
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    const type = r.byte();
    if (type === 0) break;
    fields[String.fromCharCode(type)] = r.cstring();
  }
  r.expectEnd('ErrorResponse');
  return fields;
}

/** NoticeResponse has the same layout as ErrorResponse. */
export const readNoticeFields = readErrorFields;

export function readReadyForQuery(body: Buffer): TransactionStatus {
  if (body.length !== 1) throw new ProtocolError('malformed', 'ReadyForQuery must carry one status byte');
  const status = String.fromCharCode(body[0]!);
  if (status !== 'I' && status !== 'T' && status !== 'E') throw new ProtocolError('malformed', 'ReadyForQuery has an invalid status');
  return status;
}

/** CommandComplete: the command tag (`SELECT 3`, `INSERT 0 1`, …). */
/**
 * Whether a chunk read from the server ends with a ReadyForQuery (the end of a reply). A guess
 * from the last six bytes, for deciding when to write: a row that happens to end the same way
 * only makes the proxy write a little earlier.
 */
export function endsWithReadyForQuery(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 6 && chunk[n - 6] === BackendCode.ReadyForQuery && chunk.readInt32BE(n - 5) === 5;
}

export function readCommandComplete(body: Buffer): string {
  const r = new BodyReader(body);
  const tag = r.cstring();
  r.expectEnd('CommandComplete');
  return tag;
}

export function readParameterStatus(body: Buffer): { name: string; value: string } {
  const r = new BodyReader(body);
  const name = r.cstring();
  const value = r.cstring();
  r.expectEnd('ParameterStatus');
  return { name, value };
}

export interface BackendKey {
  processId: number;
  secretKey: number;
}

export function readBackendKeyData(body: Buffer): BackendKey {
  // Protocol 3.0 keys are 4 bytes; longer (3.2) keys are not supported by this proxy.
  if (body.length !== 8) throw new ProtocolError('malformed', 'BackendKeyData must be 8 bytes');
  return { processId: body.readInt32BE(0), secretKey: body.readInt32BE(4) };
}

/** Authentication*: the request code and what follows it (salt, mechanism list, SASL data). */
export function readAuthentication(body: Buffer): { code: number; payload: Buffer } {
  const r = new BodyReader(body);
  const code = r.int32();
  return { code, payload: r.rest() };
}

/** AuthenticationSASL payload: the list of mechanisms the server offers. */
export function readSASLMechanisms(payload: Buffer): string[] {
  const r = new BodyReader(payload);
  const mechanisms: string[] = [];
  for (;;) {
    const m = r.cstring();
    if (m === '') break;
    mechanisms.push(m);
  }
  r.expectEnd('AuthenticationSASL');
  return mechanisms;
}

/** ParameterDescription: parameter type OIDs. */
export function readParameterDescription(body: Buffer): number[] {
  const r = new BodyReader(body);
  const n = r.count();
  const oids = new Array<number>(n);
  for (let i = 0; i < n; i++) oids[i] = r.uint32();
  r.expectEnd('ParameterDescription');
  return oids;
}

// ───────────────────────────── encoders ─────────────────────────────

/** Severities as the non-localized V field spells them. */
export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

export interface ErrorFields {
  severity: Severity;
  /** SQLSTATE, five characters. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** ErrorResponse with both S and V severity fields, as servers since 9.6 send them. */
export function serializeError(fields: ErrorFields): Buffer {
  return serializeNoticeLike(BackendCode.ErrorResponse, fields);
}

export function serializeNotice(fields: ErrorFields): Buffer {
  return serializeNoticeLike(BackendCode.NoticeResponse, fields);
}

function serializeNoticeLike(code: number, f: ErrorFields): Buffer {
  if (!/^[0-9A-Z]{5}$/.test(f.code)) throw new ProtocolError('malformed', 'SQLSTATE must be five digits or capital letters');
  const b = new MessageBuilder(code);
  const field = (type: string, value: string) => b.byte(type.charCodeAt(0)).cstring(value);
  field('S', f.severity);
  field('V', f.severity);
  field('C', f.code);
  field('M', f.message);
  if (f.detail !== undefined) field('D', f.detail);
  if (f.hint !== undefined) field('H', f.hint);
  return b.byte(0).build();
}

function authentication(code: number, payload?: Buffer): Buffer {
  const b = new MessageBuilder(BackendCode.Authentication).int32(code);
  if (payload) b.bytes(payload);
  return b.build();
}

export function serializeAuthenticationOk(): Buffer {
  return authentication(AuthCode.Ok);
}

export function serializeAuthenticationCleartextPassword(): Buffer {
  return authentication(AuthCode.CleartextPassword);
}

export function serializeAuthenticationMD5Password(salt: Buffer): Buffer {
  if (salt.length !== 4) throw new ProtocolError('malformed', 'MD5 salt must be 4 bytes');
  return authentication(AuthCode.MD5Password, salt);
}

export function serializeParameterStatus(name: string, value: string): Buffer {
  return new MessageBuilder(BackendCode.ParameterStatus).cstring(name).cstring(value).build();
}

export function serializeBackendKeyData(processId: number, secretKey: number): Buffer {
  return new MessageBuilder(BackendCode.BackendKeyData).int32(processId).int32(secretKey).build();
}

export function serializeReadyForQuery(status: TransactionStatus): Buffer {
  return new MessageBuilder(BackendCode.ReadyForQuery).byte(status.charCodeAt(0)).build();
}

/** DataRow from column values (the masking path rebuilds rows). One allocation. */
export function serializeDataRow(values: readonly (Buffer | null)[]): Buffer {
  let size = 4 + 2;
  for (const v of values) size += 4 + (v === null ? 0 : v.length);
  const out = Buffer.allocUnsafe(1 + size);
  out[0] = BackendCode.DataRow;
  out.writeInt32BE(size, 1);
  let pos = out.writeInt16BE(values.length, 5);
  for (const v of values) {
    if (v === null) {
      pos = out.writeInt32BE(-1, pos);
    } else {
      pos = out.writeInt32BE(v.length, pos);
      pos += v.copy(out, pos);
    }
  }
  return out;
}

export function serializeRowDescription(fields: readonly RowDescriptionField[]): Buffer {
  const b = new MessageBuilder(BackendCode.RowDescription).int16(fields.length);
  for (const f of fields) {
    b.cstring(f.name).int32(f.tableOid | 0).int16(f.columnAttr).int32(f.typeOid | 0).int16(f.typeSize).int32(f.typeMod).int16(f.format);
  }
  return b.build();
}

export function serializeCommandComplete(tag: string): Buffer {
  return new MessageBuilder(BackendCode.CommandComplete).cstring(tag).build();
}

export function serializeParameterDescription(typeOids: readonly number[]): Buffer {
  const b = new MessageBuilder(BackendCode.ParameterDescription).int16(typeOids.length);
  for (const oid of typeOids) b.int32(oid | 0);
  return b.build();
}

/** NegotiateProtocolVersion: the newest minor version we speak and the options we ignored. */
export function serializeNegotiateProtocolVersion(minorVersion: number, unsupportedOptions: readonly string[]): Buffer {
  const b = new MessageBuilder(BackendCode.NegotiateProtocolVersion).int32(minorVersion).int32(unsupportedOptions.length);
  for (const o of unsupportedOptions) b.cstring(o);
  return b.build();
}

export const serializeEmptyQueryResponse = (): Buffer => emptyMessage(BackendCode.EmptyQueryResponse);
export const serializeParseComplete = (): Buffer => emptyMessage(BackendCode.ParseComplete);
export const serializeBindComplete = (): Buffer => emptyMessage(BackendCode.BindComplete);
export const serializeCloseComplete = (): Buffer => emptyMessage(BackendCode.CloseComplete);
export const serializeNoData = (): Buffer => emptyMessage(BackendCode.NoData);
export const serializePortalSuspended = (): Buffer => emptyMessage(BackendCode.PortalSuspended);
