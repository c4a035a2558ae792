// The admin port (16002 by default): /healthz (the process is alive), /readyz (policy loaded and
// every listener bound — what the pod's startupProbe waits for) and /metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { sendMetrics } from '../../core/metrics/metrics-response.js';

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

export async function startAdminServer(opts: {
  host: string;
  port: number;
  ready: () => boolean;
  /** What /metrics exposes (sidecar-prometheus-metrics.ts). */
  metrics: Registry;
  /** POST /drain (the pod's preStop): stop accepting, let sessions finish, flush audit. */
  drain?: () => Promise<void>;
}): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/drain' && req.method === 'POST' && opts.drain) {
      // Only from inside the pod: the admin port is reachable by the kubelet for probes, but
      // draining is for the preStop hook, which runs in the pod's network namespace.
      const from = req.socket.remoteAddress ?? '';
      if (from !== '127.0.0.1' && from !== '::1' && from !== '::ffff:127.0.0.1') {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('drain is only accepted from localhost\n');
        return;
      }
      opts.drain().then(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('drained\n'),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`drain failed: ${err.message}\n`),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = opts.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      void sendMetrics(opts.metrics, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
