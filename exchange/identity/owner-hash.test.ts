import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownerHash, ownerInstance, ownerOf } from './owner-hash.js';

test('the owner is a hash of issuer and subject, separated so they cannot run together', () => {
  assert.match(ownerHash('https://a', 'b'), /^[0-9a-f]{64}$/);
  assert.notEqual(ownerHash('https://a', 'bc'), ownerHash('https://ab', 'c'));
  assert.equal(ownerHash('https://a', 'b'), ownerHash('https://a', 'b'));
  assert.notEqual(ownerHash('https://a', 'b', 'run:1:'), ownerHash('https://a', 'b'));
  assert.notEqual(ownerHash('https://a', 'b', 'x'), ownerHash('https://a', 'b\nx'));
});

test('pods of one ServiceAccount and runs of one GitHub subject are different owners; one pod or run is the same owner', () => {
  const pod = (uid: string) => ({ issuer: 'https://k8s', subject: 'system:serviceaccount:ci:runner', claims: { 'kubernetes.io': { namespace: 'ci', pod: { name: 'p', uid } } } });
  assert.notEqual(ownerOf(pod('uid-1')), ownerOf(pod('uid-2')));
  assert.equal(ownerOf(pod('uid-1')), ownerOf(pod('uid-1')));
  const gh = (run_id: string, run_attempt: string) => ({ issuer: 'https://gh', subject: 'repo:acme/app:ref:refs/heads/main', claims: { run_id, run_attempt, jti: Math.random() } });
  assert.notEqual(ownerOf(gh('1', '1')), ownerOf(gh('2', '1')));
  assert.notEqual(ownerOf(gh('1', '1')), ownerOf(gh('1', '2')));
  assert.equal(ownerOf(gh('1', '1')), ownerOf(gh('1', '1')));
  assert.equal(ownerInstance({ job_id: '77', run_id: '5' }), 'job:77');
  assert.equal(ownerInstance({ 'kubernetes.io': { pod: { uid: 'u' } }, job_id: '77' }), 'pod:u');
  assert.equal(ownerInstance({ run_id: 5 }), 'run:5:');
  assert.equal(ownerInstance({ run_id: { nested: 1 } }), undefined);
  // A token naming no run or pod keeps the subject-only owner.
  assert.equal(ownerOf({ issuer: 'https://a', subject: 'b', claims: {} }), ownerHash('https://a', 'b'));
});
