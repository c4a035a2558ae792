import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanRecordError, VERSION_1, decodeSpanRecord, spanRecordPrefix } from './span-record.js';
import { ResourceCache, decodeVersion1, fromSpanRecord, toSpanRecord } from './span-record-v1.js';
import { otlpTraceRequestJson } from './otlp-span-json.js';

const otlpJsonLine = (spans: ReadableSpan[]) => Buffer.from(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array()).toString('utf8');

function endedSpans(): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sidegate', 'k8s.pod.name': 'runner-1' }),
    spanProcessors: [{ onStart() {}, onEnd: (s) => void ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  const tracer = provider.getTracer('sidegate.audit', '1.0.0');
  const session = tracer.startSpan('postgres session db', { kind: SpanKind.SERVER, attributes: { 'sidegate.target': 'db', n: 3, f: 1.25, ok: true, list: ['a', 'b'] } });
  const cmd = tracer.startSpan('SELECT t', { kind: SpanKind.CLIENT, attributes: { 'db.query.text': 'SELECT ?' } }, trace.setSpan(ROOT_CONTEXT, session));
  cmd.addEvent('sidegate.hold.start', { 'sidegate.rule': 'r' });
  cmd.setStatus({ code: SpanStatusCode.ERROR, message: 'denied by rule r' });
  cmd.end();
  session.end();
  return ended;
}

test('a span survives the spool round trip byte for byte as OTLP/JSON', () => {
  const spans = endedSpans();
  const cache = new ResourceCache();
  const back = spans.map((s) => fromSpanRecord(toSpanRecord(s), cache));
  assert.equal(otlpJsonLine(back), otlpJsonLine(spans));
  assert.equal(back[0]!.parentSpanContext?.spanId, spans[1]!.spanContext().spanId);
  assert.equal(back[0]!.resource, back[1]!.resource, 'one resource object per process, so one resource block per request');
});

test('a damaged record is a SpanRecordError, not a crash or a silently empty span', () => {
  const cache = new ResourceCache();
  assert.throws(() => fromSpanRecord('{"v":1,"traceId":"x"', cache), SpanRecordError);
  assert.throws(() => fromSpanRecord('{"v":2}', cache), SpanRecordError);
  assert.throws(() => fromSpanRecord(JSON.stringify({ v: 1, traceId: 'a'.repeat(32), spanId: 'zz', name: 'n', start: [1, 0], end: [1, 0] }), cache), SpanRecordError);
});

test('version 2 records decode to their resource and span; version 1 (earlier releases) to the same OTLP/JSON', () => {
  const spans = endedSpans();
  const request = JSON.parse(otlpJsonLine(spans)) as { resourceSpans: { resource: unknown; scopeSpans: { spans: unknown[] }[] }[] };
  const resource = JSON.stringify(request.resourceSpans[0]!.resource);
  const span = JSON.stringify(request.resourceSpans[0]!.scopeSpans[0]!.spans[0]);
  assert.deepEqual(decodeSpanRecord(spanRecordPrefix(resource) + span + '}'), { resource, span });
  assert.equal(decodeSpanRecord(toSpanRecord(spans[0]!)), VERSION_1, 'an earlier release\'s line is recognised');
  const v1 = decodeVersion1(toSpanRecord(spans[0]!));
  assert.deepEqual(JSON.parse(v1.span), JSON.parse(span));
  assert.deepEqual(JSON.parse(v1.resource), JSON.parse(resource));
  // Re-joined, they make the same spans under the same resource (the scope is always sidegate.audit).
  const rejoined = JSON.parse(otlpTraceRequestJson([v1, decodeVersion1(toSpanRecord(spans[1]!))])) as typeof request;
  assert.deepEqual(rejoined.resourceSpans[0]!.scopeSpans[0]!.spans, request.resourceSpans[0]!.scopeSpans[0]!.spans);
  assert.deepEqual(rejoined.resourceSpans[0]!.resource, request.resourceSpans[0]!.resource);
});

test('a damaged version 2 record is a SpanRecordError', () => {
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{},"span":{"traceId":"x"}}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{}}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":3}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{},"span":{"traceId":"' + 'a'.repeat(32) + '","spanId":"' + 'b'.repeat(16) + '","name":"n","startTimeUnixNano":"1","endTimeUnixNano":"x"}}'), SpanRecordError);
});
