// Binary values come from the real test PostgreSQL 15 (its *_send functions produce exactly what a
// binary-format DataRow carries), and masked results are compared with what the server itself
// sends for the masked value, so "not corrupted" means "byte-identical to a real value".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { connectDirect } from '../../../test/support/direct-postgres.js';
import { planResultMasking, type ResultColumn } from '../../masking/result-masker.js';
import { isTextualPgType, maskPgValue, PG_TYPE } from './value-format.js';
import type { MaskingRule } from '../../../core/vocabulary.js';

let client: pg.Client;

before(async () => {
  client = await connectDirect();
});

after(async () => {
  await client?.end();
});

/** The binary wire form of a SQL expression, e.g. `jsonb_send('{}'::jsonb)`. */
async function wire(sendExpression: string): Promise<Buffer> {
  const r = await client.query<{ v: Buffer }>(`SELECT ${sendExpression} AS v`);
  return r.rows[0]!.v;
}

const rules: MaskingRule[] = [
  { name: 'columns', columns: ['*.card', '*.amount', '*.doc_masked'], detectors: [], strategy: 'redact' },
  { name: 'detect', columns: [], detectors: [{ kind: 'builtin', name: 'email' }], strategy: 'redact' },
];
const column = (name: string, oid: number): ResultColumn => ({ name, textual: isTextualPgType(oid) });
const columns = [
  column('card', PG_TYPE.text),
  column('amount', 23),
  column('doc', PG_TYPE.jsonb),
  column('n', 23),
  column('tags', 1009),
  column('doc_masked', PG_TYPE.jsonb),
  column('note', PG_TYPE.varchar),
];
const plan = () => planResultMasking(rules, columns)!;

test('binary text is masked in place, like its text format', async () => {
  const m = plan();
  const masked = maskPgValue(m, 0, 1, PG_TYPE.text, await wire(`textsend('4111111111111111')`));
  assert.deepEqual(masked.value, await wire(`textsend('[REDACTED]')`));
  const note = maskPgValue(m, 6, 1, PG_TYPE.varchar, await wire(`varcharsend('mail ada@example.com'::varchar)`));
  assert.deepEqual(note.value, await wire(`varcharsend('mail [REDACTED:email]'::varchar)`));
  assert.equal(m.totalMasked, 2);
});

test('a binary int4 under a column rule becomes NULL; with only detectors it is untouched', async () => {
  const m = plan();
  const int4 = await wire('int4send(42)');
  assert.equal(int4.length, 4);
  assert.deepEqual(maskPgValue(m, 1, 1, 23, int4), { value: null, masked: 1 });
  assert.equal(maskPgValue(m, 3, 1, 23, int4).value, int4, 'the same buffer');
  assert.equal(m.totalMasked, 1, 'the NULL counts');
});

test('binary jsonb keeps its version byte and stays a valid jsonb value', async () => {
  const m = plan();
  const doc = await wire(`jsonb_send('{"to": "ada@example.com", "n": 1}'::jsonb)`);
  assert.equal(doc[0], 1, 'version byte from the server');
  const masked = maskPgValue(m, 2, 1, PG_TYPE.jsonb, doc);
  assert.deepEqual(masked.value, await wire(`jsonb_send('{"to": "[REDACTED:email]", "n": 1}'::jsonb)`));
  const whole = maskPgValue(m, 5, 1, PG_TYPE.jsonb, doc);
  assert.deepEqual(whole.value, await wire(`jsonb_send('"[REDACTED]"'::jsonb)`), 'a column rule gives a jsonb string');
  const clean = await wire(`jsonb_send('{"a": [1, 2]}'::jsonb)`);
  assert.equal(maskPgValue(m, 2, 1, PG_TYPE.jsonb, clean).value, clean);
  const unknownVersion = Buffer.concat([Buffer.from([2]), clean.subarray(1)]);
  assert.deepEqual(maskPgValue(m, 2, 1, PG_TYPE.jsonb, unknownVersion), { value: null, masked: 1 }, 'undecodable: fail closed');
});

test('text-format json and jsonb are masked as JSON', () => {
  const m = plan();
  const r = maskPgValue(m, 2, 0, PG_TYPE.jsonb, Buffer.from('{"to": "ada@example.com"}'));
  assert.deepEqual(JSON.parse(r.value!.toString()), { to: '[REDACTED:email]' });
  assert.equal(maskPgValue(m, 5, 0, PG_TYPE.json, Buffer.from('{"a": 1}')).value!.toString(), '"[REDACTED]"');
});

test('binary text[] elements are masked and the array re-encoded with their new lengths', async () => {
  const m = plan();
  const arr = await wire(`array_send(ARRAY['ada@example.com', NULL, 'plain']::text[])`);
  const masked = maskPgValue(m, 4, 1, 1009, arr);
  assert.deepEqual(masked.value, await wire(`array_send(ARRAY['[REDACTED:email]', NULL, 'plain']::text[])`));
  assert.equal(masked.masked, 1);
  const twoDims = await wire(`array_send(ARRAY[['a@x.io', 'b'], ['c', 'd@y.io']]::text[])`);
  assert.deepEqual(maskPgValue(m, 4, 1, 1009, twoDims).value, await wire(`array_send(ARRAY[['[REDACTED:email]', 'b'], ['c', '[REDACTED:email]']]::text[])`));
  const clean = await wire(`array_send(ARRAY['x', 'y']::text[])`);
  assert.equal(maskPgValue(m, 4, 1, 1009, clean).value, clean);
  assert.deepEqual(maskPgValue(m, 4, 1, 1009, clean.subarray(0, clean.length - 1)), { value: null, masked: 1 }, 'truncated: fail closed');
});

test('NULL in, NULL out; text format of any type goes through the text masker', () => {
  const m = plan();
  assert.deepEqual(maskPgValue(m, 0, 0, PG_TYPE.text, null), { value: null, masked: 0 });
  assert.deepEqual(maskPgValue(m, 1, 1, 23, null), { value: null, masked: 0 });
  assert.equal(maskPgValue(m, 1, 0, 23, Buffer.from('42')).value!.toString(), '[REDACTED]');
});

test('textual types: the listed ones, json/jsonb and their arrays; not int4 or bytea', () => {
  for (const oid of [25, 1043, 1042, 19, 705, 114, 142, 3802, 1009]) assert.equal(isTextualPgType(oid), true, String(oid));
  for (const oid of [23, 20, 17, 1700, 16]) assert.equal(isTextualPgType(oid), false, String(oid));
});

/** Detectors only (email, card), over one column whose binary values are looked at. */
const detectorsOnly = () =>
  planResultMasking(
    [{ name: 'detect', columns: [], detectors: [{ kind: 'builtin', name: 'email' }, { kind: 'builtin', name: 'payment-card' }], strategy: 'redact' }],
    [{ name: 'v', textual: true }],
  )!;

test('binary records are masked field by field and re-encoded as the server would', async () => {
  const m = detectorsOnly();
  const rec = await wire(`record_send(ROW(1, 'to ada@example.com'::text, NULL::text))`);
  assert.deepEqual(maskPgValue(m, 0, 1, PG_TYPE.record, rec).value, await wire(`record_send(ROW(1, 'to [REDACTED:email]'::text, NULL::text))`));
  const clean = await wire(`record_send(ROW(1, 'x'::text))`);
  assert.equal(maskPgValue(m, 0, 1, PG_TYPE.record, clean).value, clean);
  assert.deepEqual(maskPgValue(m, 0, 1, PG_TYPE.record, clean.subarray(0, clean.length - 1)), { value: null, masked: 1 }, 'malformed: withheld');
  const nested = await wire(`array_send(ARRAY[ROW('ada@example.com'::text), ROW('b'::text)])`);
  assert.deepEqual(maskPgValue(m, 0, 1, 2287, nested).value, await wire(`array_send(ARRAY[ROW('[REDACTED:email]'::text), ROW('b'::text)])`));
});

test('binary numbers that spell a card are withheld; other numbers pass', async () => {
  const m = detectorsOnly();
  assert.deepEqual(maskPgValue(m, 0, 1, 20, await wire('int8send(4539578763621486)')), { value: null, masked: 1 });
  assert.deepEqual(maskPgValue(m, 0, 1, 1700, await wire('numeric_send(4539578763621486.00)')), { value: null, masked: 1 });
  assert.deepEqual(maskPgValue(m, 0, 1, 701, await wire('float8send(4539578763621486)')), { value: null, masked: 1 });
  const small = await wire('int8send(42)');
  assert.equal(maskPgValue(m, 0, 1, 20, small).value, small);
  const num = await wire('numeric_send(12345.678)');
  assert.equal(maskPgValue(m, 0, 1, 1700, num).value, num);
});

test('bytea: binary masked in place; hex text decoded, masked and re-encoded', async () => {
  const m = detectorsOnly();
  const bin = await wire(`byteasend(convert_to('to ada@example.com', 'UTF8'))`);
  assert.deepEqual(maskPgValue(m, 0, 1, PG_TYPE.bytea, bin).value, await wire(`byteasend(convert_to('to [REDACTED:email]', 'UTF8'))`));
  const hex = Buffer.from('\\x' + Buffer.from('to ada@example.com').toString('hex'));
  assert.equal(maskPgValue(m, 0, 0, PG_TYPE.bytea, hex).value!.toString(), '\\x' + Buffer.from('to [REDACTED:email]').toString('hex'));
  const clean = Buffer.from('\\x0001');
  assert.equal(maskPgValue(m, 0, 0, PG_TYPE.bytea, clean).value, clean);
});

test('tsvector with a match is withheld; a type the masker cannot read is withheld; safe types pass', async () => {
  const m = detectorsOnly();
  assert.deepEqual(maskPgValue(m, 0, 1, 3614, await wire(`tsvectorsend(to_tsvector('simple', 'ada@example.com'))`)), { value: null, masked: 1 });
  const plain = await wire(`tsvectorsend(to_tsvector('simple', 'hello world'))`);
  assert.equal(maskPgValue(m, 0, 1, 3614, plain).value, plain);
  assert.deepEqual(maskPgValue(m, 0, 1, 16385, Buffer.from('anything')), { value: null, masked: 1 }, 'a user type');
  const uuid = await wire(`uuid_send('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`);
  assert.equal(maskPgValue(m, 0, 1, 2950, uuid).value, uuid);
});
