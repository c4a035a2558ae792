import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ciContextOf } from './ci-context.js';

test('a GitHub Actions token: repository, workflow, run URL on github.com, commit and actor', () => {
  const ci = ciContextOf('https://token.actions.githubusercontent.com', {
    sub: 'repo:acme/shop:ref:refs/heads/main',
    repository: 'acme/shop',
    ref: 'refs/heads/main',
    sha: '0f1e2d3c',
    workflow: 'deploy',
    workflow_ref: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    run_id: '991',
    run_attempt: '2',
    actor: 'octocat',
    environment: 'production',
  });
  assert.deepEqual(ci, {
    system: 'github',
    repository: 'acme/shop',
    ref: 'refs/heads/main',
    workflow: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    job: 'acme/shop/.github/workflows/deploy.yml@refs/heads/main',
    runId: '991',
    runUrl: 'https://github.com/acme/shop/actions/runs/991/attempts/2',
    commit: '0f1e2d3c',
    actor: 'octocat',
    environment: 'production',
  });
});

test('GitHub Enterprise Server links to its own host; an unknown issuer gets no link it could forge', () => {
  const claims = { repository: 'acme/shop', run_id: 7, actor: 'mona' };
  assert.equal(ciContextOf('https://ghe.example.com/_services/token', claims)?.runUrl, 'https://ghe.example.com/acme/shop/actions/runs/7');
  const other = ciContextOf('https://issuer.example.com', claims);
  assert.equal(other?.runUrl, undefined);
  assert.equal(other?.actor, 'mona', 'the actor still never approves');
});

test('a GitLab id_token: project, pipeline, job link on the instance, user_login as the actor', () => {
  const ci = ciContextOf('https://gitlab.example.com', {
    project_path: 'acme/shop',
    pipeline_id: '4711',
    job_id: '90210',
    ref: 'main',
    sha: 'abc123',
    user_login: 'jdoe',
  });
  assert.deepEqual(ci, {
    system: 'gitlab',
    repository: 'acme/shop',
    ref: 'main',
    pipeline: '4711',
    job: '90210',
    runId: '4711',
    runUrl: 'https://gitlab.example.com/acme/shop/-/jobs/90210',
    commit: 'abc123',
    actor: 'jdoe',
  });
});

test('a ServiceAccount token names its pod; a token of no CI system gives nothing', () => {
  assert.deepEqual(ciContextOf('https://kubernetes.default.svc.cluster.local', { 'kubernetes.io': { namespace: 'ci', pod: { name: 'job-1' } } }), { system: 'kubernetes', job: 'ci/job-1' });
  assert.equal(ciContextOf('https://issuer.example.com', { sub: 'x' }), undefined);
  // Claims of the wrong type are not CI fields.
  assert.equal(ciContextOf('https://token.actions.githubusercontent.com', { repository: 'a/b', run_id: '1', actor: { name: 'x' } })?.actor, undefined);
});
