import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { policyJsonSchemaText } from './json-schema.js';

test('the committed policies/policy.schema.json is what the zod schema generates (run `npm run schema`)', async () => {
  const committed = await readFile(fileURLToPath(new URL('../../policies/policy.schema.json', import.meta.url)), 'utf8');
  assert.equal(committed, policyJsonSchemaText());
  const schema = JSON.parse(committed);
  assert.ok(schema.properties.rules, 'describes rules');
  assert.ok(schema.properties.masking, 'describes masking');
});
