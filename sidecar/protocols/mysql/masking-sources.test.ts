import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandFacts, MaskingRule } from '../../../core/vocabulary.js';
import { sourcesOf } from './masking-sources.js';
import type { InspectedMysqlStatement } from './sql-inspector.js';

const rules: MaskingRule[] = [
  { name: 'cards', columns: ['shop.customers.card'], detectors: [], strategy: 'redact' },
  { name: 'hashed', columns: ['*.email'], detectors: [], strategy: 'hash' },
];
const statement = (facts: Partial<CommandFacts>): InspectedMysqlStatement =>
  ({ facts: { protocol: 'mysql', target: 't', text: '', operation: 'SELECT', kinds: ['select', 'read'], tables: [], flags: [], ...facts }, text: '', queryText: '' }) as InspectedMysqlStatement;

test('unqualified tables take the session database; base tables are their columns\' own sources', () => {
  const req = sourcesOf([statement({ tables: [{ name: 'customers' }, { schema: 'other', name: 'orders' }] })], 'shop');
  assert.deepEqual(req.refs, [{ schema: 'shop', name: 'customers' }, { schema: 'other', name: 'orders' }]);
  const s = req.resolved([
    { schema: 'shop', name: 'customers', type: 'BASE TABLE', columns: ['id', 'card'] },
    { schema: 'other', name: 'orders', type: 'BASE TABLE', columns: ['id'] },
  ]);
  assert.equal(s.isBaseTable('SHOP', 'Customers'), true);
  assert.equal(s.isBaseTable('shop', ''), false, 'an expression has no table');
  assert.equal(s.derived(rules), 'redact', 'customers holds a masked column');
});

test('a statement over tables without masked columns derives nothing', () => {
  const s = sourcesOf([statement({ tables: [{ name: 'orders' }] })], 'shop').resolved([{ schema: 'shop', name: 'orders', type: 'BASE TABLE', columns: ['id', 'total'] }]);
  assert.equal(s.derived(rules), null);
});

test('a view, an unknown name, a CALL or a failed lookup may hold every masked column: the strongest rule (redact)', () => {
  const view = sourcesOf([statement({ tables: [{ name: 'v' }] })], 'shop').resolved([{ schema: 'shop', name: 'v', type: 'VIEW', columns: ['c'] }]);
  assert.equal(view.isBaseTable('shop', 'v'), false);
  assert.equal(view.derived(rules), 'redact');
  assert.equal(sourcesOf([statement({ tables: [{ name: 'tmp' }] })], 'shop').resolved([null]).derived(rules), 'redact');
  assert.equal(sourcesOf([statement({ operation: 'CALL', kinds: ['call', 'procedural', 'write'], flags: ['routine-call'] })], 'shop').resolved([]).derived(rules), 'redact');
  const failed = sourcesOf([statement({ tables: [{ name: 'customers' }] })], 'shop').failed();
  assert.equal(failed.isBaseTable('shop', 'customers'), false);
  assert.equal(failed.derived(rules), 'redact');
});

test('the process list and performance_schema show other sessions\' statements: opaque', () => {
  const s = sourcesOf([statement({ tables: [{ schema: 'information_schema', name: 'PROCESSLIST' }] })], 'shop').resolved([
    { schema: 'information_schema', name: 'PROCESSLIST', type: 'SYSTEM VIEW', columns: ['INFO'] },
  ]);
  assert.equal(s.derived(rules), 'redact');
  const meta = sourcesOf([statement({ tables: [{ schema: 'information_schema', name: 'TABLES' }] })], 'shop').resolved([
    { schema: 'information_schema', name: 'TABLES', type: 'SYSTEM VIEW', columns: ['TABLE_NAME'] },
  ]);
  assert.equal(meta.derived(rules), null, 'metadata views are not');
});

test('a statement using @user variables may read what an earlier one stored: unknown sources', () => {
  const s = sourcesOf([statement({ text: 'SELECT @x', tables: [] } as Partial<CommandFacts>)], 'shop');
  assert.equal(s.resolved([]).derived(rules), null, 'facts.text is not what is lexed');
  const withText = { ...statement({ tables: [] }), text: 'SELECT @x AS v' } as InspectedMysqlStatement;
  assert.equal(sourcesOf([withText], 'shop').resolved([]).derived(rules), 'redact');
  const system = { ...statement({ tables: [] }), text: 'SELECT @@version' } as InspectedMysqlStatement;
  assert.equal(sourcesOf([system], 'shop').resolved([]).derived(rules), null, 'system variables hold no row values');
});
