// The HTTPS endpoint the API server calls: POST /mutate (injection) and POST /validate (only a
// genuine sidecar holds a control-plane token) with an AdmissionReview, plus /healthz and
// /readyz for the Deployment's probes. The certificate is re-read periodically so a rotated
// Secret (cert-manager, or the chart's generated CA) takes effect without a restart.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { readBoundedBody } from '../../core/http/bounded-body.js';
import { sendJson } from '../../core/http/json-response.js';
import { silentLogger, type Logger } from '../../core/logging/logger.js';
import { injectionFailed, isPodCreate, parseAdmissionReview, reviewPodAdmission, reviewPodValidation, type AdmissionReviewResponse } from './admission-review.js';
import type { NamespaceLookup } from './namespace-lookup.js';

export const MAX_ADMISSION_REVIEW_BYTES = 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  tls: { certFile: string; keyFile: string };
  config: InjectionConfig;
  namespaceLookup: NamespaceLookup;
  log?: Logger;
  /** The API server gives up after the webhook's timeoutSeconds (default 10 s); answer before that. */
  namespaceLookupTimeoutMs?: number;
  tlsReloadIntervalMs?: number;
}

export interface WebhookServer {
  url: string;
  port: number;
  /** Re-reads the certificate and key now (also done periodically). */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const log = options.log ?? silentLogger;
  let tls = await readTls(options.tls);
  const server: Server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res, options, log).catch((err: Error) => {
      log.error('webhook request failed', { error: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const reloadTls = async () => {
    const next = await readTls(options.tls);
    if (next.cert === tls.cert && next.key === tls.key) return;
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    tls = next;
    log.info('webhook TLS certificate reloaded');
  };
  const timer = setInterval(() => {
    reloadTls().catch((err: Error) => log.warn('webhook TLS reload failed; keeping the current certificate', { error: err.message }));
  }, options.tlsReloadIntervalMs ?? 60_000);
  timer.unref();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('webhook listening', { host: address.address, port: address.port });
  return {
    url: `https://${host}:${address.port}`,
    port: address.port,
    reloadTls,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: WebhookServerOptions, log: Logger): Promise<void> {
  const path = new URL(req.url ?? '/', 'https://webhook').pathname;
  if (path === '/healthz' || path === '/readyz') {
    // Listening with a certificate loaded is all the webhook needs to answer reviews.
    return sendJson(res, 200, { status: 'ok' });
  }
  if (path !== '/mutate' && path !== '/validate') return sendJson(res, 404, { error: 'not found' });
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return sendJson(res, 405, { error: `POST an AdmissionReview to ${path}` });
  }
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(contentType)) return sendJson(res, 415, { error: 'content-type must be application/json' });

  const read = await readBoundedBody(req, MAX_ADMISSION_REVIEW_BYTES);
  if (!read.ok) {
    if (read.reason === 'unreadable') return sendJson(res, 400, { error: 'body could not be read' });
    res.setHeader('connection', 'close');
    return sendJson(res, 413, { error: `AdmissionReview larger than ${MAX_ADMISSION_REVIEW_BYTES} bytes` });
  }
  let json: unknown;
  try {
    json = JSON.parse(read.body.toString('utf8'));
  } catch {
    return sendJson(res, 400, { error: 'body is not JSON' });
  }
  const parsed = parseAdmissionReview(json);
  if (!parsed.ok) return sendJson(res, 400, { error: parsed.error });
  const request = parsed.request;

  let review: AdmissionReviewResponse;
  const podMeta = (request.object as Pod | undefined)?.metadata;
  const namespaceName = request.namespace || podMeta?.namespace;
  if (path === '/validate') {
    // No namespace needed: which pod may hold a control-plane token does not depend on its labels.
    review = reviewPodValidation(request, options.config);
  } else if (!isPodCreate(request)) {
    review = reviewPodAdmission(request, { config: options.config, namespace: { name: namespaceName ?? '', labels: {} } });
  } else if (!namespaceName) {
    review = injectionFailed(request.uid, new Error('the request names no namespace'), options.config);
  } else {
    try {
      const { labels } = await options.namespaceLookup(namespaceName, AbortSignal.timeout(options.namespaceLookupTimeoutMs ?? 4000));
      review = reviewPodAdmission(request, { config: options.config, namespace: { name: namespaceName, labels } });
    } catch (err) {
      log.warn('namespace lookup failed', { uid: request.uid, namespace: namespaceName, error: (err as Error).message });
      review = injectionFailed(request.uid, new Error(`cannot read namespace ${namespaceName}: ${(err as Error).message}`), options.config);
    }
  }
  // Facts only: pod specs can hold literal secrets in env values, so they are never logged.
  log.info('admission review', {
    check: path === '/validate' ? 'validate' : 'mutate',
    uid: request.uid,
    operation: request.operation,
    namespace: namespaceName,
    pod: podMeta?.name || podMeta?.generateName,
    dryRun: request.dryRun === true,
    allowed: review.response.allowed,
    patched: review.response.patch !== undefined,
    warnings: review.response.warnings?.length ?? 0,
    message: review.response.status?.message,
  });
  return sendJson(res, 200, review);
}

async function readTls(files: { certFile: string; keyFile: string }): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  return { cert, key };
}
