import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { issuesLine, yamlDocument } from './config-document.js';

test('problems name each field, never its value', () => {
  const result = z.strictObject({ url: z.url(), port: z.number().int() }).safeParse({ url: 'not a url with secret-x', port: 1.5, extra: 1 });
  assert.ok(!result.success);
  const line = issuesLine(result.error.issues);
  assert.match(line, /^url: .+; port: .+; \(root\): .+extra/);
  assert.doesNotMatch(line, /secret-x/);
});

test('a YAML syntax error is the caller\'s error type, naming the source', () => {
  class MyError extends Error {}
  assert.deepEqual(yamlDocument('a: 1\nb: [2, 3]\n', 'f.yaml', (m) => new MyError(m)), { a: 1, b: [2, 3] });
  assert.throws(() => yamlDocument('a: [1, 2\n', 'f.yaml', (m) => new MyError(m)), (err: Error) => err instanceof MyError && /^f\.yaml: not valid YAML: /.test(err.message));
});
