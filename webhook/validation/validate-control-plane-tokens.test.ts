// Golden tests for the validating check: every test/golden/validation/<case>.input.yaml must give
// exactly <case>.result.json. A case is a pod — either as written, or (inject: true) as injection
// patches it first, the way the final pod reaches a validating webhook — then `tamper`, an RFC 6902
// patch standing for what an attacker (or the API server's defaulting) changes, and optionally
// `update`, a second patch checked as a pod UPDATE from the first. UPDATE_GOLDEN=1 rewrites the
// results (review the diff!).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { applyJsonPatch } from '../../test/support/apply-json-patch.js';
import { casePods, readValidationCase, validationCases, validationGoldenDir, type ValidationCase } from '../../test/support/validation-golden-cases.js';
import { parseInjectionConfig } from '../config/injection-config.js';
import { controlPlaneTokenVolumes } from '../injection/control-plane-tokens.js';
import { genuineInjectionProblems } from '../injection/genuine-injection.js';
import type { JsonPatchOperation } from '../injection/inject-pod.js';
import { validateControlPlaneTokens, validatePodUpdate } from './validate-control-plane-tokens.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const update = process.env['UPDATE_GOLDEN'] === '1';

for (const name of validationCases) {
  test(`golden validation: ${name}`, () => {
    const input = readValidationCase(name);
    const config = parseInjectionConfig(input.config ?? {}, `${name}.input.yaml config`);
    const { pod, updated } = casePods(name, input);
    const before = structuredClone(pod);
    const result = updated ? validatePodUpdate(pod, updated, config) : validateControlPlaneTokens(pod, config);
    assert.deepEqual(pod, before, 'the check must not modify its input');
    const file = join(validationGoldenDir, `${name}.result.json`);
    const text = JSON.stringify(result, null, 2) + '\n';
    if (update) writeFileSync(file, text);
    assert.ok(existsSync(file), `${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), result, `${file} differs; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff`);
  });
}

test('every injected golden pod is genuine, and passes the check when it holds a control-plane token', () => {
  const injectionDir = join(repoRoot, 'test/golden/injection');
  let genuine = 0;
  let withTokens = 0;
  for (const file of readdirSync(injectionDir).filter((f) => f.endsWith('.patch.json'))) {
    const name = file.slice(0, -'.patch.json'.length);
    const input = parseYaml(readFileSync(join(injectionDir, `${name}.input.yaml`), 'utf8')) as ValidationCase;
    const config = parseInjectionConfig(input.config ?? {});
    const patched = applyJsonPatch(input.pod, JSON.parse(readFileSync(join(injectionDir, file), 'utf8')) as JsonPatchOperation[]);
    assert.deepEqual(genuineInjectionProblems(patched, config), [], `${name}: injection's own output is genuine`);
    genuine += 1;
    if (controlPlaneTokenVolumes(patched, config).size === 0) continue;
    // Pods admitted with an escape-risk warning hold no control-plane token (injection refuses those).
    assert.deepEqual(validateControlPlaneTokens(patched, config), { allowed: true }, name);
    withTokens += 1;
  }
  assert.ok(genuine >= 20 && withTokens >= 4, `${genuine} injected pods, ${withTokens} with a control-plane token`);
});
