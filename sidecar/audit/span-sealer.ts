// Seals ended spans in the order they ended: chain link, hash over exactly what is exported,
// OTLP/JSON encoding, hand-off to the sink (spool or file). Sealing waits for the end of the
// current turn of the event loop (setImmediate), so the bytes that completed a command reach the
// client first and the audit work follows them, off the command's round trip; the span's times
// were taken when it really ended. Everything ended is sealed before a flush or shutdown.
//
// It stays on the proxy's thread on purpose: a worker thread was tried, and on a busy machine it
// fell behind (no core to spare), so spans queued without bound. Here the audit work paces the
// proxy instead, and memory stays flat.
import type { BoundedValue } from './attribute-values.js';
import type { EndedSpanSink } from './audit-span.js';
import { CHAIN_ATTR, canonicalJson, type HashChain } from './hash-chain.js';
import { anyValue, otlpSpanJson, scalarAnyValue, type EndedSpan } from './otlp-span-json.js';

/** Where sealed spans go: the spool (OTLP) or the local file. */
export interface EncodedSpanSink {
  push(spanJson: string): void;
}

export class SpanSealer implements EndedSpanSink {
  private pending: EndedSpan[] = [];
  private scheduled = false;

  constructor(
    private readonly chain: HashChain,
    private readonly sink: EncodedSpanSink,
  ) {}

  add(span: EndedSpan): void {
    this.pending.push(span);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.sealPending());
    }
  }

  /** Seals everything ended so far (also called directly before a flush). */
  sealPending(): void {
    this.scheduled = false;
    const spans = this.pending;
    this.pending = [];
    for (const span of spans) {
      const attributes: Record<string, BoundedValue> = span.attributes;
      Object.assign(attributes, this.chain.next());
      const encoded = encodeAttributes(attributes);
      const hash = this.chain.seal(span, encoded.canonical);
      attributes[CHAIN_ATTR.hash] = hash;
      const sep = encoded.otlp === '[' ? '' : ',';
      this.sink.push(otlpSpanJson(span, `${encoded.otlp}${sep}{"key":"${CHAIN_ATTR.hash}","value":{"stringValue":"${hash}"}}]`));
    }
  }
}

const quotedKeys = new Map<string, string>();

function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    if (quotedKeys.size >= 4096) quotedKeys.clear(); // attribute names are few; stay bounded anyway
    quotedKeys.set(k, (q = JSON.stringify(k)));
  }
  return q;
}

/**
 * The attributes (without the hash) in both forms the seal needs, from one pass over the sorted
 * keys: the canonical JSON the hash covers (hash-chain.ts; a test pins the equality) and the OTLP
 * KeyValue list, left open for the hash attribute. Each key and value is quoted once for both:
 * this runs for every command.
 */
function encodeAttributes(attrs: Readonly<Record<string, BoundedValue>>): { canonical: string; otlp: string } {
  const keys = Object.keys(attrs).sort();
  let canonical = '{';
  let otlp = '[';
  let first = true;
  for (const k of keys) {
    const v = attrs[k];
    if (v === undefined || k === CHAIN_ATTR.hash) continue;
    const key = quotedKey(k);
    let json: string;
    let value: string;
    if (typeof v === 'object') {
      json = canonicalJson(v);
      value = anyValue(v);
    } else {
      json = JSON.stringify(v);
      value = scalarAnyValue(v, json);
    }
    canonical += `${first ? '' : ','}${key}:${json}`;
    otlp += `${first ? '' : ','}{"key":${key},"value":${value}}`;
    first = false;
  }
  return { canonical: canonical + '}', otlp };
}
