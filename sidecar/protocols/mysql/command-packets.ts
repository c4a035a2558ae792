// The client's command-phase packets: the command byte and, for the commands a proxy inspects or
// tracks, their fields (COM_STMT_EXECUTE's parameters decoded by type so an approver can read
// them). Serializers for the commands a proxy writes itself. Payloads only. Our own codecs:
// mysql2 only writes these (as a client); a proxy has to read them.
import {
  COM_FIELD_LIST,
  COM_INIT_DB,
  COM_QUERY,
  COM_QUIT,
  COM_SET_OPTION,
  COM_STMT_CLOSE,
  COM_STMT_EXECUTE,
  COM_STMT_FETCH,
  COM_STMT_PREPARE,
  COM_STMT_RESET,
  COM_STMT_SEND_LONG_DATA,
  MYSQL_TYPE_NULL,
  PARAM_UNSIGNED_FLAG,
  PARAMETER_COUNT_AVAILABLE,
  columnTypeName,
} from './capabilities.js';
import { binaryValueText, readBinaryValue, writeBinaryValue } from './binary-values.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

const COMMAND_NAMES: Record<number, string> = {
  0x00: 'COM_SLEEP', 0x01: 'COM_QUIT', 0x02: 'COM_INIT_DB', 0x03: 'COM_QUERY', 0x04: 'COM_FIELD_LIST',
  0x05: 'COM_CREATE_DB', 0x06: 'COM_DROP_DB', 0x07: 'COM_REFRESH', 0x08: 'COM_SHUTDOWN',
  0x09: 'COM_STATISTICS', 0x0a: 'COM_PROCESS_INFO', 0x0b: 'COM_CONNECT', 0x0c: 'COM_PROCESS_KILL',
  0x0d: 'COM_DEBUG', 0x0e: 'COM_PING', 0x0f: 'COM_TIME', 0x10: 'COM_DELAYED_INSERT',
  0x11: 'COM_CHANGE_USER', 0x12: 'COM_BINLOG_DUMP', 0x13: 'COM_TABLE_DUMP', 0x14: 'COM_CONNECT_OUT',
  0x15: 'COM_REGISTER_SLAVE', 0x16: 'COM_STMT_PREPARE', 0x17: 'COM_STMT_EXECUTE',
  0x18: 'COM_STMT_SEND_LONG_DATA', 0x19: 'COM_STMT_CLOSE', 0x1a: 'COM_STMT_RESET',
  0x1b: 'COM_SET_OPTION', 0x1c: 'COM_STMT_FETCH', 0x1d: 'COM_DAEMON', 0x1e: 'COM_BINLOG_DUMP_GTID',
  0x1f: 'COM_RESET_CONNECTION', 0x20: 'COM_CLONE', 0x21: 'COM_SUBSCRIBE_GROUP_REPLICATION_STREAM',
  0xfa: 'COM_STMT_BULK_EXECUTE', 0xfe: 'COM_MULTI',
};

/** `0x03` → 'COM_QUERY'; unknown → 'COM_UNKNOWN(0x..)'. */
export function commandName(command: number): string {
  return COMMAND_NAMES[command] ?? `COM_UNKNOWN(0x${command.toString(16).padStart(2, '0')})`;
}

/** The command byte of a command-phase packet. */
export function commandOf(payload: Buffer): number {
  if (payload.length === 0) throw new MalformedPacket('empty command packet');
  return payload[0]!;
}

function bodyOf(payload: Buffer, command: number): PacketReader {
  if (commandOf(payload) !== command) throw new MalformedPacket(`not a ${commandName(command)} packet`);
  return new PacketReader(payload, 1);
}

/**
 * COM_QUERY's statement text, as bytes (the connection's character set decides how the server
 * reads them). The proxy must not negotiate CLIENT_QUERY_ATTRIBUTES, which puts parameters first.
 */
export function parseComQuery(payload: Buffer): { query: Buffer } {
  return { query: bodyOf(payload, COM_QUERY).rest() };
}

export function serializeComQuery(query: Buffer | string): Buffer {
  return new PacketWriter().int1(COM_QUERY).bytes(typeof query === 'string' ? Buffer.from(query, 'utf8') : query).build();
}

export function parseComInitDb(payload: Buffer): { schema: Buffer } {
  return { schema: bodyOf(payload, COM_INIT_DB).rest() };
}

/** COM_FIELD_LIST: a table's columns, optionally filtered by a LIKE wildcard. */
export function parseComFieldList(payload: Buffer): { table: Buffer; wildcard: Buffer } {
  const r = bodyOf(payload, COM_FIELD_LIST);
  const table = r.nulBytes('table');
  return { table, wildcard: r.rest() };
}

export function parseComStmtPrepare(payload: Buffer): { query: Buffer } {
  return { query: bodyOf(payload, COM_STMT_PREPARE).rest() };
}

/** A bound parameter's type: MYSQL_TYPE_* and the unsigned flag. */
export interface ParameterType {
  type: number;
  unsigned: boolean;
}

export interface ExecuteParameter extends ParameterType {
  /** The value's bytes (binary-values.ts), null for NULL, undefined when sent by COM_STMT_SEND_LONG_DATA. */
  value: Buffer | null | undefined;
}

export interface ComStmtExecute {
  /** MariaDB: 0xFFFFFFFF means the statement most recently prepared on this connection. */
  statementId: number;
  flags: number;
  /** flags' cursor bits (CURSOR_TYPE_*). */
  cursorType: number;
  iterationCount: number;
  /** Whether this packet (re)binds the parameter types; otherwise the previous binding applies. */
  newParamsBound: boolean;
  /** Types as they apply to this execution (newly bound or the previous ones). */
  types: ParameterType[];
  parameters: ExecuteParameter[];
}

/** The last statement id in MariaDB's shorthand for "the statement just prepared". */
export const LAST_PREPARED_STATEMENT_ID = 0xffffffff;

export interface ExecuteContext {
  /** The parameter count the server's COM_STMT_PREPARE OK gave for this statement. */
  paramCount: number;
  /** The types bound by an earlier execute, for packets that do not rebind. */
  previousTypes?: ParameterType[] | undefined;
  /** Parameters whose value this statement received by COM_STMT_SEND_LONG_DATA since its last execute. */
  longDataParameters?: ReadonlySet<number> | undefined;
}

export function parseComStmtExecute(payload: Buffer, ctx: ExecuteContext): ComStmtExecute {
  const r = bodyOf(payload, COM_STMT_EXECUTE);
  const statementId = r.int4('statement id');
  const flags = r.int1('flags');
  if (flags & PARAMETER_COUNT_AVAILABLE) throw new MalformedPacket('COM_STMT_EXECUTE with query attributes (PARAMETER_COUNT_AVAILABLE) is not supported');
  const iterationCount = r.int4('iteration count');
  const result: ComStmtExecute = { statementId, flags, cursorType: flags & 0x07, iterationCount, newParamsBound: false, types: [], parameters: [] };
  const n = ctx.paramCount;
  if (n === 0) {
    r.expectEnd('COM_STMT_EXECUTE');
    return result;
  }
  const nullBitmap = r.bytes((n + 7) >> 3, 'NULL bitmap');
  result.newParamsBound = r.int1('new params bound flag') === 1;
  if (result.newParamsBound) {
    for (let i = 0; i < n; i++) {
      const type = r.int1(`parameter ${i + 1} type`);
      const flag = r.int1(`parameter ${i + 1} flags`);
      result.types.push({ type, unsigned: (flag & PARAM_UNSIGNED_FLAG) !== 0 });
    }
  } else {
    if (!ctx.previousTypes || ctx.previousTypes.length !== n) throw new MalformedPacket('COM_STMT_EXECUTE without parameter types, and none bound before');
    result.types = ctx.previousTypes.map((t) => ({ ...t }));
  }
  for (let i = 0; i < n; i++) {
    const t = result.types[i]!;
    let value: Buffer | null | undefined;
    if ((nullBitmap[i >> 3]! & (1 << (i & 7))) !== 0 || t.type === MYSQL_TYPE_NULL) value = null;
    else if (ctx.longDataParameters?.has(i)) value = undefined;
    else value = readBinaryValue(r, t.type);
    result.parameters.push({ ...t, value });
  }
  r.expectEnd('COM_STMT_EXECUTE');
  return result;
}

export function serializeComStmtExecute(e: Omit<ComStmtExecute, 'cursorType'>): Buffer {
  const w = new PacketWriter().int1(COM_STMT_EXECUTE).int4(e.statementId).int1(e.flags).int4(e.iterationCount);
  const n = e.parameters.length;
  if (n === 0) return w.build();
  const bitmap = Buffer.alloc((n + 7) >> 3);
  e.parameters.forEach((p, i) => {
    if (p.value === null) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  w.bytes(bitmap).int1(e.newParamsBound ? 1 : 0);
  if (e.newParamsBound) for (const p of e.parameters) w.int1(p.type).int1(p.unsigned ? PARAM_UNSIGNED_FLAG : 0);
  for (const p of e.parameters) if (p.value) writeBinaryValue(w, p.type, p.value);
  return w.build();
}

/** A parameter as an approver reads it: NULL, the long data marker, or its value as text. */
export function parameterText(p: ExecuteParameter): string {
  if (p.value === null) return 'NULL';
  if (p.value === undefined) return '<sent as long data>';
  return binaryValueText(p.type, p.unsigned, p.value);
}

/** `MYSQL_TYPE_LONG` unsigned → 'LONG UNSIGNED', for an approver's view of a parameter. */
export function parameterTypeText(p: ParameterType): string {
  return `${columnTypeName(p.type)}${p.unsigned ? ' UNSIGNED' : ''}`;
}

export function parseComStmtSendLongData(payload: Buffer): { statementId: number; paramId: number; data: Buffer } {
  const r = bodyOf(payload, COM_STMT_SEND_LONG_DATA);
  const statementId = r.int4('statement id');
  const paramId = r.int2('parameter id');
  return { statementId, paramId, data: r.rest() };
}

export function parseComStmtFetch(payload: Buffer): { statementId: number; rows: number } {
  const r = bodyOf(payload, COM_STMT_FETCH);
  const statementId = r.int4('statement id');
  const rows = r.int4('number of rows');
  r.expectEnd('COM_STMT_FETCH');
  return { statementId, rows };
}

function parseStatementIdOnly(payload: Buffer, command: number): { statementId: number } {
  const r = bodyOf(payload, command);
  const statementId = r.int4('statement id');
  r.expectEnd(commandName(command));
  return { statementId };
}

export function parseComStmtClose(payload: Buffer): { statementId: number } {
  return parseStatementIdOnly(payload, COM_STMT_CLOSE);
}

export function parseComStmtReset(payload: Buffer): { statementId: number } {
  return parseStatementIdOnly(payload, COM_STMT_RESET);
}

/** COM_SET_OPTION: MYSQL_OPTION_MULTI_STATEMENTS_ON (0) or _OFF (1). */
export function parseComSetOption(payload: Buffer): { option: number } {
  const r = bodyOf(payload, COM_SET_OPTION);
  const option = r.int2('option');
  r.expectEnd('COM_SET_OPTION');
  return { option };
}

export function serializeComStmtClose(statementId: number): Buffer {
  return new PacketWriter().int1(COM_STMT_CLOSE).int4(statementId).build();
}

export function serializeComQuit(): Buffer {
  return Buffer.from([COM_QUIT]);
}
