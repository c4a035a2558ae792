// Tamper evidence for the audit trail. Every span carries a sequence number, the previous span's
// hash and its own: SHA-256 over the previous hash and a canonical form of the span (ids, name,
// times, attributes, error). Deleting, reordering or altering any span breaks the chain, which
// `verifyChain` (and `sidegate audit verify`) detects. Events are not part of the hash.
import { createHash, randomBytes } from 'node:crypto';
import type { FlatSpan, FlatValue } from './otlp-json-reader.js';

export const CHAIN_ATTR = {
  chain: 'sidegate.audit.chain',
  seq: 'sidegate.audit.seq',
  prev: 'sidegate.audit.prev_hash',
  hash: 'sidegate.audit.hash',
} as const;

export interface ChainInput {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, FlatValue>;
  error?: string;
}

export function canonicalSpan(s: ChainInput): string {
  const attrs: Record<string, FlatValue> = {};
  for (const k of Object.keys(s.attributes).sort()) if (k !== CHAIN_ATTR.hash) attrs[k] = s.attributes[k]!;
  return JSON.stringify([s.traceId, s.spanId, s.parentSpanId ?? '', s.name, s.startMs, s.endMs, attrs, s.error ?? '']);
}

export function chainHash(prev: string, s: ChainInput): string {
  return createHash('sha256').update(prev).update('\n').update(canonicalSpan(s)).digest('hex');
}

export const GENESIS = '0'.repeat(64);

/** One chain per process: seq and hash of the last span ended. */
export class HashChain {
  readonly id = randomBytes(8).toString('hex');
  private seq = 0;
  private last = GENESIS;

  /** Adds the chain attributes to `input.attributes` and returns them (set them on the span). */
  link(input: ChainInput): Record<string, string | number> {
    const added = { [CHAIN_ATTR.chain]: this.id, [CHAIN_ATTR.seq]: ++this.seq, [CHAIN_ATTR.prev]: this.last };
    Object.assign(input.attributes, added);
    const hash = chainHash(this.last, input);
    this.last = hash;
    return { ...added, [CHAIN_ATTR.hash]: hash };
  }
}

/** Verifies exported spans (any order) of one or more chains. */
export function verifyChain(spans: readonly FlatSpan[]): { ok: boolean; brokenAt?: number; reason?: string; chains: number } {
  const byChain = new Map<string, FlatSpan[]>();
  for (const s of spans) {
    const chain = String(s.attributes[CHAIN_ATTR.chain] ?? '');
    if (!chain) return { ok: false, reason: `span ${s.spanId} carries no chain attributes`, chains: byChain.size };
    if (!byChain.has(chain)) byChain.set(chain, []);
    byChain.get(chain)!.push(s);
  }
  for (const list of byChain.values()) {
    list.sort((a, b) => Number(a.attributes[CHAIN_ATTR.seq]) - Number(b.attributes[CHAIN_ATTR.seq]));
    let prev = GENESIS;
    let expectedSeq = Number(list[0]!.attributes[CHAIN_ATTR.seq]);
    if (expectedSeq !== 1 && String(list[0]!.attributes[CHAIN_ATTR.prev]) !== prev) {
      // A trail that starts mid-chain (rotated file): trust the first link's prev as the anchor.
      prev = String(list[0]!.attributes[CHAIN_ATTR.prev]);
    }
    for (const s of list) {
      const seq = Number(s.attributes[CHAIN_ATTR.seq]);
      if (seq !== expectedSeq) return { ok: false, brokenAt: expectedSeq, reason: `span with seq ${expectedSeq} is missing`, chains: byChain.size };
      if (String(s.attributes[CHAIN_ATTR.prev]) !== prev) return { ok: false, brokenAt: seq, reason: 'previous-hash link does not match', chains: byChain.size };
      const input: ChainInput = {
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        name: s.name,
        startMs: nanosToMs(s.startTimeUnixNano),
        endMs: nanosToMs(s.endTimeUnixNano),
        attributes: s.attributes,
        error: s.status?.code === 2 ? (s.status.message ?? '') : undefined,
      };
      const hash = chainHash(prev, input);
      if (hash !== String(s.attributes[CHAIN_ATTR.hash])) return { ok: false, brokenAt: seq, reason: 'span content does not match its hash', chains: byChain.size };
      prev = hash;
      expectedSeq++;
    }
  }
  return { ok: true, chains: byChain.size };
}

function nanosToMs(nanos: string): number {
  return Number(BigInt(nanos) / 1_000_000n);
}
