// sysbench through sidegate, as the benchmark runs it (docs/BENCHMARKS.md, "MySQL"): oltp_point_select
// with server-side prepared statements for a few seconds, once as the pod (empty password, no TLS
// on the client leg) and once presenting the CI token over TLS. Each run must end with no errors,
// and the audit trail must hold one span per statement sysbench counted: every transaction really
// went through the pipeline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, basePolicy, run, type Harness, type RunResult } from '../support/sidegate-harness.js';
import { IT_DATABASE, createItDatabase, itTarget, rootSql } from '../support/mariadb-side-by-side.js';

let h: Harness;
let dir: string;
const POD_SUBJECT = 'system:serviceaccount:ci:sysbench-runner';
const TABLE_ROWS = 1000;
const THREADS = 4;

before(async () => {
  h = await startHarness({
    policy: (env) => basePolicy(env).replace('targets:\n', `targets:\n${itTarget(env.maria)}`),
    podToken: { sub: POD_SUBJECT, project_path: 'acme/pod' },
    clientTls: true,
  });
  await createItDatabase(h.maria);
  // The table, prepared as root over the socket (as the benchmark does): sidegate is only in the run.
  const asRoot = ['--db-driver=mysql', `--mysql-socket=${h.maria.socket}`, '--mysql-user=root', `--mysql-db=${IT_DATABASE}`, '--tables=1', `--table-size=${TABLE_ROWS}`];
  if ((await rootSql(h.maria, `SELECT COUNT(*) FROM ${IT_DATABASE}.sbtest1`).catch(() => '')) !== String(TABLE_ROWS)) {
    await run('sysbench', ['oltp_common', ...asRoot, 'cleanup'], {});
    const prepared = await run('sysbench', ['oltp_common', ...asRoot, 'prepare'], {});
    assert.equal(prepared.code, 0, prepared.stderr);
  }
  // sysbench 1.0.20 with --mysql-ssl=on reads cacert.pem, client-cert.pem and client-key.pem from
  // its working directory and refuses TLS without all three; sidegate asks for no client certificate.
  dir = await mkdtemp(join(tmpdir(), 'sidegate-sysbench-'));
  await copyFile(h.pg.caFile, join(dir, 'cacert.pem'));
  const cert = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sysbench', '-days', '1', '-keyout', join(dir, 'client-key.pem'), '-out', join(dir, 'client-cert.pem')], {});
  assert.equal(cert.code, 0, cert.stderr);
});

after(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SysbenchRun {
  transactions: number;
  reads: number;
  errors: number;
  reconnects: number;
  output: string;
}

async function sysbench(password: string, ssl: boolean): Promise<SysbenchRun> {
  const r = await new Promise<RunResult>((resolve) => {
    // In its own working directory: sysbench reads its TLS files from there.
    const child = spawn(
      'sysbench',
      [
        'oltp_point_select', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${h.myPort}`, '--mysql-user=ci', `--mysql-password=${password}`,
        `--mysql-ssl=${ssl ? 'on' : 'off'}`, `--mysql-db=${IT_DATABASE}`, '--tables=1', `--table-size=${TABLE_ROWS}`, `--threads=${THREADS}`, '--time=3', 'run',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  const output = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.code, 0, output);
  const num = (re: RegExp) => {
    const m = re.exec(r.stdout);
    assert.ok(m, `${re} in sysbench's output:\n${output}`);
    return Number(m[1]);
  };
  return {
    transactions: num(/transactions:\s+(\d+)/),
    reads: num(/read:\s+(\d+)/),
    errors: num(/ignored errors:\s+(\d+)/),
    reconnects: num(/reconnects:\s+(\d+)/),
    output,
  };
}

/** Point-select spans of the sessions of `subject`, once the count stops moving. */
async function pointSelectSpans(subject: string): Promise<number> {
  await h.sidecar.audit.flush();
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const spans = h.receiver.spans();
    const sessions = new Set(spans.filter((s) => !s.parentSpanId && s.attributes['sidegate.identity.subject'] === subject).map((s) => s.spanId));
    const n = spans.filter((s) => sessions.has(s.parentSpanId ?? '') && s.attributes['db.collection.name'] === 'sbtest1' && s.attributes['db.operation.name'] === 'SELECT').length;
    if (n === last && sessions.size >= THREADS) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 250));
    await h.sidecar.audit.flush();
  }
  return last;
}

test('sysbench oltp_point_select as the pod (empty password, no TLS): no errors, every statement audited', async (t) => {
  const r = await sysbench('', false);
  t.diagnostic(`${r.transactions} transactions, ${r.errors} errors`);
  assert.ok(r.transactions > 100, r.output);
  assert.equal(r.errors, 0, r.output);
  assert.equal(r.reconnects, 0, r.output);
  // One point select per transaction.
  assert.equal(r.reads, r.transactions);
  const spans = await pointSelectSpans(POD_SUBJECT);
  assert.equal(spans, r.reads, 'one audit span per statement sysbench counted');
  const sample = h.receiver.spans().find((s) => s.attributes['db.collection.name'] === 'sbtest1');
  assert.equal(sample?.attributes['db.query.text'], 'SELECT c FROM sbtest1 WHERE id=?');
  assert.equal(sample?.attributes['sidegate.decision'], 'allow');
});

test('sysbench oltp_point_select presenting the CI token over TLS: no errors, every statement audited as the token', async (t) => {
  const token = await h.token({ sub: 'project_path:acme/bench:ref_type:branch:ref:main', project_path: 'acme/bench' });
  const r = await sysbench(token, true);
  t.diagnostic(`${r.transactions} transactions, ${r.errors} errors`);
  assert.ok(r.transactions > 100, r.output);
  assert.equal(r.errors, 0, r.output);
  assert.equal(r.reads, r.transactions);
  assert.equal(await pointSelectSpans('project_path:acme/bench:ref_type:branch:ref:main'), r.reads);
  assert.ok(!r.output.includes(token));
});
