import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePodinfoFile, podResourceAttributes, readPodinfo } from './pod-resource.js';

const POD_ENV = {
  SIDEGATE_POD_NAME: 'runner-abc',
  SIDEGATE_POD_NAMESPACE: 'gitlab-runners',
  SIDEGATE_POD_UID: '1d6c2a84-5f0e-4d8b-9a7c-3e2f1b0a9c8d',
  SIDEGATE_NODE_NAME: 'node-7',
};

test('the pod the webhook describes becomes k8s.* attributes, with its UID as service.instance.id', () => {
  assert.deepEqual(podResourceAttributes({ env: POD_ENV }), {
    'k8s.pod.name': 'runner-abc',
    'k8s.namespace.name': 'gitlab-runners',
    'k8s.pod.uid': '1d6c2a84-5f0e-4d8b-9a7c-3e2f1b0a9c8d',
    'k8s.node.name': 'node-7',
    'service.instance.id': '1d6c2a84-5f0e-4d8b-9a7c-3e2f1b0a9c8d',
  });
});

test('outside a pod: only a fresh service.instance.id', () => {
  assert.deepEqual(podResourceAttributes({ env: {} }, () => 'fresh-uuid'), { 'service.instance.id': 'fresh-uuid' });
});

test('the CI job from GitLab runner, Tekton and GitHub ARC pod metadata', () => {
  const gitlab = podResourceAttributes({
    env: {},
    metadata: {
      'job.runner.gitlab.com/pod': 'runner-t3yzxq9b-project-42-concurrent-0',
      'job.runner.gitlab.com/id': '987654',
      'job.runner.gitlab.com/name': 'migrate-db',
      'job.runner.gitlab.com/ref': 'main',
      'job.runner.gitlab.com/sha': '1f2e3d4c',
      'job.runner.gitlab.com/url': 'https://gitlab.example.com/acme/shop/-/jobs/987654',
    },
  }, () => 'id');
  assert.deepEqual(gitlab, {
    'service.instance.id': 'id',
    'sidegate.ci.system': 'gitlab',
    'cicd.pipeline.task.run.id': '987654',
    'cicd.pipeline.task.name': 'migrate-db',
    'cicd.pipeline.task.run.url.full': 'https://gitlab.example.com/acme/shop/-/jobs/987654',
    'vcs.ref.head.name': 'main',
    'vcs.ref.head.revision': '1f2e3d4c',
  });
  const tekton = podResourceAttributes({
    env: {},
    metadata: { 'tekton.dev/pipeline': 'release', 'tekton.dev/pipelineRun': 'release-run-8xk2m', 'tekton.dev/pipelineTask': 'migrate', 'tekton.dev/task': 'db-migrate', 'tekton.dev/taskRun': 'release-run-8xk2m-migrate' },
  }, () => 'id');
  assert.equal(tekton['cicd.pipeline.name'], 'release');
  assert.equal(tekton['cicd.pipeline.run.id'], 'release-run-8xk2m');
  assert.equal(tekton['cicd.pipeline.task.name'], 'migrate');
  assert.equal(tekton['cicd.pipeline.task.run.id'], 'release-run-8xk2m-migrate');
  const arc = podResourceAttributes({ env: {}, metadata: { 'actions.github.com/scale-set-name': 'shop-runners', 'actions.github.com/organization': 'acme', 'actions.github.com/repository': 'shop' } }, () => 'id');
  assert.deepEqual(arc, { 'service.instance.id': 'id', 'sidegate.ci.system': 'github', 'vcs.owner.name': 'acme', 'vcs.repository.name': 'shop' });
  assert.deepEqual(podResourceAttributes({ env: {}, metadata: { app: 'x' } }, () => 'id'), { 'service.instance.id': 'id' });
});

test('podinfo files: Go-quoted values, annotations over labels, odd lines skipped, a missing directory is no facts', async () => {
  assert.deepEqual(parsePodinfoFile('a="1"\nb="with \\"quotes\\" and = sign"\nbroken\nc=unquoted\nd="\\xff"\n'), { a: '1', b: 'with "quotes" and = sign' });
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-podinfo-'));
  try {
    await writeFile(join(dir, 'labels'), 'job.runner.gitlab.com/pod="p"\nshared="label"\n');
    await writeFile(join(dir, 'annotations'), 'job.runner.gitlab.com/id="42"\nshared="annotation"\n');
    assert.deepEqual(await readPodinfo(dir), { 'job.runner.gitlab.com/pod': 'p', 'job.runner.gitlab.com/id': '42', shared: 'annotation' });
    assert.deepEqual(await readPodinfo(join(dir, 'absent')), {});
    assert.deepEqual(await readPodinfo(undefined), {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
