// What the page's OIDC client (openid-client) fetches with when the provider is behind a private
// CA: discovery, JWKS and the token endpoint over node:https trusting that CA bundle only, for
// these requests only — never NODE_EXTRA_CA_CERTS or a process-wide trust change, which would let
// the same CA vouch for every host the broker talks to. node:https rather than an undici Agent:
// undici is not a dependency, and the global fetch takes no per-request CA. The bundle is re-read
// when its file changes (a rotated CA), responses are bounded and redirects are not followed
// (openid-client asks for `redirect: 'manual'` and treats a 3xx as the error it is).
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { CustomFetch } from 'openid-client';
import { FileReadError, ReloadingFile } from '../../core/files/reloading-file.js';

/** A discovery document, a JWKS or a token response is a few kB; a CA bundle a few certificates. */
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;
const MAX_CA_BUNDLE_BYTES = 1024 * 1024;

export class ProviderResponseTooLarge extends Error {
  override readonly name = 'ProviderResponseTooLarge';
}

/** The CA bundle in `path`, re-read when the file changes; refused when it holds no certificate. */
export function caBundleFile(path: string): () => Promise<string> {
  const file = new ReloadingFile(path, {
    maxBytes: MAX_CA_BUNDLE_BYTES,
    parse: (text) => {
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new FileReadError('unreadable', `${path} holds no PEM certificate`);
      return text;
    },
  });
  return () => file.read();
}

/** A fetch for openid-client whose HTTPS trusts `ca()` instead of the system roots. */
export function providerFetch(ca: () => Promise<string>): CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError(`unsupported URL scheme ${target.protocol}`);
    const body = requestBody(options.body);
    const trusted = target.protocol === 'https:' ? { ca: await ca() } : {};
    const message = await new Promise<IncomingMessage>((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(target, { method: options.method, headers: options.headers, signal: options.signal, ...trusted }, resolve);
      req.once('error', (err) => reject(options.signal?.aborted ? options.signal.reason : err));
      req.end(body);
    });
    const received = await readBounded(message).catch((err: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : err;
    });
    const status = message.statusCode ?? 502;
    return new Response([204, 205, 304].includes(status) ? null : received, { status, headers: headersOf(message) });
  };
}

function requestBody(body: Parameters<CustomFetch>[1]['body']): string | Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // openid-client sends forms and JSON as above; a stream would be a request we do not make.
  throw new TypeError('unsupported request body');
}

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function readBounded(message: IncomingMessage): Promise<Buffer> {
  if (Number(message.headers['content-length'] ?? '0') > MAX_PROVIDER_RESPONSE_BYTES) {
    message.destroy();
    throw new ProviderResponseTooLarge(`the sign-in provider's response is larger than ${MAX_PROVIDER_RESPONSE_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of message as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_PROVIDER_RESPONSE_BYTES) {
      message.destroy();
      throw new ProviderResponseTooLarge(`the sign-in provider's response is larger than ${MAX_PROVIDER_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
