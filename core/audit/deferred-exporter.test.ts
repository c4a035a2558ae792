import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deferredOtlpExporter } from './deferred-exporter.js';
import { RejectedSpansError } from './export-rejection.js';
import { otlpResourceJson, otlpTraceRequestJson } from './otlp-span-json.js';

interface Received {
  contentType: string;
  body: Buffer;
}

/** A bare HTTP server answering each request with the next of `answers` (then the last one). */
async function collector(answers: { status: number; contentType: string; body: Buffer | string }[]) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
      const answer = answers[Math.min(received.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const resource = otlpResourceJson({ 'service.name': 'sidegate' });
const span = '{"traceId":"0123456789abcdef0123456789abcdef","spanId":"0123456789abcdef","name":"s","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001","attributes":[],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,"status":{"code":0},"links":[],"droppedLinksCount":0,"flags":257}';
const request = { spans: [{ resource, span: Buffer.from(span) }] };
const exportOnce = (exporter: ReturnType<typeof deferredOtlpExporter>) =>
  new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(request, resolve));

test('http/json: the exporter loaded on first use sends the spooled text as it is; shutdown before any export needs no load', async () => {
  const unused = deferredOtlpExporter({ url: 'http://127.0.0.1:9/v1/traces', protocol: 'http/json' });
  await unused.shutdown();
  const c = await collector([{ status: 200, contentType: 'application/json', body: '{}' }]);
  try {
    const exporter = deferredOtlpExporter({ url: c.url, protocol: 'http/json' });
    assert.equal((await exportOnce(exporter)).code, 0);
    assert.equal((await exportOnce(exporter)).code, 0);
    assert.deepEqual(c.received.map((r) => [r.contentType, r.body.toString('utf8')]), [
      ['application/json', otlpTraceRequestJson([{ resource, span }])],
      ['application/json', otlpTraceRequestJson([{ resource, span }])],
    ]);
    await exporter.shutdown();
  } finally {
    await c.close();
  }
});

test('http/protobuf: the body is the transformer\'s protobuf, sent as application/x-protobuf', async () => {
  const c = await collector([{ status: 200, contentType: 'application/x-protobuf', body: Buffer.alloc(0) }]);
  try {
    const exporter = deferredOtlpExporter({ url: c.url, protocol: 'http/protobuf' });
    assert.equal((await exportOnce(exporter)).code, 0);
    assert.equal(c.received[0]!.contentType, 'application/x-protobuf');
    // The span's name and the resource's service name travel as protobuf strings, not JSON.
    const body = c.received[0]!.body;
    assert.ok(body.includes(Buffer.from('sidegate')) && !body.includes(Buffer.from('"resourceSpans"')));
    await exporter.shutdown();
  } finally {
    await c.close();
  }
});

test('a partialSuccess with rejected spans is a failed export, in either encoding; one without is a success', async () => {
  // ExportTraceServiceResponse{partial_success{rejected_spans: 1, error_message: "quota"}}, by hand:
  // field 1 (message) holding field 1 (varint 1) and field 2 (string "quota").
  const protobufPartial = Buffer.from([0x0a, 0x09, 0x08, 0x01, 0x12, 0x05, ...Buffer.from('quota')]);
  for (const [protocol, partial, whole] of [
    ['http/json', '{"partialSuccess":{"rejectedSpans":"1","errorMessage":"quota"}}', '{"partialSuccess":{"rejectedSpans":"0","errorMessage":"fine"}}'],
    ['http/protobuf', protobufPartial, Buffer.alloc(0)],
  ] as const) {
    const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
    const c = await collector([{ status: 200, contentType, body: partial }, { status: 200, contentType, body: whole }]);
    try {
      const exporter = deferredOtlpExporter({ url: c.url, protocol });
      const first = await exportOnce(exporter);
      assert.equal(first.code, 1, protocol);
      assert.ok(first.error instanceof RejectedSpansError, protocol);
      assert.equal(first.error.rejectedSpans, 1);
      assert.match(first.error.message, /rejected 1 span.*quota/);
      assert.equal((await exportOnce(exporter)).code, 0, protocol);
      await exporter.shutdown();
    } finally {
      await c.close();
    }
  }
});

test('a second export while one is in flight fails at once instead of sharing its answer', async () => {
  const c = await collector([{ status: 200, contentType: 'application/json', body: '{}' }]);
  try {
    const exporter = deferredOtlpExporter({ url: c.url, protocol: 'http/json' });
    await exportOnce(exporter); // loaded
    const [a, b] = await Promise.all([exportOnce(exporter), exportOnce(exporter)]);
    assert.deepEqual([a.code, b.code], [0, 1]);
    await exporter.shutdown();
  } finally {
    await c.close();
  }
});
