// The packets of a result set and of a prepare reply: column count, ColumnDefinition41, text and
// binary rows, COM_STMT_PREPARE_OK. Payloads only. Our own codecs: mysql2 parses these into
// JS values for a client; a proxy needs each value's bytes to mask and re-serialize exactly.
import { UNSIGNED_FLAG, hasFlag } from './capabilities.js';
import { readBinaryValue, writeBinaryValue } from './binary-values.js';
import { MalformedPacket, PacketReader, PacketWriter } from './wire-reader.js';

/**
 * A result set's first packet: the number of columns. With MariaDB's CACHE_METADATA or MySQL's
 * OPTIONAL_RESULTSET_METADATA negotiated, a byte follows saying whether column definitions do.
 */
export function parseColumnCount(payload: Buffer, opts: { metadataFollowsFlag?: boolean } = {}): { count: number; metadataFollows: boolean } {
  const r = new PacketReader(payload);
  const count = r.lenencInt('column count');
  if (count === 0) throw new MalformedPacket('a result set with no columns');
  const metadataFollows = opts.metadataFollowsFlag ? r.int1('metadata follows') !== 0 : true;
  r.expectEnd('column count');
  return { count, metadataFollows };
}

export function serializeColumnCount(count: number): Buffer {
  return new PacketWriter().lenencInt(count).build();
}

export interface ColumnDefinition41 {
  catalog: string;
  schema: string;
  /** The table as the query named it (an alias), `orgTable` the table itself. */
  table: string;
  orgTable: string;
  /** The column as the query named it (an alias), `orgName` the column itself. */
  name: string;
  orgName: string;
  /** MariaDB's extended type info (MARIADB_CLIENT_EXTENDED_METADATA), as sent. */
  extendedMetadata?: Buffer | undefined;
  /** The collation id of the values. */
  characterSet: number;
  columnLength: number;
  /** MYSQL_TYPE_*. */
  type: number;
  flags: number;
  decimals: number;
  /** Only in COM_FIELD_LIST replies: the column's default value. */
  defaultValue?: Buffer | null | undefined;
}

export function parseColumnDefinition41(payload: Buffer, opts: { extendedMetadata?: boolean } = {}): ColumnDefinition41 {
  const r = new PacketReader(payload);
  const catalog = r.lenencString('catalog');
  const schema = r.lenencString('schema');
  const table = r.lenencString('table');
  const orgTable = r.lenencString('org_table');
  const name = r.lenencString('name');
  const orgName = r.lenencString('org_name');
  const extendedMetadata = opts.extendedMetadata ? Buffer.from(r.lenencBytes('extended metadata')) : undefined;
  const fixedLength = r.lenencInt('length of fixed fields');
  if (fixedLength < 10) throw new MalformedPacket(`column definition fixed fields too short: ${fixedLength}`);
  const fixed = new PacketReader(r.bytes(fixedLength, 'column definition fixed fields'));
  const characterSet = fixed.int2('character set');
  const columnLength = fixed.int4('column length');
  const type = fixed.int1('column type');
  const flags = fixed.int2('column flags');
  const decimals = fixed.int1('decimals');
  const defaultValue = r.atEnd() ? undefined : r.lenencBytesOrNull('default value');
  r.expectEnd('column definition');
  const def: ColumnDefinition41 = { catalog, schema, table, orgTable, name, orgName, characterSet, columnLength, type, flags, decimals };
  if (extendedMetadata !== undefined) def.extendedMetadata = extendedMetadata;
  if (defaultValue !== undefined) def.defaultValue = defaultValue === null ? null : Buffer.from(defaultValue);
  return def;
}

export function serializeColumnDefinition41(c: ColumnDefinition41): Buffer {
  const w = new PacketWriter()
    .lenencString(c.catalog)
    .lenencString(c.schema)
    .lenencString(c.table)
    .lenencString(c.orgTable)
    .lenencString(c.name)
    .lenencString(c.orgName);
  if (c.extendedMetadata !== undefined) w.lenencString(c.extendedMetadata);
  w.lenencInt(0x0c).int2(c.characterSet).int4(c.columnLength).int1(c.type).int2(c.flags).int1(c.decimals).zeros(2);
  if (c.defaultValue === null) w.int1(0xfb);
  else if (c.defaultValue !== undefined) w.lenencString(c.defaultValue);
  return w.build();
}

/** A text-protocol row: each value's bytes as the server rendered them, or null. */
export function parseTextRow(payload: Buffer, columnCount: number): Array<Buffer | null> {
  const r = new PacketReader(payload);
  const values: Array<Buffer | null> = [];
  for (let i = 0; i < columnCount; i++) values.push(r.lenencBytesOrNull(`column ${i + 1} value`));
  r.expectEnd(`text row of ${columnCount} column(s)`);
  return values;
}

export function serializeTextRow(values: ReadonlyArray<Buffer | null>): Buffer {
  const w = new PacketWriter();
  for (const v of values) {
    if (v === null) w.int1(0xfb);
    else w.lenencString(v);
  }
  return w.build();
}

/** What decoding a binary row needs of each column. ColumnDefinition41 is one. */
export interface BinaryColumn {
  type: number;
  flags: number;
}

/** A binary row's NULL bitmap starts at bit 2 (bits 0 and 1 are reserved). */
const ROW_BITMAP_OFFSET = 2;

/** A binary-protocol row: each value's bytes (see binary-values.ts), or null. */
export function parseBinaryRow(payload: Buffer, columns: ReadonlyArray<BinaryColumn>): Array<Buffer | null> {
  const r = new PacketReader(payload);
  if (r.int1('binary row header') !== 0x00) throw new MalformedPacket('binary row does not start with 0x00');
  const bitmap = r.bytes((columns.length + 7 + ROW_BITMAP_OFFSET) >> 3, 'NULL bitmap');
  const values: Array<Buffer | null> = [];
  columns.forEach((col, i) => {
    const bit = i + ROW_BITMAP_OFFSET;
    values.push((bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0 ? null : readBinaryValue(r, col.type));
  });
  r.expectEnd(`binary row of ${columns.length} column(s)`);
  return values;
}

export function serializeBinaryRow(columns: ReadonlyArray<BinaryColumn>, values: ReadonlyArray<Buffer | null>): Buffer {
  if (values.length !== columns.length) throw new RangeError(`${values.length} values for ${columns.length} columns`);
  const bitmap = Buffer.alloc((columns.length + 7 + ROW_BITMAP_OFFSET) >> 3);
  const w = new PacketWriter().int1(0x00).bytes(bitmap);
  columns.forEach((col, i) => {
    const v = values[i]!;
    if (v === null) {
      const bit = i + ROW_BITMAP_OFFSET;
      bitmap[bit >> 3]! |= 1 << (bit & 7);
    } else {
      writeBinaryValue(w, col.type, v);
    }
  });
  return w.build();
}

/** Whether a column's integers are unsigned (for decoding its binary values). */
export function isUnsignedColumn(col: BinaryColumn): boolean {
  return hasFlag(col.flags, UNSIGNED_FLAG);
}

/** The server's reply to COM_STMT_PREPARE; parameter then column definitions follow. */
export interface StmtPrepareOk {
  statementId: number;
  columnCount: number;
  paramCount: number;
  warnings: number;
  /** MySQL 8 with CLIENT_OPTIONAL_RESULTSET_METADATA: whether definitions follow. */
  metadataFollows: boolean | undefined;
}

export function parseStmtPrepareOk(payload: Buffer): StmtPrepareOk {
  const r = new PacketReader(payload);
  if (r.int1('header') !== 0x00) throw new MalformedPacket('not a COM_STMT_PREPARE OK (0x00)');
  const statementId = r.int4('statement id');
  const columnCount = r.int2('column count');
  const paramCount = r.int2('parameter count');
  r.skip(1, 'reserved');
  const warnings = r.atEnd() ? 0 : r.int2('warning count');
  const metadataFollows = r.atEnd() ? undefined : r.int1('metadata follows') !== 0;
  r.expectEnd('COM_STMT_PREPARE OK');
  return { statementId, columnCount, paramCount, warnings, metadataFollows };
}

export function serializeStmtPrepareOk(p: StmtPrepareOk): Buffer {
  const w = new PacketWriter().int1(0).int4(p.statementId).int2(p.columnCount).int2(p.paramCount).int1(0).int2(p.warnings);
  if (p.metadataFollows !== undefined) w.int1(p.metadataFollows ? 1 : 0);
  return w.build();
}
