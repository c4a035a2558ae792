import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOwnAddress, unmappedAddress } from './own-address.js';

test('loopback and the host\'s interface addresses are its own; others and nothing are not', () => {
  const local = () => ['10.1.2.3', 'fe80::1'];
  assert.equal(isOwnAddress('127.0.0.1', local), true);
  assert.equal(isOwnAddress('::1', local), true);
  assert.equal(isOwnAddress('::ffff:127.0.0.1', local), true);
  assert.equal(isOwnAddress('10.1.2.3', local), true);
  assert.equal(isOwnAddress('::ffff:10.1.2.3', local), true);
  assert.equal(isOwnAddress('FE80::1', local), true);
  assert.equal(isOwnAddress('10.1.2.4', local), false);
  assert.equal(isOwnAddress(undefined, local), false);
});

test('the default list is the real interfaces, which include loopback', () => {
  assert.equal(isOwnAddress('127.0.0.1'), true);
  assert.equal(isOwnAddress('192.0.2.1'), false);
  assert.equal(unmappedAddress('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(unmappedAddress('::ffff:abcd'), '::ffff:abcd');
});
