import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { findCardNumbers, holdsCardNumber, luhnValid, mayHoldCardNumber } from './card-numbers.js';

const cards = (text: string): string[] => {
  const out: string[] = [];
  findCardNumbers(text, (s, e) => out.push(text.slice(s, e)));
  return out;
};

test('Luhn: real test numbers pass, one wrong digit fails, length is bounded', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111 1111 1111 1111'), true);
  assert.equal(luhnValid('5500-0055-5555-5559'), true);
  assert.equal(luhnValid('378282246310005'), true, 'Amex, 15 digits');
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(luhnValid('0000000000'), false, 'too short even though the sum is 0');
  assert.equal(luhnValid('00000000000000000000'), false, '20 digits is too long');
});

test('cards with spaces or dashes are found; Luhn failures and plain numbers are not', () => {
  assert.deepEqual(cards('pay 4111 1111 1111 1111 now'), ['4111 1111 1111 1111']);
  assert.deepEqual(cards('pay 4111-1111-1111-1111.'), ['4111-1111-1111-1111']);
  assert.deepEqual(cards('card:4111111111111111;'), ['4111111111111111']);
  assert.deepEqual(cards('4111111111111112'), []);
  assert.deepEqual(cards('phone 2025550123, id 12345'), []);
  assert.deepEqual(cards('4111  1111 1111 1111'), [], 'a double space ends a run: neither part has 13 digits');
});

test('a card inside a longer digit run is still found (group windows)', () => {
  assert.deepEqual(cards('ref 1 4111 1111 1111 1111'), ['4111 1111 1111 1111']);
  assert.deepEqual(cards('2025550123 4111111111111111 378282246310005'), ['4111111111111111', '378282246310005']);
  assert.deepEqual(cards('x41111111111111110'), [], 'not started mid-group: a 17-digit number is not a card');
});

test('a Luhn-valid run glued to a letter or underscore is part of a word (hex digests, tokens), not a card', () => {
  assert.deepEqual(cards('c4ca4238a0b92382a4111111111111111f'), [], 'inside a hex digest');
  assert.deepEqual(cards('tok_4111111111111111'), []);
  assert.deepEqual(cards('4111111111111111abc'), []);
  assert.deepEqual(cards('ab4111111111111111'), []);
  // Bounded by anything else it is a card, at either end of the text too.
  assert.deepEqual(cards('4111111111111111'), ['4111111111111111']);
  assert.deepEqual(cards('(4111111111111111)'), ['4111111111111111']);
  assert.deepEqual(cards('é4111111111111111'), ['4111111111111111'], 'only ASCII letters glue');
  // A glued first or last group only rules out windows that use it.
  assert.deepEqual(cards('x1 4111 1111 1111 1111'), ['4111 1111 1111 1111']);
  assert.deepEqual(cards('4111 1111 1111 1111 2x'), ['4111 1111 1111 1111']);
  assert.deepEqual(cards('x4111 1111 1111 1111y'), []);
  // In a table of md5 digests no row holds a "card": digits glued to hex letters never count.
  let found = 0;
  for (let g = 1; g <= 20000; g++) {
    const row = createHash('md5').update(String(g)).digest('hex') + createHash('md5').update(String(g + 1)).digest('hex');
    findCardNumbers(row, () => found++);
  }
  assert.equal(found, 0);
});

test('a UUID is not a card, even when its leading groups are digits that pass Luhn', () => {
  assert.deepEqual(cards('41111111-1111-1111-8abc-0123456789ab'), [], '41111111-1111-1111 alone would be a card');
  assert.deepEqual(cards('id=41111111-1111-1111-1111-111111111111;'), [], 'all digits');
  assert.deepEqual(cards('x41111111-1111-1111-8abc-0123456789aby'), [], 'glued to words');
  // Only the exact layout: the same digits in other dash-joined text are still a card.
  assert.deepEqual(cards('41111111-1111-1111'), ['41111111-1111-1111']);
  assert.deepEqual(cards('41111111-1111-1111-8abc'), ['41111111-1111-1111']);
  assert.deepEqual(cards('41111111-1111-1111-8abc-0123456789ab-0'), ['41111111-1111-1111'], 'longer than a UUID');
  assert.deepEqual(cards('ab-41111111-1111-1111-8abc-0123456789ab'), ['41111111-1111-1111'], 'longer than a UUID');
  // A card next to a UUID is found, and only the card.
  assert.deepEqual(cards('card 4111-1111-1111-1111 for 5373a1e1-bf31-4769-946d-a01fa7863bc0'), ['4111-1111-1111-1111']);
  assert.deepEqual(cards('5373a1e1-bf31-4769-946d-a01fa7863bc0 4111 1111 1111 1111'), ['4111 1111 1111 1111']);
  // Many UUIDs (md5-derived, so the same every run): none holds a "card" (11 of them did).
  let found = 0;
  for (let g = 1; g <= 100_000; g++) {
    const h = createHash('md5').update(String(g)).digest('hex');
    findCardNumbers(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, () => found++);
  }
  assert.equal(found, 0);
});

test('the pre-check agrees with the scanner on what could hold a card', () => {
  assert.equal(mayHoldCardNumber('id 4111 1111 1111 1111'), true);
  assert.equal(mayHoldCardNumber('c4ca4238a0b923820dcc509a6f75849b'), false, 'md5 hex has short digit runs');
  assert.equal(mayHoldCardNumber('1 2  3 4 5 6 7 8 9 0 1 2 3'), false);
});

test('holdsCardNumber answers exactly as the scanner does, with or without separators', () => {
  let seed = 5;
  const next = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let cards = 0;
  for (let round = 0; round < 20000; round++) {
    const length = 1 + Math.floor(next() * 30);
    const text = Array.from({ length }, () => (next() < 0.9 ? String(Math.floor(next() * 10)) : next() < 0.5 ? ' ' : '-')).join('');
    let found = false;
    findCardNumbers(text, () => (found = true));
    if (found) cards++;
    assert.equal(holdsCardNumber(text), found, JSON.stringify(text));
  }
  for (const t of ['4111111111111111', '4111 1111 1111 1111', '378282246310005', '41111111111111111111', '4111111111111112']) {
    let found = false;
    findCardNumbers(t, () => (found = true));
    assert.equal(holdsCardNumber(t), found, t);
  }
  assert.ok(cards > 500, `cards among the samples (${cards})`);
});

test('runs of zeros and numbers starting with 0 are no card (they pass Luhn)', () => {
  const found: string[] = [];
  const text = 'avg 2.0000000000000000 and 0000000000000000 and 0539578763621486';
  findCardNumbers(text, (s, e) => found.push(text.slice(s, e)));
  assert.deepEqual(found, []);
  assert.equal(holdsCardNumber('0000000000000000'), false);
  assert.equal(holdsCardNumber('4539578763621486'), true);
});
