// /metrics of a real sidecar in front of the test PostgreSQL after a session with an allowed and
// masked read, a denial, a hold an approver denied and two bad tokens: Prometheus' own promtool
// accepts the exposition, every sidegate series has HELP, and each series carries the counts the
// session produced — with no identity or statement text anywhere in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startHarness, basePolicy, psql, waitForPending, type Harness } from '../support/sidegate-harness.js';
import { helpedNames, parseSamples, promtoolCheck, sampleValue, type Sample } from '../support/prometheus-text.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    admin: true,
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: no-ddl
    identities: [ci]
    when: { statements: [ddl] }
    action: deny
  - name: orders-writes-need-approval
    identities: [ci]
    when: { statements: [update], tables: ["public.orders"] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }`,
        masking: `  - name: emails-partial
    identities: [ci]
    columns: ["customers.email"]
    strategy: partial`,
      }),
  });
});

after(async () => {
  await h?.close();
});

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${h.sidecar.admin!.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseSamples(text) };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('after allow, masking, deny, a denied hold and bad tokens, /metrics parses and counts each', async () => {
  const token = await h.token({ sub: 'canary-subject-4711' });
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: token });
  await c.connect();
  try {
    const emails = await c.query('SELECT email FROM customers ORDER BY id');
    assert.equal(emails.rowCount, 3);
    await assert.rejects(c.query('DROP TABLE orders'), /no-ddl/);
    const held = c.query('UPDATE orders SET total = total + 1 WHERE id = 7');
    const approval = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval');
    const during = await scrape();
    assert.equal(sampleValue(during.samples, 'sidegate_holds_waiting', { protocol: 'postgres' }), 1, 'the hold is waiting');
    assert.equal((await h.approvals.decide(approval.id, 'deny', 'dba')).status, 200);
    await assert.rejects(held, /denied/);
  } finally {
    await c.end();
  }
  const notAToken = await psql(h, 'not-a-token', 'SELECT 1;\n');
  assert.notEqual(notAToken.code, 0);
  const expired = await psql(h, await h.token({ exp: Math.floor(Date.now() / 1000) - 3600 }), 'SELECT 1;\n');
  assert.notEqual(expired.code, 0);

  // Sessions are counted when their connection closes.
  await until(async () => sampleValue((await scrape()).samples, 'sidegate_sessions_total', { protocol: 'postgres', outcome: 'served' }) === 1, 'the served session to close');
  const { text, samples } = await scrape();

  const check = promtoolCheck(text);
  // prom-client's own nodejs_active_*_total gauges trip promtool's naming lint; nothing else may.
  const problems = check.problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total /.test(p));
  assert.deepEqual(problems, [], `promtool check metrics:\n${check.problems.join('\n')}`);
  assert.ok(!check.problems.some((p) => /pars/i.test(p)), 'promtool parsed the exposition');

  const sidegateSeries = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')).filter((n) => n.startsWith('sidegate_')));
  const helped = helpedNames(text);
  for (const name of sidegateSeries) assert.ok(helped.has(name), `${name} has HELP`);

  const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
  assert.equal(v('sidegate_commands_total', { protocol: 'postgres', decision: 'allow', rule: 'ci-reads' }), 1);
  assert.equal(v('sidegate_commands_total', { protocol: 'postgres', decision: 'deny', rule: 'no-ddl' }), 1);
  assert.equal(v('sidegate_commands_total', { protocol: 'postgres', decision: 'approve', rule: 'orders-writes-need-approval' }), 1);
  assert.equal(v('sidegate_holds_total', { protocol: 'postgres', outcome: 'denied' }), 1);
  assert.equal(v('sidegate_holds_waiting', { protocol: 'postgres' }), 0);
  assert.equal(v('sidegate_hold_duration_seconds_count', { protocol: 'postgres' }), 1);
  assert.equal(v('sidegate_login_failures_total', { protocol: 'postgres', reason: 'not-a-token' }), 1);
  assert.equal(v('sidegate_login_failures_total', { protocol: 'postgres', reason: 'expired' }), 1);
  assert.equal(v('sidegate_sessions_total', { protocol: 'postgres', outcome: 'login-rejected' }), 2);
  assert.equal(v('sidegate_sessions_total', { protocol: 'postgres', outcome: 'served' }), 1);
  assert.equal(v('sidegate_sessions_active', { protocol: 'postgres' }), 0);
  assert.equal(v('sidegate_masked_values_total', { protocol: 'postgres' }), 3, 'one masked e-mail per row');
  // The SELECT ran on the target; the denied DROP and the held UPDATE never did.
  assert.equal(v('sidegate_forward_duration_seconds_count', { protocol: 'postgres' }), 1);
  assert.ok((v('sidegate_forward_duration_seconds_sum', { protocol: 'postgres' }) ?? 0) > 0);
  assert.equal(v('sidegate_inspection_duration_seconds_count', { protocol: 'postgres' }), 3);
  assert.equal(v('sidegate_upstream_failures_total', { protocol: 'postgres' }), undefined, 'no upstream failure, no series');
  assert.equal(v('sidegate_audit_healthy'), 1);
  assert.equal(v('sidegate_audit_export_failures_total'), 0);
  for (const name of ['sidegate_audit_spool_bytes', 'sidegate_audit_spool_records', 'sidegate_audit_export_lag_seconds']) {
    const value = v(name);
    assert.ok(value !== undefined && value >= 0, `${name} = ${value}`);
  }
  assert.ok((v('process_cpu_user_seconds_total') ?? 0) > 0, 'process defaults');
  assert.ok(v('nodejs_eventloop_lag_seconds') !== undefined, 'runtime defaults');

  // Bounded labels: no identity, token or statement text becomes a label value.
  assert.doesNotMatch(text, /canary-subject-4711|acme\/api|orders SET|DROP TABLE|customers/);
});
