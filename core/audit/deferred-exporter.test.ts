import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deferredOtlpJsonExporter } from './deferred-exporter.js';

test('the exporter loaded on first use sends the encoded request as it is; shutdown before any export needs no load', async () => {
  const unused = deferredOtlpJsonExporter({ url: 'http://127.0.0.1:9/v1/traces' });
  await unused.shutdown();

  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const exporter = deferredOtlpJsonExporter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` });
    const body = '{"resourceSpans":[]}';
    const results = await Promise.all(
      [1, 2].map(() => new Promise<{ code: number }>((resolve) => exporter.export({ body: Buffer.from(body), spans: 0 }, resolve))),
    );
    assert.deepEqual(results.map((r) => r.code), [0, 0]);
    assert.deepEqual(bodies, [body, body]);
    await exporter.shutdown();
  } finally {
    server.close();
  }
});
