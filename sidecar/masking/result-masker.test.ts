import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResultMasking } from './result-masker.js';
import { maskPgValue } from './postgres-value-format.js';
import { keyedHash, partial } from './strategies.js';
import type { MaskingRule } from '../../policies/model.js';

const key = Buffer.from('k');
const customers = { schema: 'public', name: 'customers' };
const rules: MaskingRule[] = [
  { name: 'emails', columns: ['customers.email'], detectors: [], strategy: 'partial' },
  { name: 'cards', columns: ['*.card'], detectors: [], strategy: 'redact' },
  { name: 'ids', columns: ['public.customers.tax_id'], detectors: [], strategy: 'hash' },
  { name: 'secrets', columns: [], detectors: [{ kind: 'builtin', name: 'aws-access-key' }], strategy: 'redact' },
];
const cols = [
  { name: 'email', table: customers, textual: true },
  { name: 'card', table: { name: 'payments' }, textual: true },
  { name: 'tax_id', table: customers, textual: true },
  { name: 'notes', table: customers, textual: true },
  { name: 'id', table: customers, textual: false },
  { name: 'e', sourceColumn: 'email', table: customers, textual: true },
  { name: 'email', textual: true },
];

test('no rules → no plan: rows pass untouched', () => {
  assert.equal(planResultMasking([], cols), null);
});

test('column globs (qualified, unqualified, any table, alias via source column) and strategies', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  assert.equal(m.maskText(0, 'ada@example.com').value, 'a***@example.com');
  assert.equal(m.maskText(1, '4111111111111111').value, '[REDACTED]');
  assert.equal(m.maskText(2, '123-45-6789').value, keyedHash('123-45-6789', key));
  assert.equal(m.maskText(3, 'key AKIAIOSFODNN7EXAMPLE').value, 'key [REDACTED:aws-access-key]');
  assert.equal(m.maskText(3, 'nothing here').masked, 0);
  assert.equal(m.maskText(5, 'ada@example.com').value, 'a***@example.com', 'an alias does not hide the column');
  assert.equal(m.maskText(6, 'ada@example.com').masked, 0, 'customers.email needs a known table');
  assert.equal(m.totalMasked, 5);
});

test('the same buffer comes back when nothing is masked (no copy on the hot path)', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  const clean = Buffer.from('plain text');
  assert.equal(m.maskUtf8(3, clean).value, clean);
});

test('hash is stable per key and differs across keys; hash without a key is refused', () => {
  assert.equal(keyedHash('x', key), keyedHash('x', key));
  assert.notEqual(keyedHash('x', key), keyedHash('x', Buffer.from('other')));
  assert.throws(() => planResultMasking(rules, cols, {}), /masking key/);
});

test('partial keeps a little context', () => {
  assert.equal(partial('ada@example.com'), 'a***@example.com');
  assert.equal(partial('4111 1111 1111 1111', 'payment-card'), '************1111');
  assert.equal(partial('secret-value'), 's**********e');
  assert.equal(partial('abc'), '***');
});

test('binary format: textual types mask in place, other types become NULL under a column rule', () => {
  const m = planResultMasking(
    [{ name: 'c', columns: ['*.card', '*.amount'], detectors: [{ kind: 'builtin', name: 'email' }], strategy: 'redact' }],
    [
      { name: 'card', textual: true },
      { name: 'amount', textual: false },
      { name: 'doc', textual: true },
      { name: 'n', textual: false },
    ],
  )!;
  assert.equal(maskPgValue(m, 0, 1, 25, Buffer.from('4111111111111111')).value!.toString(), '[REDACTED]');
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(42n);
  assert.deepEqual(maskPgValue(m, 1, 1, 20, int8), { value: null, masked: 1 });
  const jsonb = Buffer.concat([Buffer.from([1]), Buffer.from('{"to":"ada@example.com"}')]);
  const masked = maskPgValue(m, 2, 1, 3802, jsonb).value!;
  assert.equal(masked[0], 1, 'jsonb version byte kept');
  assert.equal(masked.subarray(1).toString(), '{"to":"[REDACTED:email]"}');
  assert.equal(maskPgValue(m, 3, 1, 20, int8).value, int8, 'detectors leave non-text binary alone');
  assert.deepEqual(maskPgValue(m, 0, 0, 25, null), { value: null, masked: 0 });
});

test('an oversized value with detectors is masked whole (fail closed)', () => {
  const m = planResultMasking([{ name: 'd', columns: [], detectors: [{ kind: 'builtin', name: 'email' }], strategy: 'redact' }], [{ name: 'x', textual: true }], {
    maxValueBytes: 10,
  })!;
  assert.equal(m.maskText(0, 'a'.repeat(11)).value, '[REDACTED:oversized]');
});
