import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpRequestHost, MAX_REQUEST_HEAD_BYTES } from './http-request-host.js';

const req = (text: string) => httpRequestHost(Buffer.from(text, 'latin1'));

test('the Host header of a request head, lower-cased, port kept', () => {
  assert.equal(req('GET /repo.git/info/refs HTTP/1.1\r\nUser-Agent: git/2\r\nHost: Git.Example.com\r\nAccept: */*\r\n\r\n'), 'git.example.com');
  assert.equal(req('GET / HTTP/1.0\r\nhost:   example.com:8080  \r\n\r\n'), 'example.com:8080');
  assert.equal(req('POST /x HTTP/1.1\r\nHOST: [fd00::5]:80\r\n\r\nbody'), '[fd00::5]:80');
  assert.equal(req('GET / HTTP/1.1\nHost: lf-only.example\n\n'), 'lf-only.example');
});

test('a head still arriving: the Host line counts once it is complete', () => {
  assert.equal(req('GET / HTTP/1.1\r\nHost: example.com\r\n'), 'example.com');
  assert.equal(req('GET / HTTP/1.1\r\nHost: exam'), undefined, 'unterminated line');
  assert.equal(req('GET / HTTP/1.1\r\n'), undefined, 'no headers yet');
  assert.equal(req('GET / HTT'), undefined, 'request line incomplete');
});

test('absolute-form: the authority wins and userinfo never comes back', () => {
  assert.equal(req('GET http://proxy.example:3128/x HTTP/1.1\r\nHost: other.example\r\n\r\n'), 'proxy.example:3128');
  assert.equal(req('GET http://user:s3cret@files.example/x HTTP/1.1\r\n\r\n'), 'files.example');
});

test('ambiguous, malformed or non-HTTP input: undefined', () => {
  assert.equal(req('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'), undefined, 'two Host headers');
  assert.equal(req('GET / HTTP/1.1\r\nHost: a b\r\n\r\n'), undefined, 'space in host');
  assert.equal(req('GET / HTTP/1.1\r\nHost: a.example:99999\r\n\r\n'), undefined, 'port out of range');
  assert.equal(req('GET / HTTP/1.1\r\nHost:\r\n\r\n'), undefined, 'empty');
  assert.equal(req('GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\nHost: a.example\r\n\r\n'), undefined, 'obsolete folding');
  assert.equal(req('GET / HTTP/1.1\r\nno colon here\r\nHost: a.example\r\n\r\n'), undefined);
  assert.equal(req('GET / HTTP/2.0\r\nHost: a.example\r\n\r\n'), undefined, 'not HTTP/1');
  assert.equal(req('SSH-2.0-OpenSSH\r\n'), undefined);
  assert.equal(httpRequestHost(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])), undefined);
  assert.equal(httpRequestHost(new Uint8Array(0)), undefined);
  assert.equal(req(`GET / HTTP/1.1\r\nHost: ${'a'.repeat(300)}\r\n\r\n`), undefined, 'too long');
});

test('bounded: bytes past the head limit are never read', () => {
  const head = `GET / HTTP/1.1\r\nX-Pad: ${'x'.repeat(MAX_REQUEST_HEAD_BYTES)}\r\nHost: late.example\r\n\r\n`;
  assert.equal(req(head), undefined);
  const early = `GET / HTTP/1.1\r\nHost: early.example\r\nX-Pad: ${'x'.repeat(MAX_REQUEST_HEAD_BYTES)}\r\n\r\n`;
  assert.equal(req(early), undefined, 'a second Host could follow past the limit');
});

test('never throws on arbitrary bytes', () => {
  const base = Buffer.from('GET http://u:p@h.example:80/ HTTP/1.1\r\nHost: x.example\r\n\r\n', 'latin1');
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(base.subarray(0, rand() % (base.length + 1)));
    for (let j = 0; j < 3 && b.length > 0; j++) b[rand() % b.length] = rand() & 0xff;
    const host = httpRequestHost(b);
    assert.ok(host === undefined || /^[a-z0-9.\[\]:_~-]+$/.test(host), JSON.stringify(host));
  }
});
