import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAIN_ATTR, GENESIS, HashChain, canonicalJson, canonicalSpan, chainHash, verifyChain, type ExportedSpanLike } from './hash-chain.js';

/** Builds a chain of `n` spans the way the audit trail does: link, then seal, then set the hash. */
function chainOf(n: number, chainId = 'c0ffee'): ExportedSpanLike[] {
  const chain = new HashChain(chainId);
  const spans: ExportedSpanLike[] = [];
  for (let i = 0; i < n; i++) {
    const link = chain.next();
    const attributes: Record<string, unknown> = { 'db.query.text': `SELECT ? -- ${i}`, 'sidegate.decision': 'allow', ...link };
    const span: ExportedSpanLike = {
      traceId: 'a'.repeat(32),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      parentSpanId: i === 0 ? undefined : '0000000000000001',
      name: i === 0 ? 'postgres session db' : 'SELECT customers',
      startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(i) * 1000n),
      endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(i) * 1000n + 500n),
      attributes,
      status: { code: 0 },
      events: i === 2 ? [{ name: 'sidegate.hold.start', timeUnixNano: '1700000000000002100', attributes: { 'sidegate.rule': 'r' } }] : [],
    };
    attributes[CHAIN_ATTR.hash] = chain.seal(link, span);
    spans.push(span);
  }
  return spans;
}

function clone(spans: ExportedSpanLike[]): ExportedSpanLike[] {
  return JSON.parse(JSON.stringify(spans)) as ExportedSpanLike[];
}

test('canonical JSON sorts keys at every level and ignores storage order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } }), '{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  const [s] = chainOf(1);
  const reordered = { ...s!, attributes: Object.fromEntries(Object.entries(s!.attributes).reverse()) };
  assert.equal(canonicalSpan(reordered), canonicalSpan(s!));
});

test('the direct canonical form of a span is exactly canonicalJson of its hashed fields', () => {
  // The definition the verifier relies on, written out the slow, generic way.
  const reference = (s: ExportedSpanLike) => {
    const { [CHAIN_ATTR.hash]: _h, ...attributes } = s.attributes;
    const nanos = (n: string) => BigInt(n).toString();
    return canonicalJson({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId || '',
      name: s.name,
      start: nanos(s.startTimeUnixNano),
      end: nanos(s.endTimeUnixNano),
      attributes,
      status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
      events: (s.events ?? []).map((e) => ({ name: e.name, time: nanos(e.timeUnixNano ?? '0'), attributes: e.attributes ?? {} })),
      links: s.links?.length ? s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })) : undefined,
    });
  };
  const odd: ExportedSpanLike = {
    traceId: 'b'.repeat(32),
    spanId: 'c'.repeat(16),
    name: 'with "quotes" and \u2028 and ü',
    startTimeUnixNano: '0001700000000000000000',
    endTimeUnixNano: '1700000000000000001',
    attributes: { z: [1, 2.5], a: true, 'm\n': 'x"y', n: undefined, arr: ['a', 'b'], nested: [{ q: 1, p: 2 }], [CHAIN_ATTR.hash]: 'f'.repeat(64) },
    status: { code: 2, message: 'boom' },
    events: [{ name: 'e', timeUnixNano: '5', attributes: { b: 1, a: 'x' } }, { name: 'f' }],
  };
  const linked: ExportedSpanLike = { ...odd, links: [{ traceId: 'd'.repeat(32), spanId: 'e'.repeat(16) }, { traceId: '1'.repeat(32), spanId: '2'.repeat(16) }] };
  for (const s of [...chainOf(4), odd, linked, { ...odd, links: [] }]) assert.equal(canonicalSpan(s), reference(s));
});

test('a span\'s links are covered by its hash', () => {
  const link = { traceId: 'd'.repeat(32), spanId: 'e'.repeat(16) };
  const chain = new HashChain('c1');
  const l = chain.next();
  const span: ExportedSpanLike = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'vote', startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: { ...l }, links: [link] };
  (span.attributes as Record<string, unknown>)[CHAIN_ATTR.hash] = chain.seal(l, span);
  assert.equal(verifyChain([span]).ok, true);
  const relinked = { ...span, links: [{ ...link, spanId: 'f'.repeat(16) }] };
  assert.equal(verifyChain([relinked]).reason, 'span content does not match its hash');
  assert.equal(verifyChain([{ ...span, links: [] }]).reason, 'span content does not match its hash');
});

test('a freshly built chain verifies, in any storage order', () => {
  const spans = chainOf(5);
  assert.equal(spans[0]!.attributes[CHAIN_ATTR.prev], GENESIS);
  assert.equal(spans[1]!.attributes[CHAIN_ATTR.prev], spans[0]!.attributes[CHAIN_ATTR.hash]);
  assert.deepEqual(verifyChain(spans), { ok: true, chains: 1, spans: 5 });
  assert.equal(verifyChain([...spans].reverse()).ok, true);
});

test('altering any hashed field is detected at that span', () => {
  const mutations: [string, (s: ExportedSpanLike) => void][] = [
    ['attribute value', (s) => ((s.attributes as Record<string, unknown>)['db.query.text'] = 'SELECT 1')],
    ['added attribute', (s) => ((s.attributes as Record<string, unknown>)['sidegate.approval.approver'] = 'mallory')],
    ['removed attribute', (s) => delete (s.attributes as Record<string, unknown>)['sidegate.decision']],
    ['name', (s) => (s.name = 'SELECT orders')],
    ['end time', (s) => (s.endTimeUnixNano = String(BigInt(s.endTimeUnixNano) + 1n))],
    ['status', (s) => (s.status = { code: 2, message: 'denied' })],
    ['parent', (s) => (s.parentSpanId = 'ffffffffffffffff')],
    ['event attribute', (s) => ((s.events![0]!.attributes as Record<string, unknown>)['sidegate.rule'] = 'other')],
  ];
  for (const [what, mutate] of mutations) {
    const spans = clone(chainOf(4));
    mutate(spans[2]!);
    const result = verifyChain(spans);
    assert.equal(result.ok, false, what);
    assert.equal(result.brokenAt, 3, what);
    assert.match(result.reason!, /does not match/, what);
  }
});

test('recomputing a tampered span hash still breaks the next link', () => {
  const spans = clone(chainOf(4));
  const victim = spans[1]!;
  (victim.attributes as Record<string, unknown>)['sidegate.decision'] = 'deny';
  // A forger who rehashes the altered span cannot fix the following span's prev_hash without rehashing the rest.
  (victim.attributes as Record<string, unknown>)[CHAIN_ATTR.hash] = chainHash(String(victim.attributes[CHAIN_ATTR.prev]), victim);
  const result = verifyChain(spans);
  assert.equal(result.ok, false);
  assert.equal(result.brokenAt, 3);
  assert.match(result.reason!, /previous-hash/);
});

test('deleting a span is detected, at the head too', () => {
  const spans = chainOf(4);
  const middle = verifyChain(spans.filter((_, i) => i !== 2));
  assert.equal(middle.ok, false);
  assert.equal(middle.brokenAt, 3);
  assert.match(middle.reason!, /missing/);
  const head = verifyChain(spans.slice(1));
  assert.equal(head.ok, false);
  assert.match(head.reason!, /missing/);
  assert.equal(verifyChain(spans.slice(1), { allowPartial: true }).ok, true, 'a rotated trail can be checked from its first link');
});

test('reordering (swapped sequence numbers) and duplicates are detected', () => {
  const spans = clone(chainOf(4));
  const a = spans[1]!.attributes as Record<string, unknown>;
  const b = spans[2]!.attributes as Record<string, unknown>;
  [a[CHAIN_ATTR.seq], b[CHAIN_ATTR.seq]] = [b[CHAIN_ATTR.seq], a[CHAIN_ATTR.seq]];
  assert.equal(verifyChain(spans).ok, false);
  const dup = chainOf(3);
  const twice = verifyChain([...dup, clone(dup)[1]!]);
  assert.equal(twice.ok, false);
  assert.match(twice.reason!, /twice/);
});

test('several chains (one per process run) verify independently; a span without chain attributes fails', () => {
  const spans = [...chainOf(3, 'run-1'), ...chainOf(2, 'run-2')];
  assert.deepEqual(verifyChain(spans), { ok: true, chains: 2, spans: 5 });
  const broken = clone(spans);
  (broken[4]!.attributes as Record<string, unknown>)['db.query.text'] = 'x';
  const result = verifyChain(broken);
  assert.equal(result.ok, false);
  assert.equal(result.chain, 'run-2');
  const unchained = { ...spans[0]!, attributes: { 'db.query.text': 'x' } };
  assert.match(verifyChain([unchained]).reason!, /no chain attributes/);
});

test('sealing out of order is refused', () => {
  const chain = new HashChain('x');
  const link = chain.next();
  chain.next();
  const span: ExportedSpanLike = { traceId: 't', spanId: 's', name: 'n', startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: { ...link } };
  assert.throws(() => chain.seal(link, span), /out of order/);
});
