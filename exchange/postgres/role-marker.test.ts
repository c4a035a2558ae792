import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownerHash } from '../identity/owner-hash.js';
import { encodeRoleMarker, parseRoleMarker, type RoleMarker } from './role-marker.js';

const marker: RoleMarker = { expiresAt: '2026-12-04T19:00:00.000Z', template: 'orders_reader', grant: 'deploys', owner: ownerHash('https://issuer', 'repo:acme/app') };

test('a marker round-trips through the role comment', () => {
  assert.deepEqual(parseRoleMarker(encodeRoleMarker(marker)), marker);
  assert.match(encodeRoleMarker(marker), /^\{"kind":"sidegate-exchange\/v1",/);
});

test("the exchange's span rides along when there is one; a malformed one makes the comment not ours", () => {
  const issuedBy = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
  assert.deepEqual(parseRoleMarker(encodeRoleMarker({ ...marker, issuedBy })), { ...marker, issuedBy });
  assert.equal(parseRoleMarker(JSON.stringify({ kind: 'sidegate-exchange/v1', ...marker, issuedBy: 'x' })), undefined);
});

test("a comment that is not our marker is not ours: the sweeper leaves the role alone", () => {
  assert.equal(parseRoleMarker(null), undefined);
  assert.equal(parseRoleMarker('the reporting role'), undefined);
  assert.equal(parseRoleMarker(JSON.stringify({ ...marker })), undefined, 'no kind');
  assert.equal(parseRoleMarker(JSON.stringify({ kind: 'sidegate-exchange/v2', ...marker })), undefined);
  assert.equal(parseRoleMarker(JSON.stringify({ kind: 'sidegate-exchange/v1', ...marker, template: 'x"; DROP' })), undefined);
  assert.equal(parseRoleMarker(JSON.stringify({ kind: 'sidegate-exchange/v1', ...marker, expiresAt: 'never' })), undefined);
});
