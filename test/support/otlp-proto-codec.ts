// The OTLP trace service's messages from the official definitions (test/support/otlp-proto/, loaded
// by protobufjs): a collector-compatible receiver decodes protobuf export bodies with them and
// answers with a protobuf ExportTraceServiceResponse. The decoded request is turned into the
// OTLP/JSON shape (hex ids, decimal-string nanoseconds) so both encodings are read by one reader.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const protoRoot = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'test/support/otlp-proto');

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;

function traceService(): { request: protobuf.Type; response: protobuf.Type } {
  if (types) return types;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoRoot, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  types = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
  return types;
}

/** A protobuf ExportTraceServiceRequest as the OTLP/JSON object a JSON body would have been. */
export function decodeTraceRequest(body: Uint8Array): unknown {
  const { request } = traceService();
  const message = request.decode(body);
  // int64/fixed64 as decimal strings, bytes as byte arrays (ids become hex below), enums as numbers.
  const plain = request.toObject(message, { longs: String, enums: Number, bytes: Array, defaults: false, arrays: true });
  return toOtlpJsonShape(plain);
}

/** How many spans a protobuf ExportTraceServiceRequest carries (decoded, not converted: the benchmark's receiver). */
export function countTraceRequestSpans(body: Uint8Array): number {
  const message = traceService().request.decode(body) as unknown as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
  let spans = 0;
  for (const resource of message.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  return spans;
}

/** An ExportTraceServiceResponse, with a partial success when `rejectedSpans` > 0. */
export function encodeTraceResponse(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array {
  const { response } = traceService();
  return response.encode(response.fromObject(partial ? { partialSuccess: partial } : {})).finish();
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Byte arrays of ids → lower-case hex, recursively; everything else as protobufjs gave it. */
function toOtlpJsonShape(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    if (ID_FIELDS.has(key)) return Buffer.from(value as number[]).toString('hex');
    return value.map((v) => toOtlpJsonShape(v));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toOtlpJsonShape(v, k);
    return out;
  }
  return value;
}
