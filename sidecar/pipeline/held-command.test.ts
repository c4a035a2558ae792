import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingHash, heldCommand, MAX_SHOWN_PARAM_BYTES, MAX_SHOWN_PARAMS, type HeldCommandInput } from './held-command.js';

const base: HeldCommandInput = { sessionId: 's1', target: 'db', sql: Buffer.from("DELETE FROM orders WHERE status <> 'x'") };
const bound = (values: (Buffer | null)[], formats: number[] = [], types: number[] = [], resultFormats: number[] = []): HeldCommandInput => ({
  ...base,
  sql: Buffer.from('DELETE FROM orders WHERE id = $1 AND note = $2'),
  parameters: { values, formats, types, resultFormats },
});

test('the full statement is shown, literals and all', () => {
  const held = heldCommand(base);
  assert.equal(held.command, "DELETE FROM orders WHERE status <> 'x'");
  assert.match(held.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(held.parameters, undefined);
});

test('text parameters as text, binary as hex with type and format, NULL as null', () => {
  const held = heldCommand(bound([Buffer.from('42'), Buffer.from([0, 0, 0, 7]), null], [0, 1, 0], [23, 23]));
  assert.deepEqual(held.parameters, [
    { position: 1, format: 'text', typeOid: 23, value: '42', bytes: 2 },
    { position: 2, format: 'binary', typeOid: 23, value: '00000007', hex: true, bytes: 4 },
    { position: 3, format: 'text', typeOid: 0, value: null, bytes: 0 },
  ]);
  // One format code applies to every parameter.
  assert.equal(heldCommand(bound([Buffer.from('a'), Buffer.from('b')], [1])).parameters![1]!.format, 'binary');
});

test('text that is not UTF-8 is shown as hex, statements as \\xNN escapes (flagged)', () => {
  assert.equal(heldCommand(bound([Buffer.from([0xff, 0x41])])).parameters![0]!.hex, true);
  const held = heldCommand({ ...base, sql: Buffer.from([0x53, 0x45, 0x4c, 0x95, 0x5c]) });
  assert.equal(held.command, 'SEL\\x95\\');
  assert.equal(held.commandEscaped, true);
});

test('display is bounded and says so; the hash still covers every byte', () => {
  const long = Buffer.from('é'.repeat(MAX_SHOWN_PARAM_BYTES)); // 2 bytes each: the cut falls on a boundary or inside
  const p = heldCommand(bound([long, Buffer.concat([Buffer.from('x'), long])])).parameters!;
  for (const shown of p) {
    assert.equal(shown.truncated, true);
    assert.ok(Buffer.byteLength(shown.value!) <= MAX_SHOWN_PARAM_BYTES);
    assert.ok(!shown.value!.includes('\ufffd'));
  }
  const a = Buffer.alloc(MAX_SHOWN_PARAM_BYTES + 10, 0x61);
  const b = Buffer.from(a);
  b[b.length - 1] = 0x62; // differs only past what is shown
  assert.notEqual(bindingHash(bound([a])), bindingHash(bound([b])));
  const many = heldCommand(bound(Array.from({ length: MAX_SHOWN_PARAMS + 5 }, () => Buffer.from('1'))));
  assert.equal(many.parameters!.length, MAX_SHOWN_PARAMS);
  assert.equal(many.parametersOmitted, 5);
});

test('the hash changes with every input it binds', () => {
  const p = bound([Buffer.from('1'), Buffer.from('2')], [0], [23], [1]);
  const h = bindingHash(p);
  const variants: HeldCommandInput[] = [
    { ...p, sessionId: 's2' },
    { ...p, target: 'other' },
    { ...p, sql: Buffer.from('DELETE FROM orders WHERE id = $1 AND note = $2 ') },
    { ...p, parameters: { ...p.parameters!, values: [Buffer.from('1'), Buffer.from('3')] } },
    { ...p, parameters: { ...p.parameters!, values: [Buffer.from('1'), null] } },
    { ...p, parameters: { ...p.parameters!, values: [Buffer.from('1'), Buffer.alloc(0)] } },
    { ...p, parameters: { ...p.parameters!, values: [Buffer.from('12'), Buffer.alloc(0)] } },
    { ...p, parameters: { ...p.parameters!, formats: [1] } },
    { ...p, parameters: { ...p.parameters!, formats: [] } },
    { ...p, parameters: { ...p.parameters!, types: [25] } },
    { ...p, parameters: { ...p.parameters!, resultFormats: [0] } },
    { ...p, parameters: undefined },
    { ...p, context: 'DECLARE c CURSOR FOR DELETE FROM orders RETURNING *' },
  ];
  const seen = new Set([h]);
  for (const v of variants) seen.add(bindingHash(v));
  assert.equal(seen.size, variants.length + 1);
  assert.equal(bindingHash(bound([Buffer.from('1'), Buffer.from('2')], [0], [23], [1])), h, 'deterministic');
});

test('context (what else the command runs) is shown in full and bound', () => {
  const fetch = { ...base, sql: Buffer.from('FETCH ALL FROM c') };
  const a = heldCommand({ ...fetch, context: "DECLARE c CURSOR FOR SELECT * FROM orders WHERE status <> 'x'" });
  assert.equal(a.context, "DECLARE c CURSOR FOR SELECT * FROM orders WHERE status <> 'x'");
  assert.notEqual(a.hash, heldCommand({ ...fetch, context: "DECLARE c CURSOR FOR SELECT * FROM orders WHERE status <> 'y'" }).hash);
});
