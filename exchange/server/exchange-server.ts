// The token exchange's HTTP surface, thin on purpose (the work is TokenExchange's):
//
//   POST /v1/token    RFC 8693 token exchange  → 200 credential | 4xx/5xx OAuth error
//   POST /v1/revoke   RFC 7009 revocation      → 200 {} | 4xx/5xx OAuth error
//   GET  /healthz, /readyz                     → 200
//   GET  /metrics                              → Prometheus text (when given a registry)
//
// HTTPS only in service; bodies bounded before they are read; a bounded number of requests in
// flight (beyond it: temporarily_unavailable, not a queue); header and request deadlines.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readBoundedBody } from '../../core/http/bounded-body.js';
import { OAuthError, oauthErrorAnswer } from '../protocol/oauth-error.js';
import { MAX_EXCHANGE_BODY_BYTES } from '../protocol/token-exchange-request.js';
import { MAX_REVOCATION_BODY_BYTES } from '../protocol/revocation-request.js';
import type { HttpAnswer, TokenExchange } from '../service/token-exchange.js';
import type { Registry } from 'prom-client';
import { sendMetrics } from '../../core/metrics/metrics-response.js';

export interface ExchangeServerOptions {
  exchange: TokenExchange;
  host?: string;
  port?: number;
  /** PEM certificate and key; without them plain HTTP (tests on loopback only). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxConcurrent?: number;
  /** Served at GET /metrics (exchange-metrics.ts). */
  metrics?: Registry;
}

export interface ExchangeServer {
  url: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, answer: HttpAnswer): void {
  const text = JSON.stringify(answer.body);
  // RFC 6749 §5.1: answers carrying tokens are never cached.
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    pragma: 'no-cache',
  });
  res.end(text);
}

function errorAnswer(code: OAuthError['code'], description: string, status?: number): HttpAnswer {
  const answer = oauthErrorAnswer(new OAuthError(code, description));
  return status === undefined ? answer : { ...answer, status };
}

export async function startExchangeServer(opts: ExchangeServerOptions): Promise<ExchangeServer> {
  const maxConcurrent = opts.maxConcurrent ?? 64;
  let inFlight = 0;
  const endpoints: Record<string, { maxBytes: number; handle: (type: string | undefined, body: Buffer) => Promise<HttpAnswer> }> = {
    '/v1/token': { maxBytes: MAX_EXCHANGE_BODY_BYTES, handle: (t, b) => opts.exchange.exchange(t, b) },
    '/v1/revoke': { maxBytes: MAX_REVOCATION_BODY_BYTES, handle: (t, b) => opts.exchange.revoke(t, b) },
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://exchange').pathname;
    if (path === '/healthz' || path === '/readyz') return send(res, { status: 200, body: { ok: true }, headers: {} });
    if (path === '/metrics' && opts.metrics && req.method === 'GET') return sendMetrics(opts.metrics, res);
    const endpoint = endpoints[path];
    if (endpoint === undefined) {
      req.resume();
      return send(res, { status: 404, body: { error: 'not_found' }, headers: {} });
    }
    if (req.method !== 'POST') {
      req.resume();
      return send(res, { ...errorAnswer('invalid_request', 'use POST', 405), headers: { allow: 'POST' } });
    }
    if (inFlight >= maxConcurrent) {
      req.resume();
      return send(res, { ...errorAnswer('temporarily_unavailable', 'too many requests in flight; retry shortly'), headers: { 'retry-after': '1' } });
    }
    inFlight += 1;
    try {
      const body = await readBoundedBody(req, endpoint.maxBytes);
      if (!body.ok) return send(res, errorAnswer('invalid_request', body.reason === 'too-large' ? `the body is larger than ${endpoint.maxBytes} bytes` : 'the body could not be read', body.reason === 'too-large' ? 413 : 400));
      send(res, await endpoint.handle(req.headers['content-type'], body.body));
    } finally {
      inFlight -= 1;
    }
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    route(req, res).catch(() => {
      if (!res.headersSent) send(res, errorAnswer('server_error', 'the request failed'));
      else res.destroy();
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
