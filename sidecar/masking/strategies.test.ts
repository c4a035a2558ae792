import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategy, keyedHash, partial, redact, strategyStrength } from './strategies.js';

const key = Buffer.from('0123456789abcdef0123456789abcdef');

test('redact: fixed text, naming the detector for matches inside text', () => {
  assert.equal(redact(), '[REDACTED]');
  assert.equal(redact('email'), '[REDACTED:email]');
  assert.equal(applyStrategy('redact', 'anything', undefined), '[REDACTED]');
});

test('partial: e-mail keeps first character and domain, card keeps last four, generic first and last', () => {
  assert.equal(partial('ada@example.com'), 'a***@example.com');
  assert.equal(partial('ada@example.com', 'email'), 'a***@example.com');
  assert.equal(partial('4111 1111 1111 1111', 'payment-card'), '************1111');
  assert.equal(partial('4111-1111-1111-1111'), '************1111', 'a card-shaped column value');
  assert.equal(partial('378282246310005'), '***********0005');
  assert.equal(partial('secret-value'), 's**********e');
  assert.equal(partial('ÄbcdéF'), 'Ä****F', 'counted in characters, not UTF-16 units or bytes');
  assert.equal(partial('abcd'), '****', 'short values are fully starred');
  assert.equal(partial(''), '');
});

test('hash: stable for one key, different across keys and inputs, short and prefixed', () => {
  const h = keyedHash('ada@example.com', key);
  assert.match(h, /^hash:[0-9a-f]{16}$/);
  assert.equal(keyedHash('ada@example.com', key), h);
  assert.equal(keyedHash(Buffer.from('ada@example.com'), key), h, 'bytes hash like their UTF-8 text');
  assert.notEqual(keyedHash('ada@example.com', Buffer.from('another key')), h);
  assert.notEqual(keyedHash('ada@example.org', key), h);
  assert.throws(() => applyStrategy('hash', 'x', undefined), /masking key/);
  assert.throws(() => applyStrategy('hash', 'x', Buffer.alloc(0)), /masking key/);
});

test('strength orders redact over hash over partial', () => {
  assert.ok(strategyStrength('redact') > strategyStrength('hash'));
  assert.ok(strategyStrength('hash') > strategyStrength('partial'));
});
