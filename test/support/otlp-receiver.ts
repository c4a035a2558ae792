// A real OTLP/HTTP receiver for tests: accepts OTLP/JSON on /v1/traces, keeps every span, and
// can be told to fail (503) for a while to exercise retries.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { flattenTraceRequest, type FlatSpan } from '../../sidecar/audit/otlp-json-reader.js';

export interface OtlpReceiver {
  endpoint: string;
  requests: number;
  spans(): FlatSpan[];
  waitForSpans<T>(pick: (spans: FlatSpan[]) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  setFailing(n: number): void;
  close(): Promise<void>;
}

export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const received: FlatSpan[] = [];
  let failing = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      if (req.url !== '/v1/traces' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      if (failing > 0) {
        failing--;
        res.writeHead(503).end();
        return;
      }
      try {
        received.push(...flattenTraceRequest(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const addr = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    get requests() {
      return requests;
    },
    spans: () => [...received],
    async waitForSpans(pick, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = pick(received);
        if (got) return got;
        if (Date.now() > deadline) throw new Error(`expected spans did not arrive (have ${received.length})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    setFailing(n) {
      failing = n;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
