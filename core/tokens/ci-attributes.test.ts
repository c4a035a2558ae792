import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesAttributes, tokenCiAttributes } from './ci-attributes.js';

test('a GitHub Actions token: the run under one name per field, extra claims as they are', () => {
  const attrs = tokenCiAttributes('https://token.actions.githubusercontent.com', {
    sub: 'repo:acme/shop:environment:production',
    repository: 'acme/shop',
    repository_owner: 'acme',
    ref: 'refs/heads/main',
    workflow: 'deploy',
    workflow_ref: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    run_id: '991',
    run_attempt: '1',
    actor: 'octocat',
    environment: 'production',
    event_name: 'push',
  });
  assert.deepEqual(attrs, {
    'sidegate.ci.repository_owner': 'acme',
    'sidegate.ci.run_attempt': '1',
    'sidegate.ci.event_name': 'push',
    'sidegate.ci.system': 'github',
    'sidegate.ci.repository': 'acme/shop',
    'sidegate.ci.ref': 'refs/heads/main',
    // The workflow's file and ref, not its display name: names are not unique.
    'sidegate.ci.workflow': 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    'sidegate.ci.job': 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    'sidegate.ci.run_id': '991',
    'sidegate.ci.run_url': 'https://github.com/acme/shop/actions/runs/991',
    'sidegate.ci.actor': 'octocat',
    'sidegate.ci.environment': 'production',
  });
});

test('a GitLab id_token: project as repository, pipeline, job, protection of the ref', () => {
  const attrs = tokenCiAttributes('https://gitlab.example.com', {
    project_path: 'acme/api', namespace_path: 'acme', pipeline_id: '4242', pipeline_source: 'push', job_id: '77',
    ref: 'main', ref_type: 'branch', ref_protected: 'true', user_login: 'dev1', environment: 'staging', runner_id: 12,
  });
  assert.equal(attrs['sidegate.ci.system'], 'gitlab');
  assert.equal(attrs['sidegate.ci.repository'], 'acme/api');
  assert.equal(attrs['sidegate.ci.pipeline'], '4242');
  assert.equal(attrs['sidegate.ci.job'], '77');
  assert.equal(attrs['sidegate.ci.run_url'], 'https://gitlab.example.com/acme/api/-/jobs/77');
  assert.equal(attrs['sidegate.ci.actor'], 'dev1');
  assert.equal(attrs['sidegate.ci.ref_protected'], 'true');
  assert.equal(attrs['sidegate.ci.runner_id'], '12');
  assert.equal(attrs['sidegate.ci.namespace_path'], 'acme');
});

test("a pod's token: its names, nested as the kubelet writes them or flattened as the exchange records them", () => {
  const nested = { 'kubernetes.io': { namespace: 'ci', pod: { name: 'runner-1', uid: 'u-1' }, serviceaccount: { name: 'runner' } } };
  const expected = { 'sidegate.ci.k8s.namespace': 'ci', 'sidegate.ci.k8s.pod': 'runner-1', 'sidegate.ci.k8s.pod_uid': 'u-1', 'sidegate.ci.k8s.serviceaccount': 'runner' };
  assert.deepEqual(kubernetesAttributes(nested), expected);
  assert.deepEqual(kubernetesAttributes({ 'kubernetes.io.namespace': 'ci', 'kubernetes.io.pod.name': 'runner-1', 'kubernetes.io.pod.uid': 'u-1', 'kubernetes.io.serviceaccount.name': 'runner' }), expected);
  assert.deepEqual(tokenCiAttributes('https://kubernetes.default.svc', nested), { ...expected, 'sidegate.ci.system': 'kubernetes', 'sidegate.ci.job': 'ci/runner-1' });
});

test('claims that are objects or empty are not recorded; a token of no CI system adds nothing', () => {
  assert.deepEqual(tokenCiAttributes('https://issuer.example.com', { sub: 'x', ref_type: { a: 1 }, runner_id: null }), {});
  assert.deepEqual(kubernetesAttributes({ 'kubernetes.io': { namespace: '' } }), {});
});
