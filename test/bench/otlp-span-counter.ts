// A real OTLP/HTTP receiver for the benchmark's sidegate processes: it accepts what a collector
// would (protobuf, sidegate's default, or JSON) and counts spans, answering in the request's
// encoding. It shares the machine with what is measured, so JSON is counted without decoding
// (occurrences of "spanId"); protobuf is decoded but not converted (a real collector would run
// elsewhere).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTraceRequestSpans, encodeTraceResponse } from '../support/otlp-proto-codec.js';

export interface OtlpSpanCounter {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans(): number;
  close(): Promise<void>;
}

export async function startOtlpSpanCounter(): Promise<OtlpSpanCounter> {
  let spans = 0;
  const marker = Buffer.from('"spanId"');
  const sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (/protobuf/.test(req.headers['content-type'] ?? '')) {
        try {
          spans += countTraceRequestSpans(body);
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(encodeTraceResponse()));
        return;
      }
      for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at + marker.length)) spans++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => new Promise<void>((r) => sink.close(() => r())),
  };
}
