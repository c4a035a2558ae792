import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeNegotiateProtocolVersion } from './startup-negotiation.js';

test('NegotiateProtocolVersion carries the version and every unsupported option name', () => {
  const m = serializeNegotiateProtocolVersion(196608, ['_pq_.a', '_pq_.bb']);
  assert.equal(String.fromCharCode(m[0]!), 'v');
  assert.equal(m.readInt32BE(1), m.length - 1);
  assert.equal(m.readInt32BE(5), 196608);
  assert.equal(m.readInt32BE(9), 2);
  assert.deepEqual(m.subarray(13).toString().split('\0'), ['_pq_.a', '_pq_.bb', '']);
  assert.equal(serializeNegotiateProtocolVersion(196608, []).length, 13);
});
