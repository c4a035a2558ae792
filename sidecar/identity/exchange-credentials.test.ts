import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refreshAtMs } from './exchange-credentials.js';

test('a login is exchanged again a fifth of its lifetime before expiry, 10 s to 5 min ahead', () => {
  const t0 = 1_000_000;
  assert.equal(refreshAtMs(t0, t0 + 10 * 60_000), t0 + 8 * 60_000, '10 min: 2 min ahead');
  assert.equal(refreshAtMs(t0, t0 + 24 * 3_600_000), t0 + 24 * 3_600_000 - 5 * 60_000, 'a day: 5 min ahead at most');
  assert.equal(refreshAtMs(t0, t0 + 30_000), t0 + 20_000, '30 s: 10 s ahead at least');
  assert.equal(refreshAtMs(t0, t0 + 5_000), t0, 'shorter than the margin: used once, never cached');
});
