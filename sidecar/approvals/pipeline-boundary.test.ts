// The broker has its own API types (broker-api-schema.ts); the gate's hold request becomes a
// broker request in one place, hold-client.ts, which knows the pipeline only by the types it
// implements. Tests of that translation may build real held commands; nothing else may reach in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/sidecar/approvals/; the sources sit at the same path under the repository root.
const sources = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'sidecar', 'approvals');

test('only hold-client.ts imports the pipeline, and only its types', () => {
  const problems: string[] = [];
  const files = readdirSync(sources).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.includes('hold-client.ts'), `sources found in ${sources}`);
  for (const file of files) {
    const text = readFileSync(join(sources, file), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+'([^']*\/pipeline\/[^']*)'/gm)) {
      if (file === 'hold-client.ts' && m[2] !== undefined) continue;
      problems.push(`${file}: ${m[0].trim()}`);
    }
  }
  assert.deepEqual(problems, []);
});
