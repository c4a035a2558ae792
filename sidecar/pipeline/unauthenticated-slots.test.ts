import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthenticatedSlots, type UnauthenticatedConnection } from './unauthenticated-slots.js';

function conn(waiting = true) {
  const c = { evicted: false, waiting, waitingForClient: () => c.waiting, evict: () => void (c.evicted = true) };
  return c satisfies UnauthenticatedConnection;
}

test('up to the limit every connection gets a slot; releasing frees one', () => {
  const slots = new UnauthenticatedSlots(2);
  const a = conn();
  const b = conn();
  assert.equal(slots.acquire(a), true);
  assert.equal(slots.acquire(b), true);
  slots.release(a);
  assert.equal(slots.size, 1);
  assert.equal(slots.acquire(conn()), true);
  assert.equal(a.evicted, false);
});

test('at the limit the oldest connection waiting for its client is displaced', () => {
  const slots = new UnauthenticatedSlots(3);
  const verifying = conn(false);
  const old = conn();
  const newer = conn();
  for (const c of [verifying, old, newer]) slots.acquire(c);
  const fresh = conn();
  assert.equal(slots.acquire(fresh), true);
  assert.equal(verifying.evicted, false);
  assert.equal(old.evicted, true);
  assert.equal(newer.evicted, false);
  assert.equal(slots.size, 3);
});

test('when every slot is verifying a token, the new connection is refused', () => {
  const slots = new UnauthenticatedSlots(2);
  slots.acquire(conn(false));
  slots.acquire(conn(false));
  assert.equal(slots.acquire(conn()), false);
});
