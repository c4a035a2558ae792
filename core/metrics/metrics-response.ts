// GET /metrics on any of sidegate's HTTP servers: the registry in Prometheus' text format.
import type http from 'node:http';
import type { Registry } from 'prom-client';

export async function sendMetrics(registry: Registry, res: http.ServerResponse): Promise<void> {
  let body: string;
  try {
    body = await registry.metrics();
  } catch {
    // A collector that failed (an unreadable reading): a scrape failure, not a partial answer.
    res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
    return;
  }
  res.writeHead(200, { 'content-type': registry.contentType }).end(body);
}
