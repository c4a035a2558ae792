// `sidegate policy check` and `sidegate policy test` as an operator runs them, on the example
// policies, through the real SQL grammar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../support/sidegate-harness.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../policies/examples/', import.meta.url));
const sidegate = (...args: string[]) => run(process.execPath, [CLI, ...args], {}, undefined, 30_000);

for (const name of ['local-demo', 'ci-postgres', 'ci-mysql']) {
  test(`policy check accepts the example ${name}.yaml`, async () => {
    const r = await sidegate('policy', 'check', join(EXAMPLES, `${name}.yaml`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok \(\d+ targets/);
  });

  test(`policy test: every case of ${name}.cases.yaml passes with the real grammar`, async () => {
    const r = await sidegate('policy', 'test', join(EXAMPLES, `${name}.yaml`), join(EXAMPLES, `${name}.cases.yaml`));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\d+ passed, 0 failed/);
    assert.doesNotMatch(r.stdout, /FAIL/);
  });
}

test('policy check names file, line and column of each problem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-policy-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'identities:',
        '  - name: ci',
        '    issuer: https://ci.example',
        '    audiences: [sidegate]',
        '    jwksUrl: https://ci.example/jwks',
        'rules:',
        '  - name: r1',
        '    identities: [nobody]',
        '    action: permit',
        '',
      ].join('\n'),
    );
    const r = await sidegate('policy', 'check', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10:13: rules\\[0\\]\\.action: expected one of allow\\|deny\\|approve, got "permit"`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('policy test exits non-zero on a mismatch and says which case', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-policy-'));
  try {
    const cases = join(dir, 'cases.yaml');
    await writeFile(
      cases,
      'cases:\n  - name: wrongly expects DROP to pass\n    claims: { iss: https://sidegate.local, sub: dev }\n    target: demo\n    command: DROP TABLE orders\n    expect: allow\n',
    );
    const r = await sidegate('policy', 'test', join(EXAMPLES, 'local-demo.yaml'), cases);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL  wrongly expects DROP to pass: expected allow, got deny by rule "no-destructive-ddl"/);
    assert.match(r.stdout, /0 passed, 1 failed/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
