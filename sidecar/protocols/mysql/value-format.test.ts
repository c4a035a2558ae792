import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResultMasking, type ResultColumn } from '../../masking/result-masker.js';
import type { MaskingRule } from '../../../core/vocabulary.js';
import { MYSQL_TYPE_BIT, MYSQL_TYPE_BLOB, MYSQL_TYPE_JSON, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_VAR_STRING, COLLATION_BINARY } from './capabilities.js';
import { isShortNumericColumn, isScannedColumn, maskBinaryValue, maskTextValue, type ValueColumn } from './value-format.js';

const UTF8MB4 = 45;
const rules: MaskingRule[] = [
  { name: 'columns', columns: ['*.card', '*.amount'], detectors: [], strategy: 'redact' },
  { name: 'detect', columns: [], detectors: [{ kind: 'builtin', name: 'email' }, { kind: 'builtin', name: 'payment-card' }], strategy: 'redact' },
];
const defs: Array<[string, ValueColumn]> = [
  ['card', { type: MYSQL_TYPE_VAR_STRING, characterSet: UTF8MB4 }],
  ['amount', { type: MYSQL_TYPE_LONG, characterSet: COLLATION_BINARY }],
  ['note', { type: MYSQL_TYPE_VAR_STRING, characterSet: UTF8MB4 }],
  ['blob', { type: MYSQL_TYPE_BLOB, characterSet: COLLATION_BINARY }],
  ['big', { type: MYSQL_TYPE_LONGLONG, characterSet: COLLATION_BINARY }],
  ['n', { type: MYSQL_TYPE_LONG, characterSet: COLLATION_BINARY }],
  ['doc', { type: MYSQL_TYPE_JSON, characterSet: UTF8MB4 }],
  ['bits', { type: MYSQL_TYPE_BIT, characterSet: COLLATION_BINARY }],
  ['price', { type: MYSQL_TYPE_NEWDECIMAL, characterSet: COLLATION_BINARY }],
];
const columns: ResultColumn[] = defs.map(([name, c]) => ({ name, table: { name: 'customers' }, textual: isScannedColumn(c, true), shortNumericText: isShortNumericColumn(c) }));
const idx = (name: string) => defs.findIndex(([n]) => n === name);
const col = (name: string) => defs[idx(name)]![1];
const plan = () => planResultMasking(rules, columns, {})!;
const int64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
};

test('text protocol: a column rule replaces the value, detectors mask inside text, NULL stays NULL', () => {
  const m = plan();
  assert.equal(maskTextValue(m, idx('card'), col('card'), Buffer.from('4111 1111 1111 1111')).value!.toString(), '[REDACTED]');
  assert.equal(maskTextValue(m, idx('note'), col('note'), Buffer.from('mail ada@example.com now')).value!.toString(), 'mail [REDACTED:email] now');
  assert.equal(maskTextValue(m, idx('note'), col('note'), null).value, null);
  const plain = Buffer.from('nothing here');
  assert.equal(maskTextValue(m, idx('note'), col('note'), plain).value, plain, 'unchanged values are the same Buffer');
});

test('text protocol: binary-charset bytes are read byte for byte, so a match among non-UTF-8 bytes is found', () => {
  const m = plan();
  const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('ada@example.com')]);
  const r = maskTextValue(m, idx('blob'), col('blob'), bytes);
  assert.equal(r.masked, 1);
  assert.deepEqual(r.value, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[REDACTED:email]')]));
});

test('binary protocol: a BIGINT spelling a card is withheld, other numbers pass', () => {
  const m = plan();
  assert.equal(maskBinaryValue(m, idx('big'), col('big'), int64(4111111111111111n)).value, null);
  const small = int64(42n);
  assert.equal(maskBinaryValue(m, idx('big'), col('big'), small).value, small);
  const n = Buffer.from([1, 0, 0, 0]);
  assert.equal(maskBinaryValue(m, idx('n'), col('n'), n).value, n);
  assert.equal(m.totalMasked, 1);
});

test('binary protocol: a column rule on a number makes it NULL; strings, decimals and JSON mask as text', () => {
  const m = plan();
  assert.equal(maskBinaryValue(m, idx('amount'), col('amount'), Buffer.from([7, 0, 0, 0])).value, null);
  assert.equal(maskBinaryValue(m, idx('card'), col('card'), Buffer.from('4111111111111111')).value!.toString(), '[REDACTED]');
  assert.equal(maskBinaryValue(m, idx('price'), col('price'), Buffer.from('4111111111111111')).value!.toString(), '[REDACTED:payment-card]');
  const json = maskBinaryValue(m, idx('doc'), col('doc'), Buffer.from('{"who":"ada@example.com"}')).value!.toString();
  assert.deepEqual(JSON.parse(json), { who: '[REDACTED:email]' });
});

test('binary protocol: BIT values are withheld while detectors apply to the column', () => {
  const m = plan();
  assert.equal(maskBinaryValue(m, idx('bits'), col('bits'), Buffer.from('a@b.cd')).value, null);
});

test('without a masker that applies, a binary value passes untouched', () => {
  const m = planResultMasking([{ name: 'c', columns: ['*.card'], detectors: [], strategy: 'redact' }], columns, {})!;
  const bits = Buffer.from([1]);
  assert.equal(maskBinaryValue(m, idx('bits'), col('bits'), bits).value, bits);
});
