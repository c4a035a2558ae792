import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { renderPage } from './page-layout.js';
import { CONTENT_SECURITY_POLICY, redirect, sendHtml } from './page-response.js';

test('the policy allows no script, no framing, and exactly the page stylesheet', () => {
  assert.match(CONTENT_SECURITY_POLICY, /(^|; )default-src 'none'(;|$)/);
  assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
  assert.match(CONTENT_SECURITY_POLICY, /form-action 'self'/);
  assert.match(CONTENT_SECURITY_POLICY, /base-uri 'none'/);
  assert.equal(/script-src|unsafe-inline|unsafe-eval/.test(CONTENT_SECURITY_POLICY), false);
  const style = /<style>([\s\S]*?)<\/style>/.exec(renderPage({ title: 't', body: '' }))?.[1];
  assert.ok(style !== undefined);
  const hash = createHash('sha256').update(style).digest('base64');
  assert.match(CONTENT_SECURITY_POLICY, new RegExp(`style-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`));
});

test('pages and redirects carry the security headers and are never cached', () => {
  for (const send of [(res: ServerResponse) => sendHtml(res, 200, '<p>x</p>'), (res: ServerResponse) => redirect(res, '/next')]) {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    send(res);
    assert.equal(res.getHeader('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(res.getHeader('x-frame-options'), 'DENY');
    assert.equal(res.getHeader('referrer-policy'), 'no-referrer');
    assert.equal(res.getHeader('x-content-type-options'), 'nosniff');
    assert.equal(res.getHeader('cache-control'), 'no-store');
  }
});

test('a title is escaped in the frame', () => {
  assert.match(renderPage({ title: '<b>', body: '' }), /<title>&lt;b&gt; · sidegate approvals<\/title>/);
});
