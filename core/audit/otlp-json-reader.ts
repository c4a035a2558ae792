// Reads OTLP/JSON trace payloads (one ExportTraceServiceRequest per line, as the local audit file
// holds them, or one body as an OTLP/HTTP receiver gets it) into flat spans with plain attributes.
// Used by `sidegate audit show|verify` and by tests that read what a receiver got.

export type FlatValue = string | number | boolean | FlatValue[] | null;

export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, FlatValue>;
  status?: { code?: number; message?: string };
  events: { name: string; timeUnixNano: string; attributes: Record<string, FlatValue> }[];
  /** Spans this one links to (absent when none). */
  links?: { traceId: string; spanId: string }[];
  resource: Record<string, FlatValue>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

function value(v: AnyValue | undefined): FlatValue {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  // int64 may arrive as a JSON string (proto3 JSON mapping); audit values are safe integers.
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return null;
}

function attributes(kvs: KeyValue[] | undefined): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = value(kv.value);
  return out;
}

/** Flattens one ExportTraceServiceRequest object. */
export function flattenTraceRequest(req: unknown): FlatSpan[] {
  const spans: FlatSpan[] = [];
  const resourceSpans = (req as { resourceSpans?: unknown[] }).resourceSpans ?? [];
  for (const rs of resourceSpans as { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: unknown[] }[] }[]) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of (ss.spans ?? []) as Record<string, unknown>[]) {
        spans.push({
          traceId: String(s['traceId'] ?? ''),
          spanId: String(s['spanId'] ?? ''),
          parentSpanId: s['parentSpanId'] ? String(s['parentSpanId']) : undefined,
          name: String(s['name'] ?? ''),
          kind: typeof s['kind'] === 'number' ? s['kind'] : undefined,
          startTimeUnixNano: String(s['startTimeUnixNano'] ?? '0'),
          endTimeUnixNano: String(s['endTimeUnixNano'] ?? '0'),
          attributes: attributes(s['attributes'] as KeyValue[] | undefined),
          status: s['status'] as FlatSpan['status'],
          events: ((s['events'] as { name: string; timeUnixNano?: string | number; attributes?: KeyValue[] }[] | undefined) ?? []).map((e) => ({
            name: String(e.name ?? ''),
            timeUnixNano: String(e.timeUnixNano ?? '0'),
            attributes: attributes(e.attributes),
          })),
          ...linksOf(s['links']),
          resource,
        });
      }
    }
  }
  return spans;
}

function linksOf(raw: unknown): Pick<FlatSpan, 'links'> {
  if (!Array.isArray(raw) || raw.length === 0) return {};
  return { links: (raw as Record<string, unknown>[]).map((l) => ({ traceId: String(l['traceId'] ?? ''), spanId: String(l['spanId'] ?? '') })) };
}

/** Flattens a file of OTLP/JSON lines; a malformed line is an error naming its line number. */
export function flattenOtlpJson(text: string): FlatSpan[] {
  const spans: FlatSpan[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`audit file line ${i + 1} is not valid JSON`);
    }
    spans.push(...flattenTraceRequest(parsed));
  }
  return spans;
}
