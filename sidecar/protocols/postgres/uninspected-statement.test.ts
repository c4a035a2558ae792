import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uninspected } from './uninspected-statement.js';

test('an uninspected command is one opaque statement: its own text for text rules, none for the audit trail', () => {
  assert.deepEqual(uninspected('  \n', { target: 'pg' }), []);
  const [s] = uninspected('SELECT 1; DROP TABLE t', { target: 'pg', prepared: true });
  assert.equal(s!.text, 'SELECT 1; DROP TABLE t');
  assert.equal(s!.facts.text, 'SELECT 1; DROP TABLE t');
  assert.equal(s!.queryText, '');
  assert.deepEqual([s!.facts.operation, s!.facts.kinds, s!.facts.flags, s!.facts.target], ['UNINSPECTED', ['uninspected'], ['prepared'], 'pg']);
});

test('uninspected commands of one target and protocol share a template (one set of span attributes per session)', () => {
  const [a] = uninspected('SELECT 1', { target: 'pg' });
  const [b] = uninspected('SELECT 2', { target: 'pg' });
  const [c] = uninspected('SELECT 3', { target: 'pg', prepared: true });
  const [d] = uninspected('SELECT 4', { target: 'other' });
  assert.ok(a!.template && a!.template === b!.template);
  assert.notEqual(c!.template, a!.template);
  assert.notEqual(d!.template, a!.template);
  assert.equal(d!.template!.facts.target, 'other');
  // The template says nothing of any one command's text.
  assert.equal(a!.template!.text, '');
  assert.equal(b!.text, 'SELECT 2');
});
