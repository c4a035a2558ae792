// Reading an HTTP request body with a size bound, for every server of ours (the approval broker,
// the admission webhook). The bound is checked against Content-Length before anything is read and
// against the bytes as they arrive; beyond it the rest is drained, never buffered, so the client
// still reads our answer instead of a connection reset.
import type { IncomingMessage } from 'node:http';

export type BoundedBody = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'unreadable' };

export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<BoundedBody> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume();
      resolve({ ok: false, reason: 'too-large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BoundedBody) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        settle({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle({ ok: true, body: Buffer.concat(chunks) }));
    req.on('error', () => settle({ ok: false, reason: 'unreadable' }));
  });
}
