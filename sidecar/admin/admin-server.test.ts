import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAdminServer } from './admin-server.js';
import { Metrics } from './metrics.js';

test('/readyz follows readiness, /healthz is always ok, /metrics renders counters and gauges', async () => {
  let ready = false;
  const metrics = new Metrics();
  metrics.inc('sidegate_commands_total', { decision: 'deny' });
  metrics.inc('sidegate_commands_total', { decision: 'deny' });
  metrics.gauge('sidegate_sessions_open', () => 3);
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => ready, metrics });
  try {
    assert.equal((await fetch(admin.url + '/healthz')).status, 200);
    assert.equal((await fetch(admin.url + '/readyz')).status, 503);
    ready = true;
    assert.equal((await fetch(admin.url + '/readyz')).status, 200);
    const text = await (await fetch(admin.url + '/metrics')).text();
    assert.match(text, /sidegate_commands_total\{decision="deny"\} 2/);
    assert.match(text, /sidegate_sessions_open 3/);
    assert.equal((await fetch(admin.url + '/nope')).status, 404);
    assert.equal((await fetch(admin.url + '/healthz', { method: 'POST' })).status, 405);
  } finally {
    await admin.close();
  }
});

test('POST /drain runs the drain from localhost and answers when it is done', async () => {
  let drained = 0;
  const admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    metrics: new Metrics(),
    drain: async () => {
      await new Promise((r) => setTimeout(r, 50));
      drained++;
    },
  });
  try {
    const res = await fetch(admin.url + '/drain', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(drained, 1);
    assert.equal((await fetch(admin.url + '/drain')).status, 404, 'GET does not drain');
    assert.equal(drained, 1);
  } finally {
    await admin.close();
  }
});
