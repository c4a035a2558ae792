import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { readableSpans } from './otlp-protobuf-spans.js';
import { OTLP_SPAN_KIND, otlpResourceJson, otlpSpanJson, otlpTraceRequestBody, otlpTraceRequestJson, type EndedSpan } from './otlp-span-json.js';
import type { BoundedValue } from './attribute-values.js';

const nanos = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

/** The same spans through the OTel SDK and transformer, and as our own records. */
function bothWays(): { sdk: ReadableSpan[]; ours: EndedSpan[] } {
  const sdk: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sidegate', 'k8s.pod.name': 'runner-1', n: 3 }),
    spanProcessors: [{ onStart() {}, onEnd: (s) => void sdk.push(s), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  const tracer = provider.getTracer('sidegate.audit');
  const attrs = { 'sidegate.target': 'db "quoted" ü\u2028', n: 3, f: 1.25, neg: -7, ok: false, list: ['a', 'b'], nums: [1, 2.5], flags: [true] };
  const session = tracer.startSpan('postgres session db', { kind: SpanKind.SERVER, attributes: attrs });
  const cmd = tracer.startSpan('SELECT t', { kind: SpanKind.CLIENT, attributes: { 'db.query.text': 'SELECT ?' } }, trace.setSpan(ROOT_CONTEXT, session));
  cmd.addEvent('sidegate.hold.start', { 'sidegate.rule': 'r' });
  cmd.addEvent('bare');
  cmd.setStatus({ code: SpanStatusCode.ERROR, message: 'denied by rule r' });
  cmd.end();
  session.end();
  const ours: EndedSpan[] = sdk.map((s) => ({
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    name: s.name,
    kind: s.kind === SpanKind.SERVER ? OTLP_SPAN_KIND.server : OTLP_SPAN_KIND.client,
    startTimeUnixNano: nanos(s.startTime),
    endTimeUnixNano: nanos(s.endTime),
    attributes: s.attributes as Record<string, BoundedValue>,
    events: s.events.map((e) => ({ name: e.name, timeUnixNano: nanos(e.time), attributes: (e.attributes ?? {}) as Record<string, BoundedValue> })),
    status: s.status.code === SpanStatusCode.ERROR ? { code: 2, message: s.status.message } : { code: 0 },
  }));
  return { sdk, ours };
}

test('our OTLP/JSON of a span is what the OpenTelemetry transformer makes of the same span', () => {
  const { sdk, ours } = bothWays();
  const reference = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(sdk)!).toString('utf8')) as {
    resourceSpans: { resource: unknown; scopeSpans: { scope: unknown; spans: unknown[] }[] }[];
  };
  const rs = reference.resourceSpans[0]!;
  ours.forEach((s, i) => assert.deepEqual(JSON.parse(otlpSpanJson(s)), rs.scopeSpans[0]!.spans[i]));
  const resource = otlpResourceJson({ 'service.name': 'sidegate', 'k8s.pod.name': 'runner-1', n: 3 });
  assert.deepEqual(JSON.parse(resource), rs.resource);
  const body = JSON.parse(otlpTraceRequestJson(ours.map((s) => ({ resource, span: otlpSpanJson(s) })))) as typeof reference;
  assert.deepEqual(body.resourceSpans[0]!.scopeSpans[0]!.spans, rs.scopeSpans[0]!.spans);
  assert.deepEqual(body.resourceSpans[0]!.scopeSpans[0]!.scope, { name: 'sidegate.audit' });
});

test('spans of different resources (a replayed spool from another run) go in separate resource blocks, in order', () => {
  const { ours } = bothWays();
  const a = otlpResourceJson({ 'service.name': 'a' });
  const b = otlpResourceJson({ 'service.name': 'b' });
  const span = otlpSpanJson(ours[0]!);
  const body = JSON.parse(otlpTraceRequestJson([{ resource: a, span }, { resource: a, span }, { resource: b, span }])) as {
    resourceSpans: { resource: { attributes: { value: { stringValue: string } }[] }; scopeSpans: { spans: unknown[] }[] }[];
  };
  assert.deepEqual(
    body.resourceSpans.map((r) => [r.resource.attributes[0]!.value.stringValue, r.scopeSpans[0]!.spans.length]),
    [['a', 2], ['b', 1]],
  );
  // The bytes version (spool to exporter) is the same request, byte for byte.
  const list = [{ resource: a, span }, { resource: a, span: otlpSpanJson(ours[1]!) }, { resource: b, span }];
  assert.equal(otlpTraceRequestBody(list.map((x) => ({ ...x, span: Buffer.from(x.span) }))).toString('utf8'), otlpTraceRequestJson(list));
});

test('http/protobuf: the transformer serializes our spooled spans to the very bytes it makes of the SDK\'s spans', () => {
  const { sdk, ours } = bothWays();
  const resource = otlpResourceJson({ 'service.name': 'sidegate', 'k8s.pod.name': 'runner-1', n: 3 });
  const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest(sdk)!);
  const fromSpool = Buffer.from(ProtobufTraceSerializer.serializeRequest(readableSpans(ours.map((s) => ({ resource, span: Buffer.from(otlpSpanJson(s)) }))))!);
  assert.ok(reference.length > 100);
  assert.equal(fromSpool.toString('hex'), reference.toString('hex'));
});

test('http/protobuf: a link keeps its remote flag and times keep every nanosecond', () => {
  const { ours } = bothWays();
  const resource = otlpResourceJson({ 'service.name': 'sidegate' });
  const linked = { ...ours[0]!, startTimeUnixNano: '1733356800123456789', endTimeUnixNano: '1733356800987654321', links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) }] };
  const [span] = readableSpans([{ resource, span: otlpSpanJson(linked) }]);
  assert.deepEqual(span!.startTime, [1733356800, 123456789]);
  assert.deepEqual(span!.endTime, [1733356800, 987654321]);
  assert.deepEqual(span!.links.map((l) => [l.context.traceId, l.context.spanId, l.context.isRemote]), [['ab'.repeat(16), 'cd'.repeat(8), true]]);
});
