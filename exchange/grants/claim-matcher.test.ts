import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimMatches, patternMatches } from './claim-matcher.js';

test('patterns: exact, or * for any run of characters, anchored', () => {
  assert.ok(patternMatches('refs/heads/main', 'refs/heads/main'));
  assert.ok(!patternMatches('refs/heads/main', 'refs/heads/main2'));
  assert.ok(patternMatches('refs/tags/v*', 'refs/tags/v1.2.3'));
  assert.ok(patternMatches('refs/tags/v*', 'refs/tags/v'));
  assert.ok(!patternMatches('refs/tags/v*', 'refs/heads/v1'));
  assert.ok(patternMatches('repo:acme/*:ref:*', 'repo:acme/app:ref:refs/heads/main'));
  assert.ok(!patternMatches('repo:acme/*:ref:*', 'repo:evil/x:ref:repo:acme/y:ref:z'), 'anchored at the start');
  assert.ok(patternMatches('*', ''));
  assert.ok(!patternMatches('a*a', 'a'), 'the ends may not overlap');
  assert.ok(patternMatches('a*b*c', 'aXbYc'));
  assert.ok(!patternMatches('a*b*c', 'aXcYb'));
  assert.ok(!patternMatches('acme/app', 'ACME/app'), 'case matters');
});

test('claims: scalars as text, arrays by any element, objects and absence never', () => {
  assert.ok(claimMatches(['4242'], 4242));
  assert.ok(claimMatches(['true'], true));
  assert.ok(claimMatches(['prod', 'staging'], 'staging'));
  assert.ok(claimMatches(['dba'], ['dev', 'dba']));
  assert.ok(!claimMatches(['*'], undefined));
  assert.ok(!claimMatches(['*'], null));
  assert.ok(!claimMatches(['*'], { a: 1 }));
  assert.ok(!claimMatches(['*'], [{ a: 1 }]));
});
