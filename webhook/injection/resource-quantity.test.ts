import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResourceQuantity } from './resource-quantity.js';

test('CPU in cores or whole millicores; memory in bytes with a decimal or binary suffix', () => {
  assert.equal(parseResourceQuantity('cpu', '250m'), 250);
  assert.equal(parseResourceQuantity('cpu', '1.5'), 1500);
  assert.equal(parseResourceQuantity('cpu', '2'), 2000);
  assert.equal(parseResourceQuantity('memory', '256Mi'), 256 * 2 ** 20);
  assert.equal(parseResourceQuantity('memory', '1G'), 1e9);
  assert.equal(parseResourceQuantity('memory', '1000'), 1000);
  assert.ok(parseResourceQuantity('memory', '1Gi')! > parseResourceQuantity('memory', '1G')!);
});

test('what Kubernetes would reject, or nobody means, is not a quantity', () => {
  for (const text of ['', 'lots', '0', '0m', '1.5m', '-1', '1 cpu', '100Mi']) assert.equal(parseResourceQuantity('cpu', text), undefined, `cpu ${text}`);
  for (const text of ['', '0', '512m', '1.5Gi', '1K', '1gi', '1e3', 'Mi']) assert.equal(parseResourceQuantity('memory', text), undefined, `memory ${text}`);
});
