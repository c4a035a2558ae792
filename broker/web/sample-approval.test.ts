// A held request as the page's tests use it (no tests here: shared by the tests beside it).
import type { ShownApproval } from './web-deps.js';

export const HOSTILE = `<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'"&`;

export function sampleApproval(over: Partial<ShownApproval> = {}): ShownApproval {
  const now = Date.now();
  return {
    id: 'apr-abc234',
    status: 'pending',
    requester: { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/api:ref:refs/heads/main', identities: ['ci-runner'] },
    target: 'orders-db',
    protocol: 'postgres',
    command: 'DELETE FROM orders WHERE id = $1 AND note = $2',
    parameters: [
      { position: 1, format: 'text', typeOid: 23, value: '42', bytes: 2 },
      { position: 2, format: 'binary', typeOid: 0, value: 'deadbeef', hex: true, bytes: 300, truncated: true },
      { position: 3, format: 'text', typeOid: 25, value: null, bytes: 0 },
    ],
    hash: `sha256:${'ab'.repeat(32)}`,
    rule: 'deletes-need-approval',
    approvers: ['dba-lead'],
    sessionId: 'sess-1',
    createdAt: new Date(now - 185_000).toISOString(),
    expiresAt: new Date(now + 600_000).toISOString(),
    ci: { system: 'github', repository: 'acme/api', workflow: 'deploy', job: 'migrate', runId: '991', runUrl: 'https://github.com/acme/api/actions/runs/991', commit: 'c0ffee', actor: 'carol' },
    groups: ['dba'],
    threshold: 2,
    votes: [],
    ...over,
  };
}
