import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedServerName } from './mariadb-connection.js';

test('the certificate must carry the serverName, else the host', () => {
  assert.equal(expectedServerName({ host: '10.0.0.5', serverName: 'shop-db.internal' }), 'shop-db.internal');
  assert.equal(expectedServerName({ host: 'shop-db.example.com' }), 'shop-db.example.com');
  assert.equal(expectedServerName({ host: '10.0.0.5' }), '10.0.0.5');
  assert.equal(expectedServerName({ host: '10.0.0.5', serverName: '10.0.0.5' }), '10.0.0.5');
});

test('an address as serverName other than the host cannot be checked: refused rather than not checked', () => {
  assert.throws(() => expectedServerName({ host: 'shop-db', serverName: '10.0.0.5' }), /only when it is the host/);
});
