import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lazyApprovalStore } from './lazy-approval-store.js';
import { openApprovalStore } from './open-approval-store.js';
import type { ApprovalStore } from './approval-store.js';

const request = {
  requester: { subject: 's', issuer: 'https://i', identities: ['ci'] },
  target: 'db',
  protocol: 'postgres',
  command: 'DELETE FROM t',
  hash: `sha256:${'a'.repeat(64)}`,
  rule: 'r',
  approvers: [],
  sessionId: 's1',
  timeoutMs: 60_000,
};

test('the store opens on first use, once, and a closed one opens no more', async () => {
  let opens = 0;
  const opened: ApprovalStore[] = [];
  const lazy = lazyApprovalStore(async () => {
    opens++;
    const s = await openApprovalStore({ kind: 'memory' });
    opened.push(s);
    return s;
  });
  assert.equal(opens, 0, 'nothing opened at construction');
  assert.equal(lazy.waiterCount, 0);
  const [a, b] = await Promise.all([lazy.create(request), lazy.create(request)]);
  assert.equal(opens, 1, 'concurrent first calls share one opening');
  assert.equal((await lazy.list({ status: 'pending' })).length, 2);
  assert.equal((await lazy.get(a.id)).id, a.id);
  assert.notEqual(a.id, b.id);
  await lazy.close();
  await assert.rejects(lazy.get(a.id), /closed/);
  assert.equal(opens, 1);
});

test('closing a store that was never used opens nothing', async () => {
  let opens = 0;
  const lazy = lazyApprovalStore(async () => {
    opens++;
    return openApprovalStore({ kind: 'memory' });
  });
  await lazy.close();
  assert.equal(opens, 0);
});

test('a listener subscribed before the store opens hears its changes; unsubscribed, it hears no more', async () => {
  const lazy = lazyApprovalStore(() => openApprovalStore({ kind: 'memory' }));
  const heard: string[] = [];
  const stop = lazy.onSettled((record) => heard.push(record.status));
  lazy.onSettled(() => {
    throw new Error('a broken listener does not stop the others');
  });
  try {
    const a = await lazy.create(request);
    await lazy.cancel(a.id);
    stop();
    await lazy.cancel((await lazy.create(request)).id);
    assert.deepEqual(heard, ['cancelled']);
  } finally {
    await lazy.close();
  }
});
