import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter, retryDelayMs, verdictFor } from './retry-policy.js';

test('2xx is delivered; 408, 429 and 5xx are retried; other 4xx and 3xx are given up', () => {
  for (const s of [200, 201, 204]) assert.equal(verdictFor(s), 'delivered');
  for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(verdictFor(s), 'retry');
  for (const s of [301, 302, 400, 401, 403, 404, 410, 413]) assert.equal(verdictFor(s), 'give-up');
});

test('backoff doubles per attempt with jitter in its upper half, capped', () => {
  const opts = { baseMs: 1000, maxMs: 10_000 };
  assert.equal(retryDelayMs(1, opts, 0), 500);
  assert.equal(retryDelayMs(1, opts, 1), 1000);
  assert.equal(retryDelayMs(2, opts, 0), 1000);
  assert.equal(retryDelayMs(3, opts, 1), 4000);
  assert.equal(retryDelayMs(10, opts, 1), 10_000);
  assert.equal(retryDelayMs(1000, opts, 0.5), 7500);
});

test('a Retry-After wins over the backoff but not over the cap', () => {
  const opts = { baseMs: 1000, maxMs: 10_000 };
  assert.equal(retryDelayMs(1, opts, 0.5, 3000), 3000);
  assert.equal(retryDelayMs(1, opts, 0.5, 3_600_000), 10_000);
  assert.equal(retryDelayMs(1, opts, 0.5, 0), 0);
});

test('Retry-After as seconds or an HTTP date; junk is ignored', () => {
  const now = Date.parse('2025-01-01T10:00:00Z');
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 10:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 09:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter('-1', now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
});
