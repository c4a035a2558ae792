// JSON over node:http for the broker: a size-bounded body reader and one error shape
// (`{ "error": "..." }`). Only HttpError/ApprovalError messages reach clients; anything else is
// "internal error", so a stack trace or a token can never leak through a response.
import type http from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Reads and parses a JSON body of at most `maxBytes`. An empty body is `{}`. Too large → 413;
 * the rest of the body is drained (not buffered) so the client still reads our answer instead of
 * a connection reset, and the connection is closed after the answer.
 */
export function readJsonBody(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      res.setHeader('connection', 'close');
      reject(new HttpError(413, `request body larger than ${maxBytes} bytes`));
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      req.resume();
      return tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    req.on('data', (chunk: Buffer) => {
      if (overflowed) return;
      size += chunk.length;
      if (size > maxBytes) {
        overflowed = true;
        chunks.length = 0;
        return tooLarge();
      }
      chunks.push(chunk);
    });
    req.on('error', () => reject(new HttpError(400, 'request body could not be read')));
    req.on('end', () => {
      if (overflowed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'request body is not JSON'));
      }
    });
  });
}
