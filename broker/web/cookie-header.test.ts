import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieName, cookieValues, setCookie } from './cookie-header.js';
import { exchange, setCookies } from './cookie-exchange.test.js';

test('cookie values are found by exact name', () => {
  assert.deepEqual(cookieValues('a=1; sid=x.y; sidx=2;sid=z', 'sid'), ['x.y', 'z']);
  assert.deepEqual(cookieValues(undefined, 'sid'), []);
  assert.deepEqual(cookieValues('novalue; =v', 'sid'), []);
});

test('Set-Cookie headers accumulate in order', () => {
  const { res } = exchange();
  setCookie(res, 'a', '', 0, false);
  setCookie(res, cookieName('a', true), 'v', 60, true);
  assert.deepEqual(setCookies(res), ['a=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax', '__Host-a=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure']);
});
