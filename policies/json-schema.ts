// The JSON Schema editors use for policy files (YAML language servers read it), generated from
// the zod schema so the two cannot disagree.
import { z } from 'zod';
import { PolicyDocumentSchema } from './schema.js';

export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicyDocumentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://sidegate.dev/schemas/policy-v1.json',
    title: 'sidegate policy v1',
  };
}

export function policyJsonSchemaText(): string {
  return JSON.stringify(policyJsonSchema(), null, 2) + '\n';
}
