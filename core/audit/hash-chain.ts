// Tamper evidence for the audit trail. Every span carries its chain id, a sequence number, the
// previous span's hash and its own hash: hex SHA-256 over the previous hash and a canonical JSON
// of the span as it is exported (ids, name, times in nanoseconds, attributes, status, events).
// Altering any of those, deleting a span or swapping sequence numbers breaks the chain, which
// `verifyChain` detects. Pure: no I/O, no clock, no randomness (the chain id is given).
import { hash } from 'node:crypto';

export const CHAIN_ATTR = {
  chain: 'sidegate.audit.chain',
  seq: 'sidegate.audit.seq',
  prev: 'sidegate.audit.prev_hash',
  hash: 'sidegate.audit.hash',
} as const;

/** The previous hash of the first span of a chain. */
export const GENESIS = '0'.repeat(64);

/** A span as the chain sees it: the fields of an exported OTLP span that the hash covers. */
export interface ExportedSpanLike {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Decimal nanoseconds since the epoch, as OTLP/JSON writes them. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Readonly<Record<string, unknown>>;
  status?: { code?: number; message?: string };
  events?: readonly { name: string; timeUnixNano?: string; attributes?: Readonly<Record<string, unknown>> }[];
  links?: readonly { traceId: string; spanId: string }[];
}

/** JSON with object keys sorted at every level, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * The canonical form of one span: everything the hash covers, the hash attribute itself excluded.
 * Exactly `canonicalJson` of {traceId, spanId, parentSpanId, name, start, end, attributes, status,
 * events, links}, written out directly because it runs for every command (a test pins the
 * equality). `links` (each {spanId, traceId}) is there only when the span has some, so the hash of
 * a span without links is what it was before links were covered.
 */
export function canonicalSpan(s: ExportedSpanLike, canonicalAttributesWithoutHash?: string): string {
  const status = `{"code":${canonicalJson(s.status?.code ?? 0)},"message":${JSON.stringify(s.status?.message ?? '')}}`;
  let events = '[';
  const list = s.events ?? [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    events += `${i ? ',' : ''}{"attributes":${canonicalAttributes(e.attributes ?? {}, false)},"name":${JSON.stringify(e.name)},"time":${JSON.stringify(normalizeNanos(e.timeUnixNano ?? '0'))}}`;
  }
  events += ']';
  const links = s.links?.length ? `,"links":[${s.links.map((l) => `{"spanId":${JSON.stringify(l.spanId)},"traceId":${JSON.stringify(l.traceId)}}`).join(',')}]` : '';
  return (
    `{"attributes":${canonicalAttributesWithoutHash ?? canonicalAttributes(s.attributes, true)},"end":${JSON.stringify(normalizeNanos(s.endTimeUnixNano))},"events":${events}${links}` +
    `,"name":${JSON.stringify(s.name)},"parentSpanId":${JSON.stringify(s.parentSpanId || '')},"spanId":${JSON.stringify(s.spanId)}` +
    `,"start":${JSON.stringify(normalizeNanos(s.startTimeUnixNano))},"status":${status},"traceId":${JSON.stringify(s.traceId)}}`
  );
}

/** canonicalJson of an attribute map (optionally without the span's own hash). */
function canonicalAttributes(attrs: Readonly<Record<string, unknown>>, withoutHash: boolean): string {
  const keys = Object.keys(attrs).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = attrs[k];
    if (v === undefined || (withoutHash && k === CHAIN_ATTR.hash)) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${typeof v === 'object' ? canonicalJson(v) : (JSON.stringify(v) ?? 'null')}`;
    first = false;
  }
  return out + '}';
}

/**
 * hex SHA-256(prev_hash + "\n" + canonical span). A caller that already has the canonical form of
 * the attributes (the hash attribute left out) passes it rather than have it built again.
 */
export function chainHash(prevHash: string, s: ExportedSpanLike, canonicalAttributesWithoutHash?: string): string {
  return hash('sha256', `${prevHash}\n${canonicalSpan(s, canonicalAttributesWithoutHash)}`, 'hex');
}

const CANONICAL_NANOS = /^(0|[1-9][0-9]*)$/;

function normalizeNanos(n: string): string {
  // "0001" and "1" are the same instant; a collector may re-render the number.
  if (typeof n === 'string' && CANONICAL_NANOS.test(n)) return n;
  try {
    return BigInt(n).toString();
  } catch {
    return String(n);
  }
}

/** The chain attributes a span gets before it is hashed. */
export interface ChainLink {
  [CHAIN_ATTR.chain]: string;
  [CHAIN_ATTR.seq]: number;
  [CHAIN_ATTR.prev]: string;
}

/**
 * One chain: hands out sequence numbers and remembers the last hash. Links must be taken and
 * sealed in the order spans end (single-threaded: `next` then `seal` before the next `next`).
 */
export class HashChain {
  private seq = 0;
  private last = GENESIS;

  constructor(readonly id: string) {}

  /** The chain attributes for the next span. */
  next(): ChainLink {
    return { [CHAIN_ATTR.chain]: this.id, [CHAIN_ATTR.seq]: ++this.seq, [CHAIN_ATTR.prev]: this.last };
  }

  /**
   * Hashes a span sealed with `link` (the next one from `next()`); returns its hash. The hash
   * covers the span's canonical form with `canonicalAttributes` as its attributes when given (the
   * sealer encodes the link with the attributes and passes that), else the span's own attributes,
   * which then hold the link.
   */
  seal(link: ChainLink, span: ExportedSpanLike, canonicalAttributes?: string): string {
    if (link[CHAIN_ATTR.seq] !== this.seq || link[CHAIN_ATTR.prev] !== this.last) {
      throw new Error('audit chain: span sealed out of order');
    }
    this.last = chainHash(this.last, span, canonicalAttributes);
    return this.last;
  }
}

export interface ChainVerification {
  ok: boolean;
  /** Sequence number where the chain first breaks. */
  brokenAt?: number;
  /** The chain that breaks. */
  chain?: string;
  reason?: string;
  /** Number of chains (one per sidecar process run) and spans checked. */
  chains: number;
  spans: number;
}

export interface VerifyOptions {
  /**
   * Accept a chain whose first span is not seq 1 (a trail that was rotated): its first link's
   * prev_hash is then taken on trust. Off by default so a deleted head is detected.
   */
  allowPartial?: boolean;
}

/**
 * Verifies exported spans of one or more chains. Storage order does not matter (collectors and
 * batches reorder): spans are ordered by their hashed sequence number, so a swapped seq, a gap,
 * a duplicate or any altered field breaks the chain.
 */
export function verifyChain(spans: readonly ExportedSpanLike[], opts: VerifyOptions = {}): ChainVerification {
  const byChain = new Map<string, ExportedSpanLike[]>();
  for (const s of spans) {
    const chain = s.attributes[CHAIN_ATTR.chain];
    if (typeof chain !== 'string' || chain === '') {
      return { ok: false, reason: `span ${s.spanId} carries no chain attributes`, chains: byChain.size, spans: spans.length };
    }
    let list = byChain.get(chain);
    if (!list) byChain.set(chain, (list = []));
    list.push(s);
  }
  const fail = (chain: string, brokenAt: number, reason: string): ChainVerification => ({
    ok: false,
    chain,
    brokenAt,
    reason,
    chains: byChain.size,
    spans: spans.length,
  });
  for (const [chain, list] of byChain) {
    const seqOf = (s: ExportedSpanLike) => Number(s.attributes[CHAIN_ATTR.seq]);
    list.sort((a, b) => seqOf(a) - seqOf(b));
    let expectedSeq = seqOf(list[0]!);
    let prev = GENESIS;
    if (expectedSeq !== 1) {
      if (!opts.allowPartial) return fail(chain, 1, `spans 1..${expectedSeq - 1} of the chain are missing`);
      prev = String(list[0]!.attributes[CHAIN_ATTR.prev]);
    }
    for (const s of list) {
      const seq = seqOf(s);
      if (!Number.isSafeInteger(seq)) return fail(chain, expectedSeq, `span ${s.spanId} has no valid sequence number`);
      if (seq < expectedSeq) return fail(chain, seq, `sequence number ${seq} appears twice`);
      if (seq > expectedSeq) return fail(chain, expectedSeq, `span with sequence number ${expectedSeq} is missing`);
      if (s.attributes[CHAIN_ATTR.prev] !== prev) return fail(chain, seq, 'previous-hash link does not match');
      const hash = chainHash(prev, s);
      if (hash !== s.attributes[CHAIN_ATTR.hash]) return fail(chain, seq, 'span content does not match its hash');
      prev = hash;
      expectedSeq++;
    }
  }
  return { ok: true, chains: byChain.size, spans: spans.length };
}
