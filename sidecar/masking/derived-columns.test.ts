import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MaskingRule } from '../../core/vocabulary.js';
import { derivedStrategy, strongestColumnStrategy } from './derived-columns.js';

const rules: MaskingRule[] = [
  { name: 'emails', columns: ['customers.email'], detectors: [], strategy: 'partial' },
  { name: 'cards', columns: ['*.card'], detectors: [], strategy: 'redact' },
  { name: 'detect', columns: [], detectors: [{ kind: 'builtin', name: 'email' }], strategy: 'redact' },
];

test('a statement over a table with a masked column takes the strongest covering rule', () => {
  const customers = { table: { schema: 'public', name: 'customers' }, columns: ['id', 'email', 'card'], relkind: 'r' };
  assert.equal(derivedStrategy(rules, [customers], false), 'redact');
  const emailOnly = { ...customers, columns: ['id', 'email'] };
  assert.equal(derivedStrategy(rules, [emailOnly], false), 'partial');
});

test('tables without masked columns, and no tables at all, leave derived columns alone', () => {
  const orders = { table: { schema: 'public', name: 'orders' }, columns: ['id', 'total', 'email'], relkind: 'r' };
  assert.equal(derivedStrategy(rules, [orders], false), null, 'orders.email is no customers.email');
  assert.equal(derivedStrategy(rules, [], false), null);
});

test('a view or unknown relations count as holding every rule column', () => {
  const view = { table: { schema: 'public', name: 'v' }, columns: ['x'], relkind: 'v' };
  assert.equal(derivedStrategy(rules, [view], false), 'redact');
  assert.equal(derivedStrategy(rules, [], true), 'redact');
  assert.equal(strongestColumnStrategy(rules), 'redact');
  assert.equal(strongestColumnStrategy([rules[2]!]), null, 'detectors alone are no column rule');
});
