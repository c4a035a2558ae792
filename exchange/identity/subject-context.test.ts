import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subjectContext } from './subject-context.js';

test('only the named CI claims, scalars only, control characters replaced', () => {
  const context = subjectContext({
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'repo:acme/app:ref:refs/heads/main',
    claims: { repository: 'acme/app', run_id: 4242, actor: 'octo\ncat', ref: ['x'], secret_claim: 's3cr3t', 'kubernetes.io': { namespace: 'ci', pod: { name: 'runner-1' } } },
  });
  assert.deepEqual(context, {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'repo:acme/app:ref:refs/heads/main',
    claims: { repository: 'acme/app', run_id: '4242', actor: 'octo?cat', 'kubernetes.io.namespace': 'ci', 'kubernetes.io.pod.name': 'runner-1' },
    ci: { system: 'github', repository: 'acme/app', runId: '4242', runUrl: 'https://github.com/acme/app/actions/runs/4242', actor: 'octo\ncat' },
  });
});
