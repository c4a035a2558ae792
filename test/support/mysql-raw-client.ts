// A raw MySQL protocol client for tests: it speaks the handshake (HandshakeResponse41 with
// mysql_clear_password, answering an auth switch the same way) and then sends whatever packets
// a test builds, byte for byte, so a test can send what no client library would (an unknown
// statement id, a charset id, a huge length header, invalid UTF-8). Replies are parsed just
// enough to tell OK, ERR, result sets, prepare replies and a LOCAL INFILE request apart; every
// byte received is also handed to `onBytes` (the adversarial corpus checks them for canaries).
// Written from the MySQL client/server protocol documentation; no EOF deprecation, so result
// sets end with EOF packets.
import net from 'node:net';

export const CLIENT = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  COMPRESS: 0x20,
  LOCAL_FILES: 0x80,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  DEPRECATE_EOF: 0x1000000,
} as const;

/** What the raw client asks for unless told otherwise: multi-statements on, local files off. */
export const DEFAULT_CAPABILITIES =
  CLIENT.LONG_PASSWORD |
  CLIENT.FOUND_ROWS |
  CLIENT.LONG_FLAG |
  CLIENT.CONNECT_WITH_DB |
  CLIENT.PROTOCOL_41 |
  CLIENT.TRANSACTIONS |
  CLIENT.SECURE_CONNECTION |
  CLIENT.MULTI_STATEMENTS |
  CLIENT.MULTI_RESULTS |
  CLIENT.PS_MULTI_RESULTS |
  CLIENT.PLUGIN_AUTH |
  CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA;

export const COM = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

const SERVER_MORE_RESULTS_EXISTS = 0x0008;

export interface RawPacket {
  sequenceId: number;
  payload: Buffer;
}

export interface Greeting {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  capabilities: number;
  characterSet: number;
  authPluginName: string;
  scramble: Buffer;
}

export interface ErrReply {
  code: number;
  sqlState: string;
  message: string;
}

export interface OkReply {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  info: string;
}

export interface ColumnDef {
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  characterSet: number;
  type: number;
}

export interface ResultSet {
  columns: ColumnDef[];
  /** Text rows decoded (lenenc strings, NULL as null); binary rows as their raw payloads. */
  rows: (Buffer | null)[][];
  binaryRows: Buffer[];
  status: number;
}

/** Everything one command's reply held, in order. */
export interface Reply {
  oks: OkReply[];
  results: ResultSet[];
  error?: ErrReply;
  /** The server (or a proxy) asked the client for a local file: the file name it asked for. */
  localInfile?: string;
  packets: RawPacket[];
}

export interface PrepareReply {
  statementId: number;
  columns: number;
  params: number;
  error?: ErrReply;
  packets: RawPacket[];
}

/** A parameter value; `LONG_DATA` marks one whose value was streamed with COM_STMT_SEND_LONG_DATA (no bytes in the execute). */
export type Param = string | Buffer | number | null | typeof LONG_DATA;

export const LONG_DATA = Symbol('long data');

export class RawMysqlClient {
  private buffered = Buffer.alloc(0);
  private readonly all: Buffer[] = [];
  private readonly packets: RawPacket[] = [];
  private isClosed = false;
  private wake: (() => void) | null = null;
  greeting?: Greeting;

  private constructor(
    readonly socket: net.Socket,
    private readonly onBytes?: (bytes: Buffer) => void,
  ) {
    socket.on('data', (d: Buffer) => {
      this.all.push(d);
      this.onBytes?.(d);
      this.buffered = Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4) {
        const len = this.buffered.readUIntLE(0, 3);
        if (this.buffered.length < 4 + len) break;
        this.packets.push({ sequenceId: this.buffered[3]!, payload: this.buffered.subarray(4, 4 + len) });
        this.buffered = this.buffered.subarray(4 + len);
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  /** Opens a TCP connection; nothing is read or sent yet. */
  static connect(port: number, opts: { host?: string; onBytes?: (bytes: Buffer) => void } = {}): Promise<RawMysqlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, opts.host ?? '127.0.0.1');
      const client = new RawMysqlClient(socket, opts.onBytes);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Every byte received so far. */
  bytes(): Buffer {
    return Buffer.concat(this.all);
  }

  /** The next packet; rejects on close or timeout. */
  async next(timeoutMs = 15_000): Promise<RawPacket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.packets.shift();
      if (p) return p;
      if (this.isClosed) throw new ConnectionClosed('the connection closed while a packet was expected');
      const left = deadline - Date.now();
      if (left <= 0) throw new ReplyTimeout(`no packet within ${timeoutMs} ms`);
      await this.sleepUntilData(left);
    }
  }

  /** Resolves once the server has closed the connection (packets left are returned); rejects after the timeout. */
  async untilClosed(timeoutMs = 15_000): Promise<RawPacket[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ReplyTimeout(`the connection was still open after ${timeoutMs} ms`);
      await this.sleepUntilData(left);
    }
    return this.packets.splice(0);
  }

  /** Packets already received and not consumed. */
  pending(): RawPacket[] {
    return [...this.packets];
  }

  private sleepUntilData(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Writes bytes as they are (no framing). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Frames one payload (split at 16 MiB - 1 like the protocol says) and writes it. */
  sendPacket(payload: Buffer, sequenceId = 0): void {
    this.socket.write(framePackets(payload, sequenceId));
  }

  async readGreeting(timeoutMs = 10_000): Promise<Greeting | ErrReply> {
    const p = await this.next(timeoutMs);
    if (p.payload[0] === 0xff) return parseErr(p.payload);
    this.greeting = parseGreeting(p.payload);
    return this.greeting;
  }

  /**
   * Reads the greeting and logs in with `password` in clear (mysql_clear_password), answering an
   * auth switch with the same password. Resolves with the final OK or ERR.
   */
  async login(opts: {
    password: string;
    user?: string;
    database?: string;
    collation?: number;
    capabilities?: number;
    /** The plugin named in the response; mysql_clear_password unless a test wants a switch. */
    plugin?: string;
    /** The first auth answer as sent (default: the password and a NUL). */
    authResponse?: Buffer;
  }): Promise<OkReply | ErrReply> {
    if (!this.greeting) {
      const g = await this.readGreeting();
      if ('code' in g) return g;
    }
    const plugin = opts.plugin ?? 'mysql_clear_password';
    const clear = Buffer.concat([Buffer.from(opts.password, 'utf8'), Buffer.from([0])]);
    this.sendPacket(
      handshakeResponse41({
        capabilities: opts.capabilities ?? DEFAULT_CAPABILITIES,
        collation: opts.collation ?? 45,
        user: opts.user ?? 'ci',
        authResponse: opts.authResponse ?? (plugin === 'mysql_clear_password' ? clear : Buffer.alloc(20, 1)),
        ...(opts.database !== undefined ? { database: opts.database } : {}),
        plugin,
      }),
      1,
    );
    for (;;) {
      const p = await this.next();
      const head = p.payload[0];
      if (head === 0x00) return parseOk(p.payload);
      if (head === 0xff) return parseErr(p.payload);
      if (head === 0xfe) {
        // AuthSwitchRequest: answer in clear whatever plugin is named (the proxy asks for clear text).
        this.sendPacket(clear, p.sequenceId + 1);
        continue;
      }
      throw new Error(`unexpected login packet 0x${(head ?? 0).toString(16)}`);
    }
  }

  /** COM_QUERY with `sql` (a string is sent as UTF-8; a Buffer byte for byte); reads the whole reply. */
  query(sql: string | Buffer, timeoutMs?: number): Promise<Reply> {
    this.sendCommand(COM.QUERY, typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql);
    return this.readReply(false, timeoutMs);
  }

  sendCommand(command: number, body: Buffer = Buffer.alloc(0)): void {
    this.sendPacket(Buffer.concat([Buffer.from([command]), body]), 0);
  }

  async prepare(sql: string | Buffer, timeoutMs?: number): Promise<PrepareReply> {
    this.sendCommand(COM.STMT_PREPARE, typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql);
    const first = await this.next(timeoutMs);
    const packets = [first];
    if (first.payload[0] === 0xff) return { statementId: -1, columns: 0, params: 0, error: parseErr(first.payload), packets };
    if (first.payload[0] !== 0x00) throw new Error(`unexpected prepare reply 0x${first.payload[0]!.toString(16)}`);
    const statementId = first.payload.readUInt32LE(1);
    const columns = first.payload.readUInt16LE(5);
    const params = first.payload.readUInt16LE(7);
    for (const n of [params, columns]) {
      if (n === 0) continue;
      for (let i = 0; i < n; i++) packets.push(await this.next(timeoutMs));
      packets.push(await this.next(timeoutMs)); // EOF
    }
    return { statementId, columns, params, packets };
  }

  /** COM_STMT_EXECUTE of `statementId` with string/number/NULL parameters; reads the reply (binary rows). */
  execute(statementId: number, params: Param[] = [], opts: { flags?: number; timeoutMs?: number } = {}): Promise<Reply> {
    this.sendPacket(stmtExecute(statementId, params, opts.flags ?? 0), 0);
    return this.readReply(true, opts.timeoutMs);
  }

  /** COM_STMT_SEND_LONG_DATA (no reply). */
  sendLongData(statementId: number, paramId: number, data: Buffer): void {
    const head = Buffer.alloc(6);
    head.writeUInt32LE(statementId >>> 0, 0);
    head.writeUInt16LE(paramId, 4);
    this.sendCommand(COM.STMT_SEND_LONG_DATA, Buffer.concat([head, data]));
  }

  /** COM_STMT_CLOSE (no reply). */
  closeStatement(statementId: number): void {
    const id = Buffer.alloc(4);
    id.writeUInt32LE(statementId >>> 0, 0);
    this.sendCommand(COM.STMT_CLOSE, id);
  }

  /** A command answered by OK or ERR (COM_PING, COM_RESET_CONNECTION, COM_STMT_RESET…). */
  async simple(command: number, body: Buffer = Buffer.alloc(0), timeoutMs?: number): Promise<Reply> {
    this.sendCommand(command, body);
    return this.readReply(false, timeoutMs);
  }

  /** Reads one command's reply: OKs, result sets (all of them while more results exist), or an ERR. */
  async readReply(binary: boolean, timeoutMs = 15_000): Promise<Reply> {
    const reply: Reply = { oks: [], results: [], packets: [] };
    const take = async () => {
      const p = await this.next(timeoutMs);
      reply.packets.push(p);
      return p;
    };
    for (;;) {
      const p = await take();
      const head = p.payload[0];
      if (head === 0xff) {
        reply.error = parseErr(p.payload);
        return reply;
      }
      if (head === 0x00) {
        const ok = parseOk(p.payload);
        reply.oks.push(ok);
        if (ok.status & SERVER_MORE_RESULTS_EXISTS) continue;
        return reply;
      }
      if (head === 0xfe && p.payload.length < 9) {
        // An EOF in place of an OK: COM_SET_OPTION's answer (MariaDB's is the bare 0xFE byte).
        reply.oks.push({ affectedRows: 0, lastInsertId: 0, warnings: 0, info: '', status: p.payload.length >= 5 ? p.payload.readUInt16LE(3) : 0 });
        return reply;
      }
      if (head === 0xfb) {
        reply.localInfile = p.payload.subarray(1).toString('utf8');
        return reply;
      }
      const count = readLenenc(p.payload, 0).value;
      const set: ResultSet = { columns: [], rows: [], binaryRows: [], status: 0 };
      for (let i = 0; i < count; i++) set.columns.push(parseColumn((await take()).payload));
      const eof = await take();
      if (eof.payload[0] !== 0xfe) throw new Error('expected EOF after column definitions');
      let status = eof.payload.readUInt16LE(3);
      // A cursor was opened: no rows follow until COM_STMT_FETCH.
      if (!(status & 0x0040)) {
        for (;;) {
          const row = await take();
          if (row.payload[0] === 0xfe && row.payload.length < 9) {
            status = row.payload.readUInt16LE(3);
            break;
          }
          if (row.payload[0] === 0xff) {
            reply.results.push(set);
            reply.error = parseErr(row.payload);
            return reply;
          }
          if (binary) set.binaryRows.push(row.payload);
          else set.rows.push(parseTextRow(row.payload, count));
        }
      }
      set.status = status;
      reply.results.push(set);
      if (status & SERVER_MORE_RESULTS_EXISTS) continue;
      return reply;
    }
  }

  end(): void {
    this.socket.destroy();
  }
}

export class ConnectionClosed extends Error {}
export class ReplyTimeout extends Error {}

/** Frames a payload as one or more packets (16 MiB - 1 per packet, an empty one after an exact multiple). */
export function framePackets(payload: Buffer, sequenceId = 0): Buffer {
  const MAX = 0xffffff;
  const out: Buffer[] = [];
  let seq = sequenceId;
  let offset = 0;
  for (;;) {
    const len = Math.min(MAX, payload.length - offset);
    const head = Buffer.alloc(4);
    head.writeUIntLE(len, 0, 3);
    head[3] = seq & 0xff;
    out.push(head, payload.subarray(offset, offset + len));
    seq++;
    offset += len;
    if (len < MAX) break;
  }
  return Buffer.concat(out);
}

export function handshakeResponse41(opts: {
  capabilities: number;
  collation: number;
  user: string;
  authResponse: Buffer;
  database?: string;
  plugin?: string;
  maxPacket?: number;
}): Buffer {
  let caps = opts.capabilities >>> 0;
  if (opts.database !== undefined) caps |= CLIENT.CONNECT_WITH_DB;
  else caps &= ~CLIENT.CONNECT_WITH_DB;
  const head = Buffer.alloc(32);
  head.writeUInt32LE(caps >>> 0, 0);
  head.writeUInt32LE(opts.maxPacket ?? 16 * 1024 * 1024, 4);
  head[8] = opts.collation & 0xff;
  const parts: Buffer[] = [head, Buffer.from(opts.user + '\0', 'utf8')];
  if (caps & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) parts.push(lenenc(opts.authResponse.length), opts.authResponse);
  else parts.push(Buffer.from([opts.authResponse.length]), opts.authResponse);
  if (opts.database !== undefined) parts.push(Buffer.from(opts.database + '\0', 'utf8'));
  if (caps & CLIENT.PLUGIN_AUTH) parts.push(Buffer.from((opts.plugin ?? 'mysql_clear_password') + '\0', 'utf8'));
  return Buffer.concat(parts);
}

/** COM_STMT_EXECUTE with every parameter sent as a string (VAR_STRING), a LONGLONG, NULL or long data (STRING, no bytes). */
export function stmtExecute(statementId: number, params: Param[], flags = 0): Buffer {
  const head = Buffer.alloc(10);
  head[0] = COM.STMT_EXECUTE;
  head.writeUInt32LE(statementId >>> 0, 1);
  head[5] = flags;
  head.writeUInt32LE(1, 6);
  if (params.length === 0) return head;
  const bitmap = Buffer.alloc((params.length + 7) >> 3);
  const types: Buffer[] = [];
  const values: Buffer[] = [];
  params.forEach((p, i) => {
    if (p === null) {
      bitmap[i >> 3]! |= 1 << (i & 7);
      types.push(Buffer.from([0x06, 0]));
    } else if (p === LONG_DATA) {
      types.push(Buffer.from([0xfe, 0]));
    } else if (typeof p === 'number') {
      types.push(Buffer.from([0x08, 0]));
      const v = Buffer.alloc(8);
      v.writeBigInt64LE(BigInt(p));
      values.push(v);
    } else {
      const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      types.push(Buffer.from([0xfd, 0]));
      values.push(lenenc(bytes.length), bytes);
    }
  });
  return Buffer.concat([head, bitmap, Buffer.from([1]), ...types, ...values]);
}

export function lenenc(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xfc;
    b.writeUInt16LE(n, 1);
    return b;
  }
  if (n < 0x1000000) {
    const b = Buffer.alloc(4);
    b[0] = 0xfd;
    b.writeUIntLE(n, 1, 3);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

function readLenenc(buf: Buffer, offset: number): { value: number; next: number } {
  const first = buf[offset]!;
  if (first < 0xfb) return { value: first, next: offset + 1 };
  if (first === 0xfc) return { value: buf.readUInt16LE(offset + 1), next: offset + 3 };
  if (first === 0xfd) return { value: buf.readUIntLE(offset + 1, 3), next: offset + 4 };
  if (first === 0xfe) return { value: Number(buf.readBigUInt64LE(offset + 1)), next: offset + 9 };
  return { value: -1, next: offset + 1 };
}

function readLenencString(buf: Buffer, offset: number): { value: Buffer; next: number } {
  const { value, next } = readLenenc(buf, offset);
  return { value: buf.subarray(next, next + value), next: next + value };
}

export function parseErr(payload: Buffer): ErrReply {
  const code = payload.readUInt16LE(1);
  let offset = 3;
  let sqlState = '';
  if (payload[3] === 0x23) {
    sqlState = payload.subarray(4, 9).toString('latin1');
    offset = 9;
  }
  return { code, sqlState, message: payload.subarray(offset).toString('utf8') };
}

export function parseOk(payload: Buffer): OkReply {
  const a = readLenenc(payload, 1);
  const b = readLenenc(payload, a.next);
  return {
    affectedRows: a.value,
    lastInsertId: b.value,
    status: payload.readUInt16LE(b.next),
    warnings: payload.readUInt16LE(b.next + 2),
    info: payload.subarray(b.next + 4).toString('utf8'),
  };
}

function parseGreeting(p: Buffer): Greeting {
  const protocolVersion = p[0]!;
  let o = 1;
  const end = p.indexOf(0, o);
  const serverVersion = p.subarray(o, end).toString('latin1');
  o = end + 1;
  const connectionId = p.readUInt32LE(o);
  o += 4;
  const part1 = p.subarray(o, o + 8);
  o += 9;
  const capLow = p.readUInt16LE(o);
  o += 2;
  const characterSet = p[o]!;
  o += 1 + 2; // status
  const capHigh = p.readUInt16LE(o);
  o += 2;
  const authLen = p[o]!;
  o += 1 + 10;
  const part2Len = Math.max(13, authLen - 8);
  const part2 = p.subarray(o, o + part2Len - 1);
  o += part2Len;
  const pluginEnd = p.indexOf(0, o);
  const authPluginName = p.subarray(o, pluginEnd === -1 ? p.length : pluginEnd).toString('latin1');
  return { protocolVersion, serverVersion, connectionId, capabilities: (capLow | (capHigh << 16)) >>> 0, characterSet, authPluginName, scramble: Buffer.concat([part1, part2]) };
}

function parseColumn(p: Buffer): ColumnDef {
  let o = 0;
  const fields: string[] = [];
  for (let i = 0; i < 6; i++) {
    const s = readLenencString(p, o);
    fields.push(s.value.toString('utf8'));
    o = s.next;
  }
  o += 1; // length of fixed fields
  const characterSet = p.readUInt16LE(o);
  const type = p[o + 6]!;
  return { schema: fields[1]!, table: fields[2]!, orgTable: fields[3]!, name: fields[4]!, orgName: fields[5]!, characterSet, type };
}

function parseTextRow(p: Buffer, count: number): (Buffer | null)[] {
  const row: (Buffer | null)[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (p[o] === 0xfb) {
      row.push(null);
      o++;
      continue;
    }
    const s = readLenencString(p, o);
    row.push(s.value);
    o = s.next;
  }
  return row;
}
