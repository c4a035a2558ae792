// JSON over node:http for the broker: a size-bounded body reader and one error shape
// (`{ "error": "..." }`). Only HttpError/ApprovalError messages reach clients; anything else is
// "internal error", so a stack trace or a token can never leak through a response.
import type http from 'node:http';
import { readBoundedBody } from '../../core/http/bounded-body.js';
export { sendJson } from '../../core/http/json-response.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Reads and parses a JSON body of at most `maxBytes`. An empty body is `{}`. Too large → 413;
 * the rest of the body is drained (not buffered) so the client still reads our answer instead of
 * a connection reset, and the connection is closed after the answer.
 */
export async function readJsonBody(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Promise<unknown> {
  const read = await readBoundedBody(req, maxBytes);
  if (!read.ok) {
    if (read.reason === 'unreadable') throw new HttpError(400, 'request body could not be read');
    res.setHeader('connection', 'close');
    throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
  }
  const text = read.body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}
