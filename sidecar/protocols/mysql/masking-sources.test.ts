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
  const s = req.resolved({ relations: [
    { schema: 'shop', name: 'customers', type: 'BASE TABLE', columns: ['id', 'card'] },
    { schema: 'other', name: 'orders', type: 'BASE TABLE', columns: ['id'] },
  ], storedFunctions: [] });
  assert.equal(s.isBaseTable('SHOP', 'Customers'), true);
  assert.equal(s.isBaseTable('shop', ''), false, 'an expression has no table');
  assert.equal(s.derived(rules), 'redact', 'customers holds a masked column');
});

test('a statement over tables without masked columns derives nothing', () => {
  const s = sourcesOf([statement({ tables: [{ name: 'orders' }] })], 'shop').resolved({ relations: [{ schema: 'shop', name: 'orders', type: 'BASE TABLE', columns: ['id', 'total'] }], storedFunctions: [] });
  assert.equal(s.derived(rules), null);
});

test('a view, an unknown name, a CALL or a failed lookup may hold every masked column: the strongest rule (redact)', () => {
  const view = sourcesOf([statement({ tables: [{ name: 'v' }] })], 'shop').resolved({ relations: [{ schema: 'shop', name: 'v', type: 'VIEW', columns: ['c'] }], storedFunctions: [] });
  assert.equal(view.isBaseTable('shop', 'v'), false);
  assert.equal(view.derived(rules), 'redact');
  assert.equal(sourcesOf([statement({ tables: [{ name: 'tmp' }] })], 'shop').resolved({ relations: [null], storedFunctions: [] }).derived(rules), 'redact');
  assert.equal(sourcesOf([statement({ operation: 'CALL', kinds: ['call', 'procedural', 'write'], flags: ['routine-call'] })], 'shop').resolved({ relations: [], storedFunctions: [] }).derived(rules), 'redact');
  const failed = sourcesOf([statement({ tables: [{ name: 'customers' }] })], 'shop').failed();
  assert.equal(failed.isBaseTable('shop', 'customers'), false);
  assert.equal(failed.derived(rules), 'redact');
});

test('the process list and performance_schema show other sessions\' statements: opaque', () => {
  const s = sourcesOf([statement({ tables: [{ schema: 'information_schema', name: 'PROCESSLIST' }] })], 'shop').resolved({ relations: [
    { schema: 'information_schema', name: 'PROCESSLIST', type: 'SYSTEM VIEW', columns: ['INFO'] },
  ], storedFunctions: [] });
  assert.equal(s.derived(rules), 'redact');
  const meta = sourcesOf([statement({ tables: [{ schema: 'information_schema', name: 'TABLES' }] })], 'shop').resolved({ relations: [
    { schema: 'information_schema', name: 'TABLES', type: 'SYSTEM VIEW', columns: ['TABLE_NAME'] },
  ], storedFunctions: [] });
  assert.equal(meta.derived(rules), null, 'metadata views are not');
});

test('a statement using @user variables may read what an earlier one stored: unknown sources', () => {
  const s = sourcesOf([statement({ text: 'SELECT @x', tables: [] } as Partial<CommandFacts>)], 'shop');
  assert.equal(s.resolved({ relations: [], storedFunctions: [] }).derived(rules), null, 'facts.text is not what is lexed');
  const withText = { ...statement({ tables: [] }), text: 'SELECT @x AS v' } as InspectedMysqlStatement;
  assert.equal(sourcesOf([withText], 'shop').resolved({ relations: [], storedFunctions: [] }).derived(rules), 'redact');
  const system = { ...statement({ tables: [] }), text: 'SELECT @@version' } as InspectedMysqlStatement;
  assert.equal(sourcesOf([system], 'shop').resolved({ relations: [], storedFunctions: [] }).derived(rules), null, 'system variables hold no row values');
});

test('a stored function may return any table\'s values: the sources are unknown; built-ins are not', () => {
  const call = statement({ tables: [], functions: ['nickname_of', 'concat'] });
  const req = sourcesOf([call], 'shop');
  assert.deepEqual(req.functions, [{ schema: 'shop', name: 'nickname_of' }, { schema: 'shop', name: 'concat' }]);
  assert.equal(req.resolved({ relations: [], storedFunctions: [true, false] }).derived(rules), 'redact');
  assert.equal(req.resolved({ relations: [], storedFunctions: [false, false] }).derived(rules), null);
});
