import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResultMasking, OVERSIZED, type ResultColumn } from './result-masker.js';
import { keyedHash } from './strategies.js';
import type { MaskingRule } from '../../core/vocabulary.js';

const key = Buffer.from('a masking key of reasonable size');
const customers = { schema: 'public', name: 'customers' };
const rules: MaskingRule[] = [
  { name: 'emails', columns: ['customers.email'], detectors: [], strategy: 'partial' },
  { name: 'cards', columns: ['*.card'], detectors: [], strategy: 'redact' },
  { name: 'ids', columns: ['public.customers.tax_id'], detectors: [], strategy: 'hash' },
  { name: 'secrets', columns: [], detectors: [{ kind: 'builtin', name: 'aws-access-key' }, { kind: 'builtin', name: 'email' }], strategy: 'redact' },
];
const cols: ResultColumn[] = [
  { name: 'email', table: customers, textual: true },
  { name: 'card', table: { name: 'payments' }, textual: true },
  { name: 'tax_id', table: customers, textual: true },
  { name: 'notes', table: customers, textual: true },
  { name: 'id', table: customers, textual: false },
  { name: 'e', sourceColumn: 'email', table: customers, textual: true },
  { name: 'email', textual: true },
];

test('no rules, or rules that cannot touch this result → no plan: rows pass untouched', () => {
  assert.equal(planResultMasking([], cols), null);
  assert.equal(planResultMasking([{ name: 'x', columns: ['orders.total'], detectors: [], strategy: 'redact' }], cols), null);
  assert.equal(planResultMasking([rules[3]!], [{ name: 'id', textual: false }]), null, 'detectors only, nothing textual');
});

test('column rules mask whole values with their strategy; detectors mask matches elsewhere', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  assert.deepEqual(m.maskText(0, 'ada@example.com'), { value: 'a***@example.com', masked: 1 });
  assert.equal(m.maskText(1, '4111111111111111').value, '[REDACTED]');
  assert.equal(m.maskText(2, '123-45-6789').value, keyedHash('123-45-6789', key));
  assert.deepEqual(m.maskText(3, 'key AKIAIOSFODNN7EXAMPLE, mail b@x.io'), { value: 'key [REDACTED:aws-access-key], mail [REDACTED:email]', masked: 2 });
  assert.deepEqual(m.maskText(3, 'nothing here'), { value: 'nothing here', masked: 0 });
  assert.equal(m.maskText(4, 'AKIAIOSFODNN7EXAMPLE').masked, 0, 'not textual: detectors do not apply');
  assert.equal(m.maskText(5, 'ada@example.com').value, 'a***@example.com', 'an alias does not hide the column');
  assert.equal(m.maskText(6, 'ada@example.com').value, '[REDACTED:email]', 'no table: the column rule needs one, the detector still runs');
  assert.equal(m.totalMasked, 7);
  assert.equal(m.columnRule(0), true);
  assert.equal(m.columnRule(3), false);
});

test('when rules overlap the strongest strategy wins, whatever the order', () => {
  const a: MaskingRule = { name: 'a', columns: ['*.email'], detectors: [], strategy: 'partial' };
  const b: MaskingRule = { name: 'b', columns: ['customers.email'], detectors: [], strategy: 'redact' };
  for (const order of [[a, b], [b, a]]) assert.equal(planResultMasking(order, cols)!.maskText(0, 'ada@example.com').value, '[REDACTED]');
});

test('maskUtf8 returns the same Buffer when nothing changed (no copy on the hot path)', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  const clean = Buffer.from('plain text without secrets');
  assert.equal(m.maskUtf8(3, clean).value, clean);
  const maybe = Buffer.from('AKIA is a prefix, not a key');
  assert.equal(m.maskUtf8(3, maybe).value, maybe, 'passes the pre-check, no match');
  const dirty = m.maskUtf8(3, Buffer.from('to ada@example.com'));
  assert.equal(dirty.value.toString(), 'to [REDACTED:email]');
  assert.equal(m.maskUtf8(2, Buffer.from('123-45-6789')).value.toString(), keyedHash('123-45-6789', key));
});

test('hash without a key is refused when the masker is built, naming the rule only', () => {
  assert.throws(() => planResultMasking(rules, cols, {}), /masking rule "ids" uses strategy hash but no masking key/);
  assert.throws(() => planResultMasking(rules, cols, { hashKey: Buffer.alloc(0) }), /no masking key/);
});

test('an over-limit value that detectors would scan is masked whole (fail closed)', () => {
  const m = planResultMasking(rules, cols, { hashKey: key, maxValueBytes: 16 })!;
  const big = 'x'.repeat(17);
  assert.deepEqual(m.maskText(3, big), { value: OVERSIZED, masked: 1 });
  assert.equal(m.maskUtf8(3, Buffer.from(big)).value.toString(), OVERSIZED);
  assert.equal(m.maskText(3, 'é'.repeat(9)).value, OVERSIZED, 'the limit is in UTF-8 bytes (18 here)');
  assert.equal(m.maskText(3, 'x'.repeat(16)).masked, 0, 'at the limit it is scanned');
  assert.equal(m.maskText(0, `${big}@example.com`).value, 'x***@example.com', 'column rules need no bound');
});

test('JSON values stay valid JSON under column rules and detectors', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  assert.equal(m.maskJsonText(1, '{"number": "4111111111111111"}').value, '"[REDACTED]"');
  assert.equal(m.maskJsonText(0, '"ada@example.com"').value, '"a***@example.com"');
  assert.equal(m.maskJsonText(2, '{"n": 1}').value, JSON.stringify(keyedHash('{"n": 1}', key)));
  assert.deepEqual(JSON.parse(m.maskJsonText(3, '{"to": "ada@example.com"}').value), { to: '[REDACTED:email]' });
  const clean = Buffer.from('{"a": 1}');
  assert.equal(m.maskJsonUtf8(3, clean).value, clean);
  assert.deepEqual(JSON.parse(m.maskJsonUtf8(3, Buffer.from('{"to": "ada\\u0040example.com"}')).value.toString()), { to: '[REDACTED:email]' });
});

test('a secret-key label in any letter case is still found (the cheap pre-check is caseless too)', () => {
  const m = planResultMasking([rules[3]!], [{ name: 'notes', textual: true }])!;
  const r = m.maskText(0, 'SeCrEt_KeY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  assert.equal(r.masked, 1);
  assert.doesNotMatch(r.value, /wJalrXUtnFEMI/);
});

test('a chunk screen is offered only where detectors alone decide', () => {
  const m = planResultMasking(rules, cols, { hashKey: key })!;
  assert.ok(m.chunkScreen(3), 'notes: detectors only');
  assert.equal(m.chunkScreen(0), null, 'email: a column rule replaces every value');
  assert.equal(m.chunkScreen(4), null, 'id: not textual, nothing scanned');
  const custom = planResultMasking([{ name: 'c', columns: [], detectors: [{ kind: 'regex', name: 'ticket', pattern: 'T-[0-9]+' }], strategy: 'redact' }], [{ name: 'x', textual: true }])!;
  assert.equal(custom.chunkScreen(0), null, 'a custom regex has no byte screen: every value is scanned');
});

test('short numeric columns (int4, date, …) are skipped by built-in detectors, never by a custom regex', () => {
  const all: MaskingRule = {
    name: 'all',
    columns: [],
    detectors: (['email', 'payment-card', 'jwt', 'aws-access-key', 'pem-private-key'] as const).map((name) => ({ kind: 'builtin' as const, name })),
    strategy: 'redact',
  };
  const columns: ResultColumn[] = [
    { name: 'n', textual: true, shortNumericText: true },
    { name: 'notes', textual: true },
  ];
  const builtins = planResultMasking([all], columns)!;
  assert.equal(builtins.scans(0), false);
  assert.equal(builtins.scans(1), true);
  assert.equal(planResultMasking([all], [columns[0]!]), null, 'a result of only such columns is not masked at all (no per-row work)');
  const custom: MaskingRule = { name: 'digits', columns: [], detectors: [{ kind: 'regex', name: 'five', pattern: '[0-9]{5}' }], strategy: 'redact' };
  const withCustom = planResultMasking([all, custom], columns)!;
  assert.equal(withCustom.scans(0), true, 'a custom regex could match a number');
  assert.ok(withCustom.maskText(0, '2147483647').masked > 0);

  // The claim behind the skip: no built-in finds anything in what those types print, at their
  // extremes and in every DateStyle, nor in a sweep of values.
  const samples = [
    't', 'f', '-32768', '32767', '-2147483648', '2147483647', '4294967295', '0',
    '-3.4028235e+38', '1.1754944e-38', '1.4e-45', '3.1415927', 'NaN', 'Infinity', '-Infinity',
    '4713-01-01 BC', '5874897-12-31', 'infinity', '-infinity', '12/31/2024', '31.12.2024', '31-12-2024', '2024-12-31',
    '00:00:00', '24:00:00', '23:59:59.999999',
  ];
  for (let i = 0; i < 20000; i++) {
    samples.push(String((i * 2654435761) % 4294967296), String(-((i * 40503) % 2147483648)), String(Math.fround(i * 1.37e7 + 0.123456789)));
  }
  const none = planResultMasking([all], [{ name: 'x', textual: true }])!;
  for (const s of samples) assert.equal(none.maskText(0, s).masked, 0, s);
});
