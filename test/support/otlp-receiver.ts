// A real OTLP/HTTP receiver for tests: accepts OTLP/JSON ExportTraceServiceRequests on POST
// /v1/traces (content-type application/json), keeps every span flattened with plain attributes,
// and can be told to answer 503 to the next n requests to exercise retries. Also reads the local
// OTLP/JSON-lines audit file the same way, so tests compare both modes with one vocabulary.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { flattenOtlpJson, flattenTraceRequest, type FlatSpan } from '../../core/audit/otlp-json-reader.js';

/** One received span: ids, name, kind (OTLP numbering), times, attributes as a plain object. */
export type ReceivedSpan = FlatSpan;

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT` — set it as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Requests answered so far, failed ones included. */
  readonly requests: number;
  /** Requests that carried spans and were accepted. */
  readonly accepted: number;
  spans(): ReceivedSpan[];
  /** Polls until `pick` returns something truthy, then returns it; rejects after `timeoutMs`. */
  waitForSpans<T>(pick: (spans: ReceivedSpan[]) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Answer 503 to the next `n` requests. */
  setFailing(n: number): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  let failing = 0;
  let requests = 0;
  let accepted = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      requests++;
      if (req.url !== '/v1/traces' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      if (failing > 0) {
        failing--;
        res.writeHead(503).end();
        return;
      }
      try {
        received.push(...flattenTraceRequest(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        accepted++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    get requests() {
      return requests;
    },
    get accepted() {
      return accepted;
    },
    spans: () => [...received],
    async waitForSpans(pick, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = pick([...received]);
        if (got) return got;
        if (Date.now() > deadline) throw new Error(`expected spans did not arrive (have ${received.length})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    setFailing(n) {
      failing = n;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Spans of a local OTLP/JSON-lines audit file (one ExportTraceServiceRequest per line). */
export function readOtlpJsonFile(path: string): ReceivedSpan[] {
  return flattenOtlpJson(readFileSync(path, 'utf8'));
}
