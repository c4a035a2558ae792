// Asserts that a token is refused with an IdentityError of the given code and message, and that
// the message — which is shown to the caller — carries neither the token nor its signature.
import assert from 'node:assert/strict';
import { IdentityError, type IdentityErrorCode } from '../../core/tokens/index.js';

export async function assertTokenRejected(
  verification: Promise<unknown>,
  token: string,
  code: IdentityErrorCode,
  message?: RegExp,
): Promise<IdentityError> {
  const err = await verification.then(
    () => assert.fail(`expected a rejection with ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IdentityError, `expected IdentityError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  assert.ok(!err.message.includes(token), 'the message never carries the token');
  const signature = token.split('.')[2] ?? '';
  if (signature !== '') assert.ok(!err.message.includes(signature), 'the message never carries the signature');
  return err;
}
