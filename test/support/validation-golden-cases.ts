// The validating check's golden cases (test/golden/validation/), read the same way by the golden
// test (webhook/validation/) and the adversarial corpus (test/adversarial/webhook/).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { applyJsonPatch } from './apply-json-patch.js';
import { parseInjectionConfig } from '../../webhook/config/injection-config.js';
import { injectPod, type JsonPatchOperation } from '../../webhook/injection/inject-pod.js';

// Compiled to dist/test/support/; the cases stay in the source tree.
export const validationGoldenDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'test/golden/validation');

export interface ValidationCase {
  description: string;
  config?: unknown;
  namespace?: { name: string; labels: Record<string, string> };
  pod: Pod;
  inject?: boolean;
  tamper?: JsonPatchOperation[];
  update?: JsonPatchOperation[];
}

/** The case's pod as the check sees it, and the pod after `update` when the case has one. */
export function casePods(name: string, input: ValidationCase): { pod: Pod; updated?: Pod } {
  const config = parseInjectionConfig(input.config ?? {}, `${name}.input.yaml config`);
  let pod = input.pod;
  if (input.inject) {
    const result = injectPod({ pod, namespace: input.namespace ?? { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } }, config, operation: 'CREATE' });
    assert.equal(result.kind, 'inject', `${name}: injection must inject the pod (${JSON.stringify(result)})`);
    if (result.kind === 'inject') pod = applyJsonPatch(pod, result.patch);
  }
  if (input.tamper) pod = applyJsonPatch(pod, input.tamper);
  return input.update ? { pod, updated: applyJsonPatch(pod, input.update) } : { pod };
}

export function readValidationCase(name: string): ValidationCase {
  return parseYaml(readFileSync(join(validationGoldenDir, `${name}.input.yaml`), 'utf8')) as ValidationCase;
}

export const validationCases = readdirSync(validationGoldenDir)
  .filter((f) => f.endsWith('.input.yaml'))
  .map((f) => f.slice(0, -'.input.yaml'.length))
  .sort();

