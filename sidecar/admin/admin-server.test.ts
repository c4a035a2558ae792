import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAdminServer } from './admin-server.js';
import { SidecarPrometheusMetrics } from './sidecar-prometheus-metrics.js';

test('/readyz follows readiness, /healthz is always ok, /metrics renders the registry', async () => {
  let ready = false;
  const metrics = new SidecarPrometheusMetrics();
  metrics.commandDecided('postgres', { action: 'deny', rule: 'no-ddl' });
  metrics.commandDecided('postgres', { action: 'deny', rule: 'no-ddl' });
  metrics.sessionOpened('postgres');
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => ready, metrics: metrics.registry });
  try {
    assert.equal((await fetch(admin.url + '/healthz')).status, 200);
    assert.equal((await fetch(admin.url + '/readyz')).status, 503);
    ready = true;
    assert.equal((await fetch(admin.url + '/readyz')).status, 200);
    const res = await fetch(admin.url + '/metrics');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# HELP sidegate_commands_total /m);
    assert.match(text, /^sidegate_commands_total\{protocol="postgres",decision="deny",rule="no-ddl"\} 2$/m);
    assert.match(text, /^sidegate_sessions_active\{protocol="postgres"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m, 'the process defaults are there');
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
    metrics: new SidecarPrometheusMetrics().registry,
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
