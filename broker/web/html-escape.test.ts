import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, httpUrlOrUndefined } from './html-escape.js';

test('text with markup comes out as characters, not elements', () => {
  assert.equal(escapeHtml(`<script>alert("x")</script>`), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  assert.equal(escapeHtml('a && b'), 'a &amp;&amp; b');
  assert.equal(escapeHtml('&lt;'), '&amp;lt;', 'an entity stays text, not a character');
  assert.equal(escapeHtml('plain text, 123'), 'plain text, 123');
  assert.equal(escapeHtml(''), '');
});

test('neither quote can end an attribute value', () => {
  const hostile = `x" onmouseover="alert(1)' y='z`;
  const escaped = escapeHtml(hostile);
  assert.equal(escaped.includes('"'), false);
  assert.equal(escaped.includes("'"), false);
  assert.equal(escaped, 'x&quot; onmouseover=&quot;alert(1)&#39; y=&#39;z');
});

test('non-ASCII and control characters pass through unchanged (they are text)', () => {
  assert.equal(escapeHtml('naïve — 日本 \u0000\t\n'), 'naïve — 日本 \u0000\t\n');
});

test('only absolute http and https URLs become links', () => {
  assert.equal(httpUrlOrUndefined('https://ci.example/acme/api/-/jobs/42'), 'https://ci.example/acme/api/-/jobs/42');
  assert.equal(httpUrlOrUndefined('http://ci.example/run?a=1&b=2'), 'http://ci.example/run?a=1&b=2');
  assert.equal(httpUrlOrUndefined('HTTPS://CI.example/x'), 'https://ci.example/x');
  for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', '/relative/path', '//ci.example/x', 'ftp://ci.example/x', 'not a url', '']) {
    assert.equal(httpUrlOrUndefined(bad), undefined, bad);
  }
  assert.equal(httpUrlOrUndefined(undefined), undefined);
});

test('a link URL is still escaped text: a quote in it cannot leave the attribute', () => {
  const url = httpUrlOrUndefined(`https://ci.example/x?q="><script>`);
  assert.ok(url);
  assert.equal(escapeHtml(url).includes('"'), false);
  assert.equal(escapeHtml(url).includes('<'), false);
});
