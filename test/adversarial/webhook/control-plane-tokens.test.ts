// An attacker who may create pods in a runner namespace, with a ServiceAccount the token exchange
// grants a database role to, tries to hold a broker or exchange token outside the genuine sidecar
// (issue 16's design gap). Each attempt of the validation corpus (test/golden/validation/attack-*
// and update-* that are denied) is checked for the one reason that names the attack, so a
// regenerated golden file cannot quietly turn an attack into a pass; and the audience comparison
// is checked against the exchange's own verifier, so "not a control-plane token" always means "a
// token the exchange refuses".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenVerifier } from '../../../core/tokens/token-verifier.js';
import { parseInjectionConfig } from '../../../webhook/config/injection-config.js';
import { controlPlaneAudiences, controlPlaneTokenVolumes } from '../../../webhook/injection/control-plane-tokens.js';
import { injectPod } from '../../../webhook/injection/inject-pod.js';
import { validateControlPlaneTokens, validatePodUpdate } from '../../../webhook/validation/validate-control-plane-tokens.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';
import { casePods, readValidationCase, validationCases } from '../../support/validation-golden-cases.js';

/** Each attack and the reason that must name it. */
const ATTACKS: Record<string, RegExp> = {
  'attack-opted-out-pod-mounts-exchange-token': /container "job" mounts volume "exchange-token", a ServiceAccount token for audience "sidegate-exchange"/,
  'attack-forged-status-annotation': /sidegate did not inject this pod/,
  'attack-broker-token-in-runner': /volume "exchange-token" projects a ServiceAccount token for audience "sidegate-broker"/,
  'attack-runner-mounts-sidegate-token': /container "migrate" mounts sidegate's token volume/,
  'attack-extra-container-mounts-exchange-token': /container "helper" mounts sidegate's token volume/,
  'attack-extra-init-container-mounts-token': /container "setup" mounts sidegate's token volume/,
  'attack-sidecar-command-override': /container "sidegate" differs from what injection renders in command/,
  'attack-sidecar-post-start-hook': /container "sidegate" differs from what injection renders in lifecycle/,
  'attack-sidecar-exec-probe': /container "sidegate" differs from what injection renders in livenessProbe/,
  'attack-sidecar-node-options': /container "sidegate" differs from what injection renders in env, envFrom/,
  'attack-sidecar-other-image': /container "sidegate" differs from what injection renders in image/,
  'attack-policy-volume-swapped': /volume "sidegate-policy" differs/,
  'attack-init-container-args': /container "sidegate-init" differs from what injection renders in args/,
  'attack-sidecar-moved-after-own-init': /initContainers are \["sidegate-init", "setup", "sidegate"\]/,
  'attack-second-token-volume-in-sidecar': /volume "cache" projects a ServiceAccount token/,
  'attack-second-token-volume-unmounted': /volume "spare" projects a ServiceAccount token/,
  'attack-token-added-to-sidegate-volume': /volume "sidegate-token" differs/,
  'attack-extra-audience-in-runner': /audience "orders-db-broker"/,
  'attack-forged-sidecar-without-injection': /container "sidegate" differs from what injection renders in args/,
  'attack-ephemeral-container-at-create': /ephemeral container "debug" mounts sidegate's token volume/,
  'attack-net-admin-runner': /container "migrate" adds NET_ADMIN/,
  'attack-shared-pid-ptrace': /adds SYS_PTRACE where it shares a process namespace/,
  'attack-runner-as-sidecar-uid': /runs as uid 7331/,
  'attack-host-network': /hostNetwork/,
  'attack-fake-api-access-volume': /container "sidegate" differs from what injection renders in volumeMounts/,
  'update-ephemeral-mounts-token': /ephemeral container "debugger-x2" mounts volume "sidegate-token"/,
  'update-ephemeral-targets-sidecar': /targets sidegate's container "sidegate"/,
  'update-ephemeral-net-admin': /ephemeral container "debugger-x4" adds NET_ADMIN/,
  'update-sidecar-image-swapped': /container "sidegate" is sidegate's and cannot change/,
  'update-init-image-swapped': /container "sidegate-init" is sidegate's and cannot change/,
};

test('the corpus holds every attack the issue names, and every attack case is listed here', () => {
  const attacks = validationCases.filter((name) => name.startsWith('attack-'));
  for (const name of attacks) assert.ok(name in ATTACKS, `${name} has no expected reason here`);
  for (const name of Object.keys(ATTACKS)) assert.ok(validationCases.includes(name), `missing case ${name}`);
});

for (const [name, reason] of Object.entries(ATTACKS)) {
  test(`attack refused: ${name}`, () => {
    const input = readValidationCase(name);
    const config = parseInjectionConfig(input.config ?? {});
    const { pod, updated } = casePods(name, input);
    const result = updated ? validatePodUpdate(pod, updated, config) : validateControlPlaneTokens(pod, config);
    assert.equal(result.allowed, false, `${name} must be denied`);
    if (!result.allowed) assert.ok(result.reasons.some((r) => reason.test(r)), `${name}: no reason matches ${reason}: ${result.reasons.join(' | ')}`);
  });
}

test('the attack pods that injection sees first do not get past it either', () => {
  // A forged marker in a namespace sidegate injects: denied before the validating check.
  const input = readValidationCase('attack-forged-status-annotation');
  const config = parseInjectionConfig(input.config ?? {});
  const result = injectPod({ pod: input.pod, namespace: { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } }, config, operation: 'CREATE' });
  assert.equal(result.kind, 'deny');
});

let issuer: TestIssuer;
before(async () => {
  issuer = await startTestIssuer({ issuer: 'https://kubernetes.default.svc.cluster.local' });
});
after(() => issuer?.close());

test('audiences compare as the exchange compares them: exact strings, so a variant the check lets through is one the exchange refuses', async () => {
  const config = parseInjectionConfig({ exchangeUrl: 'https://sidegate-exchange.sidegate-system.svc:443' });
  // The exchange's issuer for the cluster, as the chart configures it (audience = exchangeTokenAudience).
  const exchange = new TokenVerifier([{ issuer: issuer.issuer, audiences: [config.exchangeTokenAudience], jwks: issuer.jwks, clockSkewSeconds: 30 }]);
  const claims = { sub: 'system:serviceaccount:ci:deployer' };
  for (const audience of ['Sidegate-Exchange', ' sidegate-exchange', 'sidegate-exchange ', 'SIDEGATE-EXCHANGE', 'sidegate-exchange\u200b']) {
    const pod = { spec: { containers: [], volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { audience, path: 'token' } }] } }] } };
    assert.equal(controlPlaneTokenVolumes(pod, config).size, 0, `${JSON.stringify(audience)} is not a control-plane audience`);
    await assert.rejects(exchange.verify(await issuer.sign(claims, { audience })), /audience/, `the exchange refuses a token for ${JSON.stringify(audience)}`);
  }
  // The exact audience is guarded, and the exchange accepts it: the two agree.
  assert.ok(controlPlaneAudiences(config).includes('sidegate-exchange'));
  const verified = await exchange.verify(await issuer.sign(claims, { audience: 'sidegate-exchange' }));
  assert.equal(verified.subject, claims.sub);
});
