import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAIN_ATTR, HashChain, verifyChain } from './hash-chain.js';
import { flattenTraceRequest } from './otlp-json-reader.js';
import { otlpAttributesJson, otlpResourceJson, otlpSpanJson, otlpTraceRequestJson, type EndedSpan } from './otlp-span-json.js';
import { SpanSealer } from './span-sealer.js';

function span(i: number, attributes: EndedSpan['attributes']): EndedSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i ? '0000000000000001' : undefined,
    name: `span ${i}`,
    kind: i ? 3 : 2,
    startTimeUnixNano: String(1_800_000_000_000_000_000n + BigInt(i)),
    endTimeUnixNano: String(1_800_000_000_000_000_500n + BigInt(i)),
    attributes,
    events: i === 1 ? [{ name: 'sidegate.hold.start', timeUnixNano: '1800000000000000100', attributes: { 'sidegate.rule': 'r', n: 2 } }] : [],
    status: i === 2 ? { code: 2, message: 'denied "x"' } : { code: 0 },
  };
}

test('sealed spans carry their chain link and hash, encode as the general encoder does, and verify', () => {
  const pushed: string[] = [];
  const sealer = new SpanSealer(new HashChain('feed'), { push: (j) => pushed.push(j) });
  const spans = [
    span(0, { 'sidegate.target': 'db', 'server.port': 5432 }),
    span(1, { z: 'last', a: 'first', 'db.query.text': 'SELECT "q" \u2028 ü', f: 1.5, neg: -3, yes: true, list: ['a', 'b'], nums: [1, 2.5], flags: [false] }),
    span(2, {}),
  ];
  for (const s of spans) sealer.add(s);
  assert.equal(pushed.length, 0, 'sealing waits for the end of the turn');
  sealer.sealPending();
  assert.equal(pushed.length, 3);
  spans.forEach((s, i) => {
    // Same span, same attributes as the general encoder writes them (order aside), chain link and
    // hash included.
    const ours = JSON.parse(pushed[i]!) as { attributes: { key: string; value: { stringValue?: string; intValue?: number } }[] };
    const valueOf = (key: string) => ours.attributes.find((a) => a.key === key)?.value;
    assert.equal(valueOf(CHAIN_ATTR.seq)?.intValue, i + 1);
    assert.equal(valueOf(CHAIN_ATTR.chain)?.stringValue, 'feed');
    const linked = {
      ...s.attributes,
      [CHAIN_ATTR.chain]: 'feed',
      [CHAIN_ATTR.seq]: i + 1,
      [CHAIN_ATTR.prev]: valueOf(CHAIN_ATTR.prev)!.stringValue!,
      [CHAIN_ATTR.hash]: valueOf(CHAIN_ATTR.hash)!.stringValue!,
    };
    const general = JSON.parse(otlpSpanJson({ ...s, attributes: linked })) as typeof ours;
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    assert.deepEqual({ ...ours, attributes: ours.attributes.sort(byKey) }, { ...general, attributes: general.attributes.sort(byKey) });
    assert.equal(JSON.parse(otlpAttributesJson(linked)).length, ours.attributes.length);
  });
  // What a collector would receive verifies: the hash covers exactly what was exported.
  const body = otlpTraceRequestJson(pushed.map((p) => ({ resource: otlpResourceJson({ 'service.name': 'sidegate' }), span: p })));
  assert.deepEqual(verifyChain(flattenTraceRequest(JSON.parse(body))), { ok: true, chains: 1, spans: 3 });
  // And any change to what was exported breaks it.
  const tampered = flattenTraceRequest(JSON.parse(body.replace('SELECT \\"q\\"', 'SELECT \\"r\\"')));
  assert.equal(verifyChain(tampered).ok, false);
});

test('an attribute encoded for one span is not reused for another span whose value differs', () => {
  const pushed: string[] = [];
  const sealer = new SpanSealer(new HashChain('memo'), { push: (j) => pushed.push(j) });
  const tables = ['a', 'b'];
  const values: EndedSpan['attributes'][] = [
    { 'sidegate.rule': 'r1', 'sidegate.statement.tables': tables, n: 1 },
    { 'sidegate.rule': 'r1', 'sidegate.statement.tables': tables, n: 1 }, // same values: may reuse
    { 'sidegate.rule': 'r2', 'sidegate.statement.tables': ['a', 'c'], n: 1.5 },
    { 'sidegate.rule': 'r2', 'sidegate.statement.tables': ['a'], n: '1.5' },
  ];
  const spans = values.map((v, i) => span(i + 3, v));
  sealer.add(spans[0]!);
  sealer.add(spans[1]!);
  sealer.sealPending();
  tables[1] = 'c'; // the caller's array changes after sealing, to what the next span carries
  sealer.add(span(9, { 'sidegate.statement.tables': ['a', 'c'] }));
  sealer.add(spans[2]!);
  sealer.add(spans[3]!);
  sealer.sealPending();
  const attrs = pushed.map((p) => (JSON.parse(p) as { attributes: { key: string; value: unknown }[] }).attributes);
  const valueOf = (i: number, key: string) => attrs[i]!.find((a) => a.key === key)?.value;
  assert.deepEqual(valueOf(1, 'sidegate.statement.tables'), { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
  assert.deepEqual(valueOf(2, 'sidegate.statement.tables'), { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'c' }] } });
  assert.deepEqual(valueOf(3, 'sidegate.rule'), { stringValue: 'r2' });
  assert.deepEqual(valueOf(3, 'sidegate.statement.tables'), { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'c' }] } });
  assert.deepEqual(valueOf(3, 'n'), { doubleValue: 1.5 });
  assert.deepEqual(valueOf(4, 'n'), { stringValue: '1.5' });
  assert.deepEqual(valueOf(4, 'sidegate.statement.tables'), { arrayValue: { values: [{ stringValue: 'a' }] } });
  // Every span still verifies against its hash.
  const body = otlpTraceRequestJson(pushed.map((p) => ({ resource: otlpResourceJson({}), span: p })));
  assert.deepEqual(verifyChain(flattenTraceRequest(JSON.parse(body))), { ok: true, chains: 1, spans: 5 });
});

test("a caller's own values for the chain's keys are ignored: one link, and the span verifies", () => {
  const pushed: string[] = [];
  const sealer = new SpanSealer(new HashChain('own'), { push: (j) => pushed.push(j) });
  sealer.add(span(0, { [CHAIN_ATTR.seq]: 99, [CHAIN_ATTR.prev]: 'forged', [CHAIN_ATTR.chain]: 'other', [CHAIN_ATTR.hash]: 'forged', x: 1 }));
  sealer.sealPending();
  const attrs = (JSON.parse(pushed[0]!) as { attributes: { key: string; value: Record<string, unknown> }[] }).attributes;
  const chainKeys = attrs.filter((a) => a.key.startsWith('sidegate.audit.'));
  assert.deepEqual(chainKeys.map((a) => a.key).sort(), [CHAIN_ATTR.chain, CHAIN_ATTR.hash, CHAIN_ATTR.prev, CHAIN_ATTR.seq].sort());
  assert.deepEqual(chainKeys.find((a) => a.key === CHAIN_ATTR.seq)!.value, { intValue: 1 });
  assert.deepEqual(chainKeys.find((a) => a.key === CHAIN_ATTR.chain)!.value, { stringValue: 'own' });
  const body = otlpTraceRequestJson(pushed.map((p) => ({ resource: otlpResourceJson({}), span: p })));
  assert.deepEqual(verifyChain(flattenTraceRequest(JSON.parse(body))), { ok: true, chains: 1, spans: 1 });
});

test('a span over a shared base seals to exactly the bytes of the same span with the attributes merged', () => {
  const viaBase: string[] = [];
  const merged: string[] = [];
  const withBase = new SpanSealer(new HashChain('same'), { push: (j) => viaBase.push(j) });
  const flat = new SpanSealer(new HashChain('same'), { push: (j) => merged.push(j) });
  const base = {
    'db.query.text': 'SELECT ?',
    'sidegate.statement.kinds': ['select', 'read'],
    'server.port': 5432,
    constructor: 'base value',
    [CHAIN_ATTR.seq]: 77, // a base cannot forge the link either
    m: 'middle',
  };
  const owns: EndedSpan['attributes'][] = [
    {},
    { 'sidegate.rows_returned': 1, 'sidegate.command_tag': 'SELECT 1' },
    { 'sidegate.rows_returned': 2, 'sidegate.command_tag': 'SELECT 2' }, // same keys: the layout is reused
    { a: 'sorts first', 'db.query.text': 'own text wins', zz: [1, 2] },
    { [CHAIN_ATTR.hash]: 'forged', [CHAIN_ATTR.prev]: 'forged', toString: 'own' },
    { 'with\u0000nul': true, m: 'own middle' }, // not a layout key list: the general path
  ];
  const emptyBase = {};
  let i = 0;
  for (const b of [base, emptyBase]) {
    for (const own of owns) {
      const s = span(10 + i++, own);
      withBase.add({ ...s, attributes: { ...own }, baseAttributes: b });
      flat.add({ ...s, attributes: { ...b, ...own } });
    }
  }
  withBase.sealPending();
  flat.sealPending();
  assert.equal(viaBase.length, owns.length * 2);
  assert.deepEqual(viaBase, merged);
  const attrs = (JSON.parse(viaBase[3]!) as { attributes: { key: string; value: Record<string, unknown> }[] }).attributes;
  assert.deepEqual(attrs.find((a) => a.key === 'db.query.text')!.value, { stringValue: 'own text wins' });
  assert.deepEqual(attrs.find((a) => a.key === 'constructor')!.value, { stringValue: 'base value' });
  const body = otlpTraceRequestJson(viaBase.map((p) => ({ resource: otlpResourceJson({}), span: p })));
  assert.deepEqual(verifyChain(flattenTraceRequest(JSON.parse(body))), { ok: true, chains: 1, spans: owns.length * 2 });
});
