import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ResourceCache, SpanRecordError, fromSpanRecord, toSpanRecord } from './span-record.js';
import { otlpJsonLine } from './otlp-json-file-processor.js';

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
