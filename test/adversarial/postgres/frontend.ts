// Frontend (client → server) messages for the corpus, built byte by byte so a case can send any
// bytes at all: SQL text may be a Buffer (invalid UTF-8, other encodings), lengths are computed
// from the bytes. One message type per function, no I/O.
type Bytes = string | Buffer;

const bytes = (s: Bytes): Buffer => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'));
const cstr = (s: Bytes): Buffer => Buffer.concat([bytes(s), Buffer.from([0])]);
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** A typed message: type byte, Int32 length (itself included), body. */
export function message(type: string, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(4 + payload.length), payload]);
}

/** StartupMessage, protocol 3.0. */
export function startup(params: Record<string, Bytes>): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  return Buffer.concat([int32(8 + body.length), int32(196608), body]);
}

export const sslRequest = (): Buffer => Buffer.concat([int32(8), int32(80877103)]);
export const cancelRequest = (processId: number, secretKey: number): Buffer => Buffer.concat([int32(16), int32(80877102), int32(processId), int32(secretKey)]);
export const password = (s: Bytes): Buffer => message('p', cstr(s));
export const query = (sql: Bytes): Buffer => message('Q', cstr(sql));

export function parse(name: string, sql: Bytes, types: number[] = []): Buffer {
  return message('P', cstr(name), cstr(sql), int16(types.length), ...types.map(int32));
}

/** A parameter: a string (text), a Buffer (its bytes as given) or null. */
export type Param = string | Buffer | null;

export function bind(portal: string, statement: string, params: Param[] = [], opts: { paramFormats?: number[]; resultFormats?: number[] } = {}): Buffer {
  const formats = opts.paramFormats ?? [];
  const resultFormats = opts.resultFormats ?? [];
  const values = params.map((p) => (p === null ? int32(-1) : Buffer.concat([int32(bytes(p).length), bytes(p)])));
  return message(
    'B',
    cstr(portal),
    cstr(statement),
    int16(formats.length),
    ...formats.map(int16),
    int16(params.length),
    ...values,
    int16(resultFormats.length),
    ...resultFormats.map(int16),
  );
}

export const describe = (kind: 'S' | 'P', name: string): Buffer => message('D', Buffer.from(kind), cstr(name));
export const execute = (portal: string, maxRows = 0): Buffer => message('E', cstr(portal), int32(maxRows));
export const close = (kind: 'S' | 'P', name: string): Buffer => message('C', Buffer.from(kind), cstr(name));
export const sync = (): Buffer => message('S');
export const flush = (): Buffer => message('H');
export const terminate = (): Buffer => message('X');
export const copyData = (data: Bytes): Buffer => message('d', bytes(data));
export const copyDone = (): Buffer => message('c');
export const copyFail = (why: string): Buffer => message('f', cstr(why));

/** FunctionCall by OID, text-format arguments, text result. */
export function functionCall(oid: number, args: Param[]): Buffer {
  const values = args.map((a) => (a === null ? int32(-1) : Buffer.concat([int32(bytes(a).length), bytes(a)])));
  return message('F', int32(oid), int16(0), int16(args.length), ...values, int16(0));
}
