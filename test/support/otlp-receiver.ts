// A real OTLP/HTTP receiver for tests, collector-compatible: accepts ExportTraceServiceRequests on
// POST /v1/traces in both OTLP/HTTP encodings (application/json, and application/x-protobuf decoded
// with the official OTLP definitions, otlp-proto-codec.ts), keeps every span flattened with plain
// attributes, and answers in the request's encoding. It can be told to answer 503 to the next n
// requests, to answer with a partialSuccess that rejects spans, or to be slow, to exercise retries
// and drains. Also reads the local OTLP/JSON-lines audit file the same way, so tests compare both
// modes with one vocabulary.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { flattenOtlpJson, flattenTraceRequest, type FlatSpan } from '../../core/audit/otlp-json-reader.js';
import { decodeTraceRequest, encodeTraceResponse } from './otlp-proto-codec.js';

/** One received span: ids, name, kind (OTLP numbering), times, attributes as a plain object. */
export type ReceivedSpan = FlatSpan;

export type OtlpEncoding = 'json' | 'protobuf';

export interface OtlpReceiver {
  /** `http://HOST:PORT` — set it as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Requests answered so far, failed ones included. */
  readonly requests: number;
  /** Requests that carried spans and were accepted. */
  readonly accepted: number;
  /** The encoding of every request that reached /v1/traces, in order. */
  readonly encodings: readonly OtlpEncoding[];
  /** Requests answered with a partialSuccess that rejected spans. */
  readonly partialAnswers: number;
  spans(): ReceivedSpan[];
  /** Polls until `pick` returns something truthy, then returns it; rejects after `timeoutMs`. */
  waitForSpans<T>(pick: (spans: ReceivedSpan[]) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Answer 503 to the next `n` requests. */
  setFailing(n: number): void;
  /**
   * Answer the next `n` requests 200 with partialSuccess { rejectedSpans: all of the request's,
   * errorMessage }, keeping none of their spans (as a collector over its quota does).
   */
  setRejecting(n: number, errorMessage?: string): void;
  /** Hold every answer this long (a slow collector); 0 to stop. */
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** HTTPS instead of HTTP: the receiver's certificate, and for mutual TLS the CA clients must chain to. */
export interface ReceiverTls {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export async function startOtlpReceiver(port = 0, host = '127.0.0.1', tls?: ReceiverTls): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const encodings: OtlpEncoding[] = [];
  let failing = 0;
  let rejecting = 0;
  let rejectMessage = '';
  let delayMs = 0;
  let requests = 0;
  let accepted = 0;
  let partialAnswers = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
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
      const answer = () => handle(req, Buffer.concat(chunks), res);
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  };
  const server = tls
    ? https.createServer(
        {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true } : {}),
        },
        onRequest,
      )
    : http.createServer(onRequest);

  function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    requests++;
    if (req.url !== '/v1/traces' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const encoding: OtlpEncoding | undefined = contentType.startsWith('application/json') ? 'json' : contentType.startsWith('application/x-protobuf') ? 'protobuf' : undefined;
    if (!encoding) {
      res.writeHead(415).end();
      return;
    }
    encodings.push(encoding);
    if (failing > 0) {
      failing--;
      res.writeHead(503).end();
      return;
    }
    let spans: ReceivedSpan[];
    try {
      spans = flattenTraceRequest(encoding === 'json' ? JSON.parse(body.toString('utf8')) : decodeTraceRequest(body));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const partial = rejecting > 0 ? { rejectedSpans: spans.length, errorMessage: rejectMessage } : undefined;
    if (partial) {
      rejecting--;
      partialAnswers++;
    } else {
      received.push(...spans);
      accepted++;
    }
    if (encoding === 'json') {
      const json = partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    } else {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(encodeTraceResponse(partial)));
    }
  }

  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const addr = server.address() as AddressInfo;
  return {
    endpoint: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
    get requests() {
      return requests;
    },
    get accepted() {
      return accepted;
    },
    get encodings() {
      return [...encodings];
    },
    get partialAnswers() {
      return partialAnswers;
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
    setRejecting(n, errorMessage = 'over quota') {
      rejecting = n;
      rejectMessage = errorMessage;
    },
    setDelayMs(ms) {
      delayMs = ms;
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
