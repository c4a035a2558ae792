// The fetch used for issuer documents (JWKS, OpenID discovery): refuses oversized bodies — jose
// reads the response with `response.json()`, which would buffer whatever a misbehaving (or
// hijacked) endpoint sends — and can trust a CA bundle of its own and present a bearer token, which
// Kubernetes' service-account issuer discovery needs (cluster CA, authenticated service accounts).
// node:http(s) rather than the global fetch: only it takes a per-request `ca`.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchImplementation } from 'jose';

export class ResponseTooLarge extends Error {
  override readonly name = 'ResponseTooLarge';
}

export interface FetchTrust {
  /** PEM bundle trusted instead of the system roots for HTTPS; undefined: the system roots. */
  ca?: () => Promise<string | undefined>;
  /** A value for the Authorization header of a request to this URL; undefined: none is sent. */
  authorization?: (url: URL) => Promise<string | undefined>;
}

interface FetchOptions {
  headers?: Headers | Record<string, string>;
  signal?: AbortSignal;
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function responseHeaders(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function readBounded(message: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(message.headers['content-length'] ?? '0');
  if (declared > maxBytes) {
    message.destroy();
    throw new ResponseTooLarge(`response larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of message as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      message.destroy();
      throw new ResponseTooLarge(`response larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** One GET, no redirects followed (a 3xx is returned as is), the body bounded by `maxBytes`. */
export function boundedFetch(maxBytes: number, trust: FetchTrust = {}): FetchImplementation {
  return async (url, options: FetchOptions = {}) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError(`unsupported URL scheme ${target.protocol}`);
    const headers = Object.fromEntries(new Headers(options.headers).entries());
    const authorization = await trust.authorization?.(target);
    if (authorization !== undefined) headers['authorization'] = authorization;
    const ca = target.protocol === 'https:' ? await trust.ca?.() : undefined;
    const message = await new Promise<IncomingMessage>((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(target, { method: 'GET', headers, signal: options.signal, ...(ca !== undefined ? { ca } : {}) }, resolve);
      // An abort rejects with the signal's reason, so jose sees its TimeoutError as a timeout.
      req.once('error', (err) => reject(options.signal?.aborted ? options.signal.reason : err));
      req.end();
    });
    const body = await readBounded(message, maxBytes).catch((err: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : err;
    });
    const status = message.statusCode ?? 502;
    return new Response(NULL_BODY_STATUSES.has(status) ? null : body, { status, headers: responseHeaders(message) });
  };
}
