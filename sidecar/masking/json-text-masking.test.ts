import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDetectors, findSensitive } from './detectors.js';
import { jsonScalarTokens, maskJsonText } from './json-text-masking.js';
import { applyStrategy } from './strategies.js';

const detectors = compileDetectors([
  { kind: 'builtin', name: 'email' },
  { kind: 'builtin', name: 'payment-card' },
  { kind: 'regex', name: 'password-pair', pattern: '"password":\\s*"[^"]*"' },
]);
const maskPlain = (v: string) => {
  const ms = findSensitive(v, detectors);
  let out = '';
  let at = 0;
  for (const m of ms) {
    out += v.slice(at, m.start) + applyStrategy('redact', '', undefined, m.detector);
    at = m.end;
  }
  return { value: out + v.slice(at), masked: ms.length };
};
const mask = (json: string) =>
  maskJsonText(json, { find: (t) => findSensitive(t, detectors), maskScalar: maskPlain, replaceScalar: (_v, m) => applyStrategy('redact', '', undefined, m.detector) });

test('tokens: strings (escapes noted) and numbers; an unterminated string is not JSON', () => {
  const tokens = jsonScalarTokens('{"a\\"b": [1, -2.5e3, true, null, "x"]}')!;
  assert.deepEqual(
    tokens.map((t) => [t.kind, t.escaped]),
    [
      ['string', true],
      ['number', false],
      ['number', false],
      ['string', false],
    ],
  );
  assert.equal(jsonScalarTokens('{"a": "open'), null);
});

test('matches inside strings are masked and the document stays valid JSON', () => {
  const r = mask('{"to": "ada@example.com", "cc": ["b@x.io"], "n": 1}')!;
  assert.deepEqual(JSON.parse(r.value), { to: '[REDACTED:email]', cc: ['[REDACTED:email]'], n: 1 });
  assert.equal(r.masked, 2);
});

test('a card stored as a JSON number becomes a masked string, not broken JSON', () => {
  const r = mask('{"card": 4111111111111111}')!;
  assert.deepEqual(JSON.parse(r.value), { card: '[REDACTED:payment-card]' });
});

test('a match spanning tokens replaces every token it touches; escapes cannot hide an address', () => {
  const r = mask('{"password": "hunter2", "ok": "yes"}')!;
  assert.deepEqual(JSON.parse(r.value), { '[REDACTED:password-pair]': '[REDACTED:password-pair]', ok: 'yes' });
  const escaped = mask('{"to": "ada\\u0040example.com"}')!;
  assert.deepEqual(JSON.parse(escaped.value), { to: '[REDACTED:email]' });
});

test('clean JSON comes back as the same string', () => {
  const json = '{"a": "plain", "b": [1, 2]}';
  assert.deepEqual(mask(json), { value: json, masked: 0 });
});
