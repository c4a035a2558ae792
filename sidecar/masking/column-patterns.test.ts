import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnMatches, columnPatternProblem, compileColumnPattern } from './column-patterns.js';

const customers = { schema: 'public', name: 'customers' };
const matches = (pattern: string, name: string, table?: { schema?: string; name: string }, source?: string) =>
  columnMatches(compileColumnPattern(pattern), source ? [name, source] : [name], table);

test('table.column matches the unqualified and schema-qualified forms', () => {
  assert.equal(matches('customers.card', 'card', customers), true);
  assert.equal(matches('public.customers.card', 'card', customers), true);
  assert.equal(matches('billing.customers.card', 'card', customers), false);
  assert.equal(matches('customers.card', 'card', { schema: 'public', name: 'orders' }), false);
  assert.equal(matches('customers.card', 'name', customers), false);
  assert.equal(matches('db.public.customers.card', 'card', customers), true, 'a database qualifier is ignored');
});

test('globs within segments, case-insensitively', () => {
  assert.equal(matches('*.email', 'email', customers), true);
  assert.equal(matches('cust*.e*', 'email', customers), true);
  assert.equal(matches('customers.*', 'notes', customers), true);
  assert.equal(matches('Customers.EMAIL', 'email', customers), true);
  assert.equal(matches('*.e.mail', 'email', customers), false, 'a dot is not a glob');
  assert.equal(matches('pub*.*.card', 'card', customers), true);
});

test('a column without a known table matches only a `*` table part', () => {
  assert.equal(matches('*.email', 'email'), true);
  assert.equal(matches('*.*', 'anything'), true);
  assert.equal(matches('customers.email', 'email'), false);
  assert.equal(matches('public.customers.email', 'email'), false);
});

test('a known table without a known schema matches any schema part (fail closed)', () => {
  assert.equal(matches('billing.customers.card', 'card', { name: 'customers' }), true);
});

test('a bare `*` never matches everything; a bare name is that column in any table', () => {
  assert.equal(matches('*', 'email', customers), false);
  assert.equal(matches('**', 'email'), false);
  assert.equal(matches('email', 'email', customers), true);
  assert.equal(matches('email', 'email'), true);
  assert.match(columnPatternProblem('*')!, /"\*\.\*"/);
  assert.match(columnPatternProblem('customers.')!, /empty segment/);
  assert.equal(columnPatternProblem('public.customers.card'), null);
});

test('the real column name behind an alias matches too', () => {
  assert.equal(matches('customers.card', 'not_a_card', customers, 'card'), true);
});
