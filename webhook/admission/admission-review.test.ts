import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseInjectionConfig } from '../config/injection-config.js';
import { injectPod } from '../injection/inject-pod.js';
import { injectionFailed, parseAdmissionReview, reviewPodAdmission, type AdmissionRequest } from './admission-review.js';

// A collector configured, as the chart requires by default: no warning about spans kept in the pod.
const config = parseInjectionConfig({ otlpEndpoint: 'http://otel-collector.observability.svc:4318' });
const enabled = { name: 'ci', labels: { 'sidegate.dev/inject': 'enabled' } };
const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job' }, spec: { containers: [{ name: 'job', image: 'postgres:15' }] } };

function podCreate(overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'ci',
    operation: 'CREATE',
    object: structuredClone(pod),
    ...overrides,
  };
}

test('an injected pod: uid echoed, allowed, JSONPatch with the base64 of exactly injectPod\'s patch', () => {
  const { response } = reviewPodAdmission(podCreate(), { config, namespace: enabled });
  assert.equal(response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, 'JSONPatch');
  const expected = injectPod({ pod, namespace: enabled, config, operation: 'CREATE' });
  assert.equal(expected.kind, 'inject');
  assert.deepEqual(JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')), expected.kind === 'inject' ? expected.patch : null);
  assert.equal(response.warnings, undefined);
});

test('dryRun still gets the patch (there are no side effects to suppress)', () => {
  const dry = reviewPodAdmission(podCreate({ dryRun: true }), { config, namespace: enabled });
  const wet = reviewPodAdmission(podCreate(), { config, namespace: enabled });
  assert.ok(dry.response.patch);
  assert.equal(dry.response.patch, wet.response.patch);
});

test('warnings are passed to the API server (shown by kubectl)', () => {
  const object = structuredClone(pod) as any;
  object.spec.containers[0].securityContext = { privileged: true };
  const { response } = reviewPodAdmission(podCreate({ object }), { config, namespace: enabled });
  assert.equal(response.allowed, true);
  assert.equal(response.warnings?.length, 1);
  assert.match(response.warnings![0]!, /privileged/);
});

test('spans kept in the pod (auditExporter file) are announced in the AdmissionReview response', () => {
  const { response } = reviewPodAdmission(podCreate(), { config: parseInjectionConfig({ auditExporter: 'file' }), namespace: enabled });
  assert.equal(response.allowed, true);
  assert.ok(response.patch);
  assert.equal(response.warnings?.length, 1);
  assert.match(response.warnings![0]!, /audit spans stay in the pod.*deleted with the pod's volume.*otlpEndpoint/);
});

test('a skipped pod is allowed without a patch', () => {
  const { response } = reviewPodAdmission(podCreate(), { config, namespace: { name: 'ci', labels: {} } });
  assert.deepEqual(response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
});

test('a denied pod gets 403 and the reason, prefixed so the operator knows who said no', () => {
  const object = structuredClone(pod) as any;
  object.spec.containers[0].securityContext = { capabilities: { add: ['NET_ADMIN'] } };
  const refuse = parseInjectionConfig({ escapePolicy: 'refuse' });
  const { response } = reviewPodAdmission(podCreate({ object }), { config: refuse, namespace: enabled });
  assert.equal(response.allowed, false);
  assert.equal(response.patch, undefined);
  assert.equal(response.status?.code, 403);
  assert.match(response.status!.message, /^sidegate: containers could bypass traffic capture: container "job" adds NET_ADMIN/);
});

test('anything but pod CREATE is admitted unchanged', () => {
  for (const request of [
    podCreate({ operation: 'UPDATE' }),
    podCreate({ kind: { group: '', version: 'v1', kind: 'ConfigMap' } }),
    podCreate({ subResource: 'ephemeralcontainers' }),
    podCreate({ kind: { group: 'apps', version: 'v1', kind: 'Pod' } }),
  ]) {
    assert.deepEqual(reviewPodAdmission(request, { config, namespace: enabled }).response, { uid: request.uid, allowed: true });
  }
});

test('injection that throws is denied by default, with a message naming the way out', () => {
  const inject = () => {
    throw new Error('boom');
  };
  const { response } = reviewPodAdmission(podCreate(), { config, namespace: enabled, inject });
  assert.equal(response.allowed, false);
  assert.equal(response.status?.code, 500);
  assert.match(response.status!.message, /could not inject the sidecar \(boom\).*failureMode: admit-unchanged/);
});

test('failureMode admit-unchanged admits without a patch but never silently', () => {
  const inject = () => {
    throw new Error('boom');
  };
  const lenient = parseInjectionConfig({ failureMode: 'admit-unchanged' });
  const { response } = reviewPodAdmission(podCreate(), { config: lenient, namespace: enabled, inject });
  assert.equal(response.allowed, true);
  assert.equal(response.patch, undefined);
  assert.match(response.warnings![0]!, /admitted WITHOUT the sidecar because injection failed \(boom\)/);
  assert.deepEqual(injectionFailed('u', 'x', lenient).response.allowed, true);
});

test('a pod CREATE without an object is a failure, not an admission', () => {
  const { response } = reviewPodAdmission(podCreate({ object: undefined }), { config, namespace: enabled });
  assert.equal(response.allowed, false);
});

test('parseAdmissionReview accepts v1 requests and names what is wrong otherwise', () => {
  const good = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: podCreate() });
  assert.equal(good.ok, true);
  const v1beta1 = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: podCreate() });
  assert.equal(v1beta1.ok, false);
  assert.match(!v1beta1.ok ? v1beta1.error : '', /apiVersion/);
  const noUid = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...podCreate(), uid: '' } });
  assert.match(!noUid.ok ? noUid.error : '', /request\.uid/);
  assert.equal(parseAdmissionReview(null).ok, false);
  assert.equal(parseAdmissionReview([]).ok, false);
});
