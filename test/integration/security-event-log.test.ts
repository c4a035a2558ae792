// The log of sessions through the real sidecar (issue 17's "Done when"): bad tokens, a denial, a
// hold approved and one denied, a target that refuses sidegate's login. Each is one line with its
// stable `event`, carrying the session's context (id, trace, identity, target), in the JSON format
// and in the human one; and no secret — the client's token, the rejected ones, the target's
// password — appears anywhere in what was logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startHarness, basePolicy, pgInfo, waitForPending, type Harness, type PgInfo } from '../support/sidegate-harness.js';
import { asSuperuser } from '../support/scratch-postgres-database.js';
import type { LogFormat } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';

const run = randomBytes(4).toString('hex');
const role = `sgl_${run}`;
/** The target's password: hex, so the harness's YAML takes it as it is. */
const targetPassword = `canarypw${randomBytes(12).toString('hex')}`;
let info: PgInfo;

before(async () => {
  info = await pgInfo();
  await asSuperuser(info, async (c) => {
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD ${pg.escapeLiteral(targetPassword)}`);
    await c.query(`GRANT SELECT, UPDATE ON orders TO ${role}`);
  });
});

after(async () => {
  await asSuperuser(info, async (c) => {
    await c.query(`DROP OWNED BY ${role}`);
    await c.query(`DROP ROLE IF EXISTS ${role}`);
  }).catch(() => undefined);
});

const rules = `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: no-ddl
    identities: [ci]
    when: { statements: [ddl] }
    action: deny
    message: schema changes go through migrations
  - name: orders-writes-need-approval
    identities: [ci]
    when: { statements: [update], tables: ["public.orders"] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }`;

function harness(format: LogFormat, password = targetPassword): Promise<Harness> {
  return startHarness({ policy: (env) => basePolicy(env, { rules }), targetLogin: { user: role, password }, logFormat: format });
}

function connect(h: Harness, password: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password });
  c.on('error', () => undefined);
  return c.connect().then(() => c);
}

/** The lines carrying `event`, read back: JSON as it is; the human format's fields are a JSON object after the message. */
function eventLines(logs: readonly string[], format: LogFormat): Record<string, unknown>[] {
  if (format === 'json') {
    return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => typeof l['event'] === 'string');
  }
  // `[12:34:56.789] WARN: login rejected {"event":"login.rejected",…}`
  return logs
    .filter((l) => l.includes('"event":'))
    .map((line) => ({ ...(JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>), level: /^\[[^\]]*\] (\w+):/.exec(line)?.[1]?.toLowerCase() }));
}

function assertNoSecret(logs: readonly string[], canaries: readonly string[]): void {
  const text = logs.join('\n');
  for (const canary of canaries) assert.ok(!text.includes(canary), `a secret appeared in the log (${canary.slice(0, 12)}…)`);
}

for (const format of ['json', 'pretty'] as const) {
  test(`${format}: bad tokens, a denial and two holds are each one event line with the session's context; no secret`, async () => {
    const h = await harness(format);
    const canaries = [targetPassword];
    try {
      // Refused logins: an expired token (with a claim worth hiding) and something not a token at all.
      const expired = await h.token({ note: `canaryclaim${run}` }, { expiresIn: -120 });
      const garbage = `canarygarbage${randomBytes(8).toString('hex')}`;
      canaries.push(expired, expired.split('.')[2]!, garbage, `canaryclaim${run}`);
      for (const bad of [expired, garbage]) await assert.rejects(connect(h, bad), (err: { code?: string }) => err.code === '28000' || err.code === '28P01');

      const token = await h.token();
      canaries.push(token, token.split('.')[1]!, token.split('.')[2]!);
      const c = await connect(h, token);
      try {
        assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 50);
        await assert.rejects(c.query('DROP TABLE orders'), (err: { code?: string }) => err.code === '42501');
        const approved = c.query('UPDATE orders SET total = total WHERE id = 7');
        const first = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval');
        assert.equal((await h.approvals.decide(first.id, 'approve', 'dba')).status, 200);
        await approved;
        const denied = c.query('UPDATE orders SET total = total WHERE id = 8');
        const second = await waitForPending(h, (a) => a.rule === 'orders-writes-need-approval' && a.id !== first.id);
        assert.equal((await h.approvals.decide(second.id, 'deny', 'dba')).status, 200);
        await assert.rejects(denied, (err: { code?: string }) => err.code === '42501');

        const lines = eventLines(h.logs, format);
        const of = (event: string) => lines.filter((l) => l['event'] === event);
        assert.equal(of(SecurityEvent.policyLoaded).length, 1);
        const rejected = of(SecurityEvent.loginRejected);
        assert.equal(rejected.length, 2, 'one line per refused login');
        for (const r of rejected) {
          assert.equal(r['target'], 'pg');
          assert.equal(r['level'], 'warn');
          assert.match(String(r['reason']), /\S/, 'with its reason');
          assert.match(String(r['traceId']), /^[0-9a-f]{32}$/, 'naming the refusal span');
        }
        assert.notEqual(rejected[0]!['session'], rejected[1]!['session']);

        const [denial] = of(SecurityEvent.commandDenied);
        assert.equal(denial?.['rule'], 'no-ddl');
        const held = of(SecurityEvent.commandHeld);
        assert.deepEqual(held.map((l) => l['approval']), [first.id, second.id]);
        const [yes] = of(SecurityEvent.approvalApproved);
        assert.equal(yes?.['approval'], first.id);
        assert.equal(yes?.['approver'], 'dba');
        const [no] = of(SecurityEvent.approvalDenied);
        assert.equal(no?.['approval'], second.id);
        assert.equal(no?.['verdict'], 'deny');

        // One session's lines, each with the session's context from its child logger.
        const sessionLines = [denial!, ...held, yes!, no!];
        const session = denial!['session'];
        assert.match(String(session), /^[0-9a-f-]{36}$/);
        for (const l of sessionLines) {
          assert.equal(l['session'], session);
          assert.equal(l['target'], 'pg');
          assert.equal(l['protocol'], 'postgres');
          assert.equal(l['issuer'], h.issuer.issuer);
          assert.equal(l['subject'], 'project_path:acme/api:ref_type:branch:ref:main');
          assert.equal(l['identities'], 'ci');
          assert.match(String(l['traceId']), /^[0-9a-f]{32}$/);
        }
        assert.equal(new Set(sessionLines.map((l) => l['traceId'])).size, 1, 'the session span\'s trace');
      } finally {
        await c.end();
      }
      if (format === 'json') for (const line of h.logs) assert.doesNotThrow(() => JSON.parse(line), `every line is JSON: ${line.slice(0, 80)}`);
      else assert.ok(h.logs.every((l) => !l.startsWith('{')), 'the human format is not JSON');
      assertNoSecret(h.logs, canaries);
    } finally {
      await h.close();
    }
  });

  test(`${format}: a target that refuses sidegate's login is an upstream.failed line; its password is not logged`, async () => {
    const wrong = `canarywrong${randomBytes(12).toString('hex')}`;
    const h = await harness(format, wrong);
    try {
      const token = await h.token();
      await assert.rejects(connect(h, token));
      const [failed] = eventLines(h.logs, format).filter((l) => l['event'] === SecurityEvent.upstreamFailed);
      assert.equal(failed?.['target'], 'pg');
      assert.equal(failed?.['level'], 'warn');
      assert.match(String(failed?.['error']), new RegExp(role));
      assert.match(String(failed?.['traceId']), /^[0-9a-f]{32}$/);
      assertNoSecret(h.logs, [wrong, targetPassword, token, token.split('.')[2]!]);
    } finally {
      await h.close();
    }
  });
}
