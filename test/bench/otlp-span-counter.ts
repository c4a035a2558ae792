// A real OTLP/HTTP receiver for the benchmark's sidegate processes: it accepts what a collector
// would and counts spans. It shares the machine with what is measured, so it counts without
// decoding (a real collector would run elsewhere): occurrences of "spanId" in the raw body.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
