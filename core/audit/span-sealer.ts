// Seals ended spans in the order they ended: chain link, hash over exactly what is exported,
// OTLP/JSON encoding, hand-off to the sink (spool or file). Sealing waits for the end of the
// current turn of the event loop (setImmediate), so the bytes that completed a command reach the
// client first and the audit work follows them, off the command's round trip; the span's times
// were taken when it really ended. Everything ended is sealed before a flush or shutdown.
//
// It stays on the proxy's thread on purpose: on a busy machine a worker thread falls behind (no
// core to spare) and spans queue without bound. Here the audit work paces the proxy instead, and
// memory stays flat.
import type { BoundedValue } from './attribute-values.js';
import type { EndedSpanSink } from './audit-span.js';
import { CHAIN_ATTR, canonicalJson, type ChainLink, type HashChain } from './hash-chain.js';
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
      // The link is encoded with the attributes, not added to the span's own attribute object
      // (growing that object for four more keys cost more than encoding them).
      const link = this.chain.next();
      const encoded = encodeAttributes(span.attributes, span.baseAttributes, link);
      const hash = this.chain.seal(link, span, encoded.canonical);
      this.sink.push(otlpSpanJson(span, `${encoded.otlp},{"key":"${CHAIN_ATTR.hash}","value":{"stringValue":"${hash}"}}]`));
    }
  }
}

/**
 * One attribute in both encoded forms: `"key":json` for the canonical form, a KeyValue for OTLP;
 * each also with the comma that joins it to the one before (one string less to build per join).
 */
interface EncodedAttribute {
  value: BoundedValue;
  canonical: string;
  otlp: string;
  canonicalJoined: string;
  otlpJoined: string;
}

/**
 * A string kept to be joined into many spans, as one flat string. Joining strings makes a rope
 * (V8's cons string), and every hash or write of a span flattens its rope by walking it to the
 * leaves: a kept piece that is itself a rope would be walked again in every span, the largest
 * single cost of sealing (docs/BENCHMARKS.md). Number() flattens in place.
 */
function flat(s: string): string {
  if (s.length > 12) Number(s);
  return s;
}

/**
 * The last encoding of each attribute name, reused while the value stays the same: most of a
 * command's attributes (identity, target, session, statement shape, decision) repeat from one
 * span to the next, and encoding them is most of the sealing work. Bounded: attribute names are
 * few, but a caller could invent many.
 */
const lastEncoded = new Map<string, EncodedAttribute>();

function sameValue(a: BoundedValue, b: BoundedValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodedAttribute(k: string, v: BoundedValue): EncodedAttribute {
  const last = lastEncoded.get(k);
  if (last !== undefined && sameValue(last.value, v)) return last;
  const key = JSON.stringify(k);
  let json: string;
  let value: string;
  if (typeof v === 'object') {
    json = canonicalJson(v);
    value = anyValue(v);
  } else {
    json = JSON.stringify(v);
    value = scalarAnyValue(v, json);
  }
  // Arrays are copied: the caller's array could change after it was remembered.
  const canonical = `${key}:${json}`;
  const otlp = `{"key":${key},"value":${value}}`;
  const encoded = {
    value: typeof v === 'object' ? ([...v] as BoundedValue) : v,
    canonical: flat(canonical),
    otlp: flat(otlp),
    canonicalJoined: flat(`,${canonical}`),
    otlpJoined: flat(`,${otlp}`),
  };
  if (last === undefined && lastEncoded.size >= 4096) lastEncoded.clear();
  lastEncoded.set(k, encoded);
  return encoded;
}

/**
 * The attributes (the span's own over its shared base) and the chain link (without the hash) in
 * both forms the seal needs, from one pass over the sorted keys: the canonical JSON the hash
 * covers (hash-chain.ts; a test pins the equality) and the OTLP KeyValue list, left open for the
 * hash attribute. A caller's own values for the chain's keys are ignored. This runs for every
 * command.
 */
function encodeAttributes(
  attrs: Readonly<Record<string, BoundedValue>>,
  base: Readonly<Record<string, BoundedValue>> | undefined,
  link: ChainLink,
): { canonical: string; otlp: string } {
  if (base) {
    const layout = layoutOver(base, attrs);
    if (layout) return encodeWithLayout(layout, attrs, link);
    attrs = { ...base, ...attrs }; // no layout (a NUL in a key): merged, then the general path
  }
  const keys = Object.keys(attrs);
  keys.push(CHAIN_ATTR.chain, CHAIN_ATTR.prev, CHAIN_ATTR.seq);
  keys.sort();
  let canonical = '{';
  let otlp = '[';
  let previous = '';
  for (const k of keys) {
    if (k === previous || k === CHAIN_ATTR.hash) continue; // a chain key the caller set too
    previous = k;
    const first = canonical.length === 1;
    if (k === CHAIN_ATTR.seq || k === CHAIN_ATTR.prev) {
      const e = linkEncoding(k, link, !first);
      canonical += e.canonical;
      otlp += e.otlp;
    } else {
      const v = k === CHAIN_ATTR.chain ? link[k] : attrs[k];
      if (v === undefined) continue;
      const e = encodedAttribute(k, v);
      canonical += first ? e.canonical : e.canonicalJoined;
      otlp += first ? e.otlp : e.otlpJoined;
    }
  }
  return { canonical: canonical + '}', otlp };
}

/** The link's sequence number or previous hash: new with every span, so encoded directly. */
function linkEncoding(k: typeof CHAIN_ATTR.seq | typeof CHAIN_ATTR.prev, link: ChainLink, joined: boolean): { canonical: string; otlp: string } {
  const json = JSON.stringify(link[k]);
  const comma = joined ? ',' : '';
  return {
    canonical: `${comma}"${k}":${json}`,
    otlp: k === CHAIN_ATTR.seq ? `${comma}{"key":"${k}","value":{"intValue":${json}}}` : `${comma}{"key":"${k}","value":{"stringValue":${json}}}`,
  };
}

/**
 * A shared base's attributes encoded once, in key order, around the places where a span's own
 * keys and the chain link go: `canonical[i]` and `otlp[i]` come before `vars[i]`, the last ones
 * after the last variable. Spans of
 * one statement share a base and, mostly, the same own keys, so sealing one is a dozen string
 * joins instead of sorting and looking up every key.
 */
interface Layout {
  canonical: string[];
  otlp: string[];
  vars: string[];
}

const CHAIN_KEYS: ReadonlySet<string> = new Set(Object.values(CHAIN_ATTR));
/** Layouts per base, by the span's own keys; a few per base (own keys vary with the outcome). */
const layouts = new WeakMap<object, Map<string, Layout>>();
const MAX_LAYOUTS_PER_BASE = 16;

/** The layout for this base and these own keys; undefined when they cannot be told apart by a NUL-joined key list. */
function layoutOver(base: Readonly<Record<string, BoundedValue>>, attrs: Readonly<Record<string, BoundedValue>>): Layout | undefined {
  const ownKeys = Object.keys(attrs);
  const signature = ownKeys.join('\u0000');
  let byOwn = layouts.get(base);
  const known = byOwn?.get(signature);
  if (known) return known;
  if (ownKeys.some((k) => k.includes('\u0000'))) return undefined;
  if (!byOwn || byOwn.size >= MAX_LAYOUTS_PER_BASE) {
    byOwn = new Map();
    layouts.set(base, byOwn);
  }
  const own = new Set(ownKeys);
  const keys = Object.keys(base).filter((k) => !own.has(k) && !CHAIN_KEYS.has(k));
  for (const k of ownKeys) if (!CHAIN_KEYS.has(k)) keys.push(k);
  keys.push(CHAIN_ATTR.chain, CHAIN_ATTR.prev, CHAIN_ATTR.seq);
  keys.sort();
  const layout: Layout = { canonical: [], otlp: [], vars: [] };
  let canonical = '';
  let otlp = '';
  let first = true;
  for (const k of keys) {
    if (own.has(k) || CHAIN_KEYS.has(k)) {
      layout.canonical.push(flat(canonical));
      layout.otlp.push(flat(otlp));
      layout.vars.push(k);
      canonical = otlp = '';
    } else {
      const e = encodedAttribute(k, base[k]!);
      canonical += first ? e.canonical : e.canonicalJoined;
      otlp += first ? e.otlp : e.otlpJoined;
    }
    first = false;
  }
  layout.canonical.push(flat(canonical));
  layout.otlp.push(flat(otlp));
  byOwn.set(signature, layout);
  return layout;
}

function encodeWithLayout(layout: Layout, attrs: Readonly<Record<string, BoundedValue>>, link: ChainLink): { canonical: string; otlp: string } {
  let canonical = '{' + layout.canonical[0];
  let otlp = '[' + layout.otlp[0];
  const vars = layout.vars;
  for (let i = 0; i < vars.length; i++) {
    const k = vars[i]!;
    // Only the very first attribute goes without a comma.
    const joined = i > 0 || layout.canonical[0]!.length > 0;
    if (k === CHAIN_ATTR.seq || k === CHAIN_ATTR.prev) {
      const e = linkEncoding(k, link, joined);
      canonical += e.canonical;
      otlp += e.otlp;
    } else {
      const e = encodedAttribute(k, k === CHAIN_ATTR.chain ? link[k] : attrs[k]!);
      canonical += joined ? e.canonicalJoined : e.canonical;
      otlp += joined ? e.otlpJoined : e.otlp;
    }
    canonical += layout.canonical[i + 1];
    otlp += layout.otlp[i + 1];
  }
  return { canonical: canonical + '}', otlp };
}
