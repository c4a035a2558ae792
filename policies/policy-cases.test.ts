import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicyFile, parsePolicy } from './loader.js';
import { Policy } from './policy.js';
import { loadPolicyCasesFile, parsePolicyCases, runPolicyCases } from './policy-cases.js';
import { PolicyError } from './source-positions.js';
import type { CommandFacts, TableRef, TargetSpec } from '../core/vocabulary.js';

const EXAMPLES = fileURLToPath(new URL('../../policies/examples/', import.meta.url));

// A deliberately small stand-in for SQL inspection: the first keyword decides the kinds, a regex
// finds table names. It only has to understand the obvious statements the example cases use; the
// CLI integration tests run the same cases through the real PostgreSQL grammar.
const KINDS: Record<string, string[]> = {
  select: ['select', 'read'],
  insert: ['insert', 'write'],
  update: ['update', 'write'],
  delete: ['delete', 'write'],
  create: ['create', 'ddl', 'write'],
  alter: ['alter', 'ddl', 'write'],
  drop: ['drop', 'ddl', 'write'],
  truncate: ['truncate', 'ddl', 'write'],
  grant: ['grant', 'dcl', 'write'],
  revoke: ['revoke', 'dcl', 'write'],
  begin: ['transaction'],
  commit: ['transaction'],
  set: ['set', 'session'],
  do: ['do', 'procedural', 'write'],
};

function fakeInspect(target: TargetSpec, text: string): CommandFacts[] {
  // Split on `;` outside `$$ … $$` bodies.
  const statements: string[] = [];
  let current = '';
  let inBody = false;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('$$', i)) inBody = !inBody;
    if (text[i] === ';' && !inBody) {
      statements.push(current);
      current = '';
    } else current += text[i];
  }
  statements.push(current);
  const parts = statements.map((s) => s.trim()).filter((s) => s !== '');
  return parts.map((stmt) => {
    const keyword = stmt.split(/\s+/)[0]!.toLowerCase();
    const kinds = KINDS[keyword];
    const flags = [...(parts.length > 1 ? ['multi-statement'] : []), ...(kinds ? [] : ['unparsable']), ...(keyword === 'do' ? ['do-block'] : [])];
    const tables: TableRef[] = [];
    for (const m of stmt.matchAll(/\b(?:from|join|into|update|table|on)\s+([a-z_]\w*)(?:\.([a-z_]\w*))?/gi)) {
      tables.push(m[2] ? { schema: m[1]!, name: m[2] } : { name: m[1]! });
    }
    return {
      protocol: target.protocol,
      target: target.name,
      text: stmt,
      operation: kinds ? keyword.toUpperCase() : 'UNKNOWN',
      kinds: kinds ?? ['unparsable'],
      tables: kinds ? tables : [],
      flags,
    };
  });
}

/** Plain statements: a first keyword the stand-in knows, and no call, nesting or quoting. */
function fakeUnderstands(command: string): boolean {
  return !/[()"]|\/\*|^\s*(with|copy|explain)\b|\binto\s+(outfile|dumpfile)\b/i.test(command) && !/\bset\s+(role|names|client_encoding|password)\b/i.test(command);
}

test('every example policy loads and every case in its .cases.yaml passes', async () => {
  const policies = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.yaml') && !f.endsWith('.cases.yaml'));
  assert.deepEqual(policies.sort(), ['ci-mysql.yaml', 'ci-postgres.yaml', 'local-demo.yaml']);
  for (const file of policies) {
    const policy = new Policy(await loadPolicyFile(join(EXAMPLES, file)));
    const cases = await loadPolicyCasesFile(join(EXAMPLES, file.replace(/\.yaml$/, '.cases.yaml')));
    // The stand-in knows nothing of nesting or functions: it judges the plain cases only; the CLI
    // integration test runs every case through the real grammar.
    const results = runPolicyCases(policy, cases.filter((c) => fakeUnderstands(c.command)), fakeInspect);
    assert.ok(results.length >= 5, `${file} has real cases`);
    const failed = results.filter((r) => !r.pass).map((r) => `${file}: ${r.name}: ${r.message}`);
    assert.deepEqual(failed, []);
    // Every outcome the language has is exercised by the examples, not just "allow".
    const actions = new Set(results.map((r) => r.actual?.action));
    assert.ok(actions.has('allow') && actions.has('deny') && actions.has('approve'), `${file} covers allow, deny and approve`);
  }
});

test('the local demo policy is what local mode expects', async () => {
  const policy = new Policy(await loadPolicyFile(join(EXAMPLES, 'local-demo.yaml')));
  const demo = policy.target('demo')!;
  assert.deepEqual([demo.host, demo.port, demo.listen], ['127.0.0.1', 55433, { host: '127.0.0.1', port: 6432 }]);
  assert.deepEqual(policy.issuers().map((i) => [i.issuer, i.jwksFile]), [['https://sidegate.local', '.sidegate/local-jwks.json']]);
  const dev = { issuer: 'https://sidegate.local', subject: 'dev', claims: { iss: 'https://sidegate.local' }, identities: ['local-developer'] };
  const [write] = fakeInspect(demo, 'UPDATE orders SET total = 0');
  const held = policy.decide(dev, write!);
  assert.deepEqual([held.action, held.approvers, held.timeoutMs], ['approve', ['local-approver'], 120_000]);
  assert.deepEqual(
    policy.masking(dev, 'demo').map((m) => [m.name, m.strategy]),
    [['customer-emails', 'partial'], ['cards', 'redact'], ['secrets-anywhere', 'redact']],
  );
});

const policy = new Policy(
  parsePolicy(
    `version: 1
identities:
  - { name: ci, issuer: "https://ci.example", audience: sidegate, jwksUrl: "https://ci.example/jwks", claims: { project_path: "acme/*" } }
targets:
  - { name: db, protocol: postgres, address: "127.0.0.1:5432", credentials: { file: db } }
  - { name: web, protocol: http, address: "127.0.0.1:8080", credentials: { file: web } }
rules:
  - { name: ci-reads, identities: [ci], when: { statements: [read] }, action: allow }
`,
    'p.yaml',
  ),
);

test('the case runner reports a wrong action, a wrong rule, an unknown target and an inspector failure, each on its own', () => {
  const claims = { iss: 'https://ci.example', sub: 'x', project_path: 'acme/api' };
  const cases = parsePolicyCases(
    `cases:
  - { name: reads, claims: ${JSON.stringify(claims)}, target: db, command: SELECT 1, expect: allow, rule: ci-reads }
  - { name: wrong action, claims: ${JSON.stringify(claims)}, target: db, command: DELETE FROM orders, expect: allow }
  - { name: wrong rule, claims: ${JSON.stringify(claims)}, target: db, command: SELECT 1, expect: allow, rule: other }
  - { name: other project, claims: { iss: "https://ci.example", project_path: evil/x }, target: db, command: SELECT 1, expect: deny, rule: default }
  - { name: typo target, claims: ${JSON.stringify(claims)}, target: dbb, command: SELECT 1, expect: allow }
  - { name: no grammar, claims: ${JSON.stringify(claims)}, target: web, command: GET /, expect: allow }
`,
    'cases.yaml',
  );
  const inspect = (t: TargetSpec, text: string) => {
    if (t.protocol !== 'postgres') throw new Error(`no ${t.protocol} grammar`);
    return fakeInspect(t, text);
  };
  const results = runPolicyCases(policy, cases, inspect);
  assert.deepEqual(
    results.map((r) => [r.name, r.pass, r.message]),
    [
      ['reads', true, 'ok'],
      ['wrong action', false, 'expected allow, got deny by rule "default"'],
      ['wrong rule', false, 'expected allow by rule "other", got allow by rule "ci-reads"'],
      ['other project', true, 'ok'],
      ['typo target', false, 'unknown target "dbb"'],
      ['no grammar', false, 'cannot inspect the command: no http grammar'],
    ],
  );
  assert.equal(results[1]!.actual?.rule, 'default');
});

test('cases file errors carry file:line:column', () => {
  const issues = (text: string) => {
    try {
      parsePolicyCases(text, 'c.yaml');
    } catch (err) {
      assert.ok(err instanceof PolicyError);
      return err.message.split('\n');
    }
    assert.fail('expected a PolicyError');
  };
  assert.deepEqual(issues('cases:\n  - name: x\n    claims: { iss: "https://a" }\n    target: db\n    command: SELECT 1\n    expect: permit\n'), [
    'c.yaml:6:13: cases[0].expect: expected one of allow|deny|approve, got "permit"',
  ]);
  assert.deepEqual(issues('cases:\n  - { name: x, claims: { sub: y }, target: db, command: SELECT 1, expect: deny }\n'), ['c.yaml:2:24: cases[0].claims: claims need an iss']);
  const extraKey = '  - { name: x, claims: { iss: a }, target: db, command: SELECT 1, expect: deny, expected: allow }';
  assert.deepEqual(issues(`cases:\n${extraKey}\n`), [`c.yaml:2:${extraKey.indexOf('expected:') + 1}: cases[0].expected: unknown key "expected"`]);
  assert.match(issues('cases: [\n')[0]!, /^c\.yaml:\d+:\d+: /);
});
