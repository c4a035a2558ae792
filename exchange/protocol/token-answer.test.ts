import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTokenAnswer } from './token-answer.js';
import { tokenExchangeResponse } from './token-response.js';
import { parseTokenExchangeRequest } from './token-exchange-request.js';
import { parseRevocationRequest } from './revocation-request.js';
import { FORM_CONTENT_TYPE, revocationForm, tokenExchangeForm } from './client-forms.js';
import type { TargetCredential } from './credential-token.js';

const credential: TargetCredential = { target: 'orders', protocol: 'postgres', username: 'sidegate_x_1', password: 'pw-secret', expiresAt: '2026-12-04T20:00:00.000Z' };
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

test('an issued answer yields the credential of the target asked for, and only that', () => {
  const body = json(tokenExchangeResponse(credential, 'orders_reader', Date.parse('2026-12-04T19:00:00Z')));
  const answer = readTokenAnswer(200, body, 'orders');
  assert.equal(answer.kind, 'issued');
  assert.deepEqual(answer.kind === 'issued' && answer.credential, credential);
  assert.deepEqual(readTokenAnswer(200, body, 'billing'), { kind: 'unreadable', status: 200 }, 'a credential for another target is not used');
  assert.deepEqual(readTokenAnswer(200, json({ access_token: 'eyJ.x.y', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }), 'orders'), { kind: 'unreadable', status: 200 });
  assert.deepEqual(readTokenAnswer(200, Buffer.from('<html>'), 'orders'), { kind: 'unreadable', status: 200 });
});

test('an OAuth error is read with its code and a printable description', () => {
  assert.deepEqual(readTokenAnswer(400, json({ error: 'invalid_target', error_description: 'no grant gives "x"\n' }), 'orders'), {
    kind: 'refused', status: 400, error: 'invalid_target', description: "no grant gives 'x'?",
  });
  assert.equal((readTokenAnswer(400, json({ error: 'made_up' }), 'orders') as { error: string }).error, 'unknown_error');
  assert.deepEqual(readTokenAnswer(502, Buffer.from('Bad Gateway'), 'orders'), { kind: 'unreadable', status: 502 });
});

test('the client forms are what the exchange parses', () => {
  const parsed = parseTokenExchangeRequest(FORM_CONTENT_TYPE, Buffer.from(tokenExchangeForm('eyJ.a.b', 'orders', 'orders_reader')));
  assert.deepEqual(parsed, { subjectToken: 'eyJ.a.b', subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt', target: 'orders', scope: ['orders_reader'] });
  assert.deepEqual(parseTokenExchangeRequest(FORM_CONTENT_TYPE, Buffer.from(tokenExchangeForm('eyJ.a.b', 'orders'))).scope, []);
  assert.deepEqual(parseRevocationRequest(FORM_CONTENT_TYPE, Buffer.from(revocationForm('tok', 'eyJ.c.d'))), { token: 'tok', subjectToken: 'eyJ.c.d' });
});
