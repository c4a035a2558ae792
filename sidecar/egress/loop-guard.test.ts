import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopGuard } from './loop-guard.js';

const guard = new LoopGuard(() => [16001, 16002], () => ['10.0.0.7', 'fd00::7', '127.0.0.1']);

test('loopback and unspecified destinations are loops on any port', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0.0.0.0', '::']) assert.equal(guard.isLoop(host, 443), true, host);
});

test("the sidecar's own ports on the pod's own addresses are loops", () => {
  assert.equal(guard.isLoop('10.0.0.7', 16001), true);
  assert.equal(guard.isLoop('::ffff:10.0.0.7', 16002), true);
  assert.equal(guard.isLoop('FD00::7', 16001), true);
});

test('other ports of the pod, and the same ports elsewhere, are not', () => {
  assert.equal(guard.isLoop('10.0.0.7', 8080), false);
  assert.equal(guard.isLoop('10.0.0.8', 16001), false);
  assert.equal(guard.isLoop('192.0.2.1', 443), false);
});

test('the default address list is the host interfaces (loopback always counts)', () => {
  const real = new LoopGuard(() => [16001]);
  assert.equal(real.isLoop('127.0.0.1', 16001), true);
  assert.equal(real.isLoop('192.0.2.1', 16001), false);
});
