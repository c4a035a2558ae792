// docs/OPERATIONS.md's commands, run as written. Each ```sh block is marked either `test: KIND`
// (run here: helm against the chart, the `sidegate` CLI, jq over a real sidecar's log) or
// `needs: …` (a cluster, a registry, Docker: the mark says what covers it instead). The
// `file:` blocks are written into the working directory first, as an operator would save them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../chart/helm-binary.js';
import { repositoryRoot } from '../chart/repository-root.js';
import { validateAgainstKubernetesSchema } from '../chart/kubernetes-schema-validation.js';
import type { KubernetesObject } from '../chart/rendered-chart.js';
import { startHarness, basePolicy, psql, run, waitForPending, type Harness } from '../support/sidegate-harness.js';

interface Block {
  mark: 'test' | 'needs' | 'file';
  /** The kind of test, what it needs, or the file name. */
  what: string;
  body: string;
}

/** Every fenced block with the mark on the line before it; unmarked ones have mark undefined. */
function blocks(doc: string): (Omit<Block, 'mark'> & { mark: Block['mark'] | undefined; lang: string })[] {
  const found = [];
  const fence = /(?:<!-- (test|needs|file): ([^\n]*?) -->\n)?```([a-z]*)\n([\s\S]*?)\n```/g;
  for (const m of doc.matchAll(fence)) found.push({ mark: m[1] as Block['mark'] | undefined, what: m[2] ?? '', lang: m[3]!, body: m[4]! });
  return found;
}

let doc: string;
let dir: string;
let env: Record<string, string>;
const canaryToken = `canary-token-${Date.now().toString(36)}`;

before(async () => {
  doc = await readFile(join(repositoryRoot, 'docs', 'OPERATIONS.md'), 'utf8');
  dir = await mkdtemp(join(tmpdir(), 'sidegate-ops-guide-'));
  await symlink(join(repositoryRoot, 'charts'), join(dir, 'charts'));
  for (const b of blocks(doc)) if (b.mark === 'file') await writeFile(join(dir, b.what), b.body + '\n');
  // The commands as an operator has them: `helm` and `sidegate` on PATH.
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await symlink(helmBinary(), join(bin, 'helm'));
  await writeFile(join(bin, 'sidegate'), `#!/bin/sh\nexec ${process.execPath} ${join(repositoryRoot, 'dist', 'cli', 'main.js')} "$@"\n`);
  await chmod(join(bin, 'sidegate'), 0o755);
  const helmHome = join(dir, '.helm');
  env = {
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    HOME: dir,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runBlock(body: string) {
  return run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', `cd ${JSON.stringify(dir)}\n${body}`], env, undefined, 120_000);
}

function commandBlocks(kind: string): string[] {
  return blocks(doc).filter((b) => b.mark === 'test' && b.what === kind).map((b) => b.body);
}

function renderedObjects(yamlText: string): KubernetesObject[] {
  return parseAllDocuments(yamlText).map((d) => d.toJS() as KubernetesObject).filter((o) => o !== null && o !== undefined);
}

test('every command block says whether it runs here or what it needs instead', () => {
  const shell = blocks(doc).filter((b) => b.lang === 'sh');
  assert.ok(shell.length >= 10, 'the guide has its commands');
  for (const b of shell) {
    assert.ok(b.mark === 'test' || b.mark === 'needs', `unmarked command block:\n${b.body}`);
    if (b.mark === 'test') assert.ok(['helm', 'sidegate', 'logs', 'audit'].includes(b.what), `no runner for "test: ${b.what}"`);
    else assert.ok(b.what.length > 10, `"needs:" says what covers it: ${b.body}`);
  }
  for (const name of ['values-prod.yaml', 'policy.yaml']) assert.ok(blocks(doc).some((b) => b.mark === 'file' && b.what === name), name);
});

test("the policy passes the sidecar's own start-up checks", async () => {
  for (const body of commandBlocks('sidegate')) {
    const r = await runBlock(body);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /policy\.yaml: ok \(1 targets, 1 identities, 2 rules, 1 masking rules\)/);
  }
});

test('helm lints and renders the values; every rendered object validates against the Kubernetes schemas', async () => {
  const helm = commandBlocks('helm');
  assert.ok(helm.length >= 3);
  for (const body of helm) {
    const r = await runBlock(body);
    assert.equal(r.code, 0, `${body}\n${r.stdout}${r.stderr}`);
  }
  const rendered = renderedObjects(await readFile(join(dir, 'rendered.yaml'), 'utf8'));
  for (const object of rendered) validateAgainstKubernetesSchema(object);
  const kinds = new Set(rendered.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const expected of ['MutatingWebhookConfiguration/sidegate', 'ValidatingWebhookConfiguration/sidegate', 'Deployment/sidegate-exchange']) {
    assert.ok([...kinds].some((k) => k.startsWith(expected)), `${expected} rendered (have ${[...kinds].join(', ')})`);
  }
  // The values reach the sidecars: the collector, refused escapes, and no credentials Secret.
  const injection = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-injection')) as { data: Record<string, string> } | undefined;
  assert.ok(injection);
  assert.match(injection.data['injection.yaml']!, /otlpEndpoint: http:\/\/otel-collector\.observability\.svc:4318/);
  assert.match(injection.data['injection.yaml']!, /escapePolicy: refuse/);
  assert.doesNotMatch(injection.data['injection.yaml']!, /credentialsSecret/);
  const policy = rendered.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sidegate-policy').map((o) => o.metadata.namespace).sort();
  assert.deepEqual(policy, ['ci', 'deploys', 'sidegate-system']);

  const certManager = renderedObjects(await readFile(join(dir, 'rendered-cert-manager.yaml'), 'utf8'));
  assert.ok(certManager.some((o) => o.kind === 'Certificate'), 'cert-manager issues the serving certificate');
  const monitoring = renderedObjects(await readFile(join(dir, 'rendered-monitoring.yaml'), 'utf8'));
  assert.ok(monitoring.some((o) => o.kind === 'ServiceMonitor'), 'ServiceMonitors rendered');
});

test("the log filters select each event from a real sidecar's log, which holds no token", async () => {
  let h: Harness | undefined;
  try {
    h = await startHarness({
      policy: (e) =>
        basePolicy(e, {
          rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: deletes-need-approval
    identities: [ci]
    when: { statements: [delete] }
    action: approve`,
        }),
    });
    const token = await h.token({ canary: canaryToken });
    const denied = await psql(h, token, 'DROP TABLE customers;\n');
    assert.match(denied.stderr, /42501/);
    const held = psql(h, token, 'DELETE FROM orders WHERE id = -1;\n');
    const pending = await waitForPending(h, (a) => a.command.includes('DELETE FROM orders'));
    assert.equal((await h.approvals.decide(pending.id, 'deny', 'dba')).status, 200);
    assert.match((await held).stderr, /denied/);
    const rejected = await psql(h, 'not-a-token', 'SELECT 1;\n');
    assert.notEqual(rejected.code, 0);
    await writeFile(join(dir, 'sidegate.log'), h.logs.join('\n') + '\n');
    assert.ok(!h.logs.some((line) => line.includes(token) || line.includes(canaryToken)), 'no token in the log');

    const [filters] = commandBlocks('logs');
    assert.ok(filters);
    const r = await runBlock(filters);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.some((l) => /"rule":"default"/.test(l) && /"operation":"DROP TABLE"/.test(l)), `a denial:\n${r.stdout}`);
    assert.ok(lines.some((l) => l.includes(`"approval":"${pending.id}"`)), `the hold with its approval id:\n${r.stdout}`);
    assert.ok(lines.some((l) => /"reason":"not-a-token"/.test(l)), `the rejected token's reason:\n${r.stdout}`);
    assert.ok(lines.some((l) => /^\s*\d+ \S+$/.test(l)), `lines per session:\n${r.stdout}`);
  } finally {
    await h?.close();
  }
});

test("`sidegate audit verify` accepts a sidecar's trail and names a tampered record", async () => {
  let h: Harness | undefined;
  try {
    // No collector: the trail is the OTLP/JSON file in the state directory.
    h = await startHarness({ policy: (e) => basePolicy(e), env: { OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
    const r = await psql(h, await h.token(), 'SELECT 1;\nSELECT 2;\n');
    assert.equal(r.code, 0, r.stderr);
    // The session's span ends as the sidecar sees psql go: wait until the file holds it.
    const file = join(h.dir, 'state', 'audit.otlp.jsonl');
    let trail = '';
    for (let waited = 0; waited < 10_000 && !trail.includes('session pg'); waited += 100) {
      await h.sidecar.audit.flush();
      trail = await readFile(file, 'utf8').catch(() => '');
      if (!trail.includes('session pg')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(trail, /session pg/);
    await writeFile(join(dir, 'audit.otlp.jsonl'), trail);
  } finally {
    await h?.close();
  }
  const [verify] = commandBlocks('audit');
  assert.ok(verify);
  const good = await runBlock(verify);
  assert.equal(good.code, 0, good.stderr);
  // The same command fails once a statement in the file is changed.
  const trail = await readFile(join(dir, 'audit.otlp.jsonl'), 'utf8');
  const tampered = trail.replace('SELECT ?', 'SELECT ?, ?');
  assert.notEqual(tampered, trail);
  await writeFile(join(dir, 'audit.otlp.jsonl'), tampered);
  const bad = await runBlock(verify);
  assert.notEqual(bad.code, 0);
});
