// Backend (server → client) messages as the corpus reads them: cut from the byte stream by their
// length headers, with ErrorResponse/NoticeResponse fields and DataRow values decoded. A reply
// that is not a message (the single 'N'/'S' answering SSLRequest) is skipped when it leads.
export interface BackendMessage {
  type: string;
  body: Buffer;
  /** ErrorResponse / NoticeResponse fields by code ('C', 'M', 'D', …). */
  fields?: Record<string, string>;
  /** DataRow values. */
  values?: (Buffer | null)[];
}

export class BackendReader {
  readonly messages: BackendMessage[] = [];
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length === 0) return;
      const type = String.fromCharCode(this.buf[0]!);
      // 'N'/'S' alone answer SSLRequest/GSSENCRequest: one byte, no length (a real message's
      // length is never above 16 MiB here, and never arrives as a lone first byte on loopback).
      if ((type === 'N' || type === 'S') && (this.buf.length === 1 || this.buf.readInt32BE(1) > 1 << 24)) {
        this.buf = this.buf.subarray(1);
        continue;
      }
      if (this.buf.length < 5) return;
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      const body = this.buf.subarray(5, 1 + len);
      this.buf = this.buf.subarray(1 + len);
      this.messages.push(decode(type, Buffer.from(body)));
    }
  }
}

function decode(type: string, body: Buffer): BackendMessage {
  if (type === 'E' || type === 'N') return { type, body, fields: readFields(body) };
  if (type === 'D') return { type, body, values: readValues(body) };
  return { type, body };
}

function readFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < body.length && body[i] !== 0; ) {
    const code = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    fields[code] = body.subarray(i + 1, end).toString('utf8');
    i = end + 1;
  }
  return fields;
}

function readValues(body: Buffer): (Buffer | null)[] {
  const n = body.readInt16BE(0);
  const out: (Buffer | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.subarray(at, at + len));
      at += len;
    }
  }
  return out;
}
