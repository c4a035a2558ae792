import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { PresentedToken } from './presented-token.js';

test('a presented token shows its value only when revealed', () => {
  const canary = 'eyJ.canary-token-value.sig';
  const token = new PresentedToken(canary);
  const holder = { subject: 's', presented: token };
  assert.equal(token.reveal(), canary);
  for (const shown of [JSON.stringify(holder), inspect(holder, { depth: 5, showHidden: true }), String(token), `${token}`, JSON.stringify({ ...holder }), Object.keys(token).join(',')]) {
    assert.ok(!shown.includes('canary-token-value'), shown);
  }
});
