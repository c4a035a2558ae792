// `npm run schema`: regenerates policies/policy.schema.json (a test keeps it from going stale).
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { policyJsonSchemaText } from './json-schema.js';

const target = fileURLToPath(new URL('../../policies/policy.schema.json', import.meta.url));
await writeFile(target, policyJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
