import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stoppingMessage } from './stop-on-signals.js';

test("the stop's message says what the caller's stop does, and nothing when it says nothing", () => {
  assert.equal(stoppingMessage('sidegate sidecar', 'SIGTERM', 'finishing open sessions, flushing the audit trail'), 'sidegate sidecar: SIGTERM: stopping (finishing open sessions, flushing the audit trail)…\n');
  assert.equal(stoppingMessage('sidegate webhook', 'SIGINT', undefined), 'sidegate webhook: SIGINT: stopping…\n');
  assert.doesNotMatch(stoppingMessage('sidegate webhook', 'SIGTERM', undefined), /audit/);
});
