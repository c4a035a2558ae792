import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanRecordError, decodeSpanRecord, spanRecordPrefix } from './span-record.js';
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

test('a spool line decodes to the resource and span the OpenTelemetry transformer writes', () => {
  const spans = endedSpans();
  const request = JSON.parse(otlpJsonLine(spans)) as { resourceSpans: { resource: unknown; scopeSpans: { spans: unknown[] }[] }[] };
  const resource = JSON.stringify(request.resourceSpans[0]!.resource);
  const encoded = request.resourceSpans[0]!.scopeSpans[0]!.spans.map((span) => JSON.stringify(span));
  const decoded = encoded.map((span) => decodeSpanRecord(spanRecordPrefix(resource) + span + '}'));
  assert.deepEqual(decoded[0], { resource, span: encoded[0] });
  // Re-joined, they make the same spans under the same resource (the scope is always sidegate.audit).
  const rejoined = JSON.parse(otlpTraceRequestJson(decoded)) as typeof request;
  assert.deepEqual(rejoined.resourceSpans[0]!.scopeSpans[0]!.spans, request.resourceSpans[0]!.scopeSpans[0]!.spans);
  assert.deepEqual(rejoined.resourceSpans[0]!.resource, request.resourceSpans[0]!.resource);
});

test('a line of any other version is a damaged record, not a span', () => {
  const span = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'n', startTimeUnixNano: '1', endTimeUnixNano: '2' };
  assert.doesNotThrow(() => decodeSpanRecord(JSON.stringify({ v: 2, resource: {}, span })));
  assert.throws(() => decodeSpanRecord(JSON.stringify({ v: 1, resource: {}, span })), SpanRecordError);
  assert.throws(() => decodeSpanRecord(JSON.stringify({ resource: {}, span })), SpanRecordError);
});

test('a damaged record is a SpanRecordError, not a crash or a silently empty span', () => {
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{},"span":{"traceId":"x"}}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{}}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":3}'), SpanRecordError);
  assert.throws(() => decodeSpanRecord('{"v":2,"resource":{},"span":{"traceId":"' + 'a'.repeat(32) + '","spanId":"' + 'b'.repeat(16) + '","name":"n","startTimeUnixNano":"1","endTimeUnixNano":"x"}}'), SpanRecordError);
});
