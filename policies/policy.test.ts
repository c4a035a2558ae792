import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from './loader.js';
import { Policy } from './policy.js';
import type { CommandFacts, Principal } from '../core/vocabulary.js';

const base = `version: 1
identities:
  - name: ci
    issuer: https://ci.example
    audiences: [sidegate]
    jwksUrl: https://ci.example/jwks
    claims: { project_path: "acme/*" }
  - name: main-branch
    issuer: https://ci.example
    audiences: [sidegate]
    jwksUrl: https://ci.example/jwks
    claims: { project_path: "acme/*", ref: [main, "release-*"] }
targets:
  - name: db
    protocol: postgres
    address: 127.0.0.1:5432
    credentials: { file: db }
  - name: prod-db
    protocol: postgres
    address: "[::1]:5433"
    credentials: { exchange: { scope: prod_reader } }
`;

const policy = (rules: string, extra = '') => new Policy(parsePolicy(`${base}rules:\n${rules}\n${extra}`, 'p.yaml'));

function principal(p: Policy, claims: Record<string, unknown>): Principal {
  const all = { iss: 'https://ci.example', sub: 'x', ...claims };
  return { issuer: 'https://ci.example', subject: 'x', claims: all, identities: p.matchIdentities(all) };
}

const facts = (over: Partial<CommandFacts>): CommandFacts => ({
  protocol: 'postgres', target: 'db', text: 'SELECT 1', operation: 'SELECT', kinds: ['select', 'read'], tables: [], flags: [], ...over,
});

test('identities match issuer and claim globs (lists: any of)', () => {
  const p = policy('  - { name: r, action: allow }');
  assert.deepEqual(principal(p, { project_path: 'acme/api' }).identities, ['ci']);
  assert.deepEqual(principal(p, { project_path: 'acme/api', ref: 'release-2' }).identities, ['ci', 'main-branch']);
  assert.deepEqual(principal(p, { project_path: 'evil/api', ref: 'main' }).identities, []);
  assert.deepEqual(p.matchIdentities({ iss: 'https://other', project_path: 'acme/api' }), []);
});

test('deny wins over allow whatever the order, and names the deny rule', () => {
  for (const rules of [
    '  - { name: allow-all, identities: [ci], action: allow }\n  - { name: no-ddl, when: { statements: [ddl] }, action: deny }',
    '  - { name: no-ddl, when: { statements: [ddl] }, action: deny }\n  - { name: allow-all, identities: [ci], action: allow }',
  ]) {
    const p = policy(rules);
    const who = principal(p, { project_path: 'acme/api' });
    const d = p.decide(who, facts({ operation: 'DROP TABLE', kinds: ['drop', 'ddl', 'write'] }));
    assert.equal(d.action, 'deny');
    assert.equal(d.rule, 'no-ddl');
    assert.equal(p.decide(who, facts({})).action, 'allow');
  }
});

test('approve wins over allow; deny wins over approve; approvals carry approvers and timeout', () => {
  const p = policy(
    [
      '  - { name: allow-all, action: allow }',
      '  - { name: writes-held, when: { statements: [write] }, action: approve, approval: { approvers: [dba], timeout: 90s } }',
      '  - { name: no-drop, when: { statements: [drop] }, action: deny }',
    ].join('\n'),
  );
  const who = principal(p, { project_path: 'acme/api' });
  const held = p.decide(who, facts({ operation: 'UPDATE', kinds: ['update', 'write'] }));
  assert.equal(held.action, 'approve');
  assert.deepEqual(held.approvers, ['dba']);
  assert.equal(held.timeoutMs, 90_000);
  assert.equal(p.decide(who, facts({ operation: 'DROP TABLE', kinds: ['drop', 'ddl', 'write'] })).rule, 'no-drop');
});

test('approval groups and threshold reach the decision; left out they are none and one', () => {
  const p = policy(
    [
      '  - { name: deletes-held, when: { statements: [delete] }, action: approve, approval: { approvers: [alice], groups: [dba, sre], threshold: 2 } }',
      '  - { name: writes-held, when: { statements: [write] }, action: approve, approval: { approvers: [dba] } }',
    ].join('\n'),
  );
  const who = principal(p, {});
  const del = p.decide(who, facts({ operation: 'DELETE', kinds: ['delete', 'write'] }));
  assert.deepEqual([del.rule, del.approvers, del.approverGroups, del.approvalThreshold], ['deletes-held', ['alice'], ['dba', 'sre'], 2]);
  const upd = p.decide(who, facts({ operation: 'UPDATE', kinds: ['update', 'write'] }));
  assert.deepEqual([upd.rule, upd.approverGroups, upd.approvalThreshold], ['writes-held', [], 1]);
  assert.throws(() => policy('  - { name: r, action: approve, approval: { threshold: 0 } }'), /threshold/);
  assert.throws(() => policy('  - { name: r, action: approve, approval: { groups: dba } }'), /groups/);
});

test('no matching rule: the default (deny unless changed), rule "default"', () => {
  const p = policy('  - { name: reads, when: { statements: [read] }, action: allow }');
  const who = principal(p, {});
  const d = p.decide(who, facts({ kinds: ['insert', 'write'], operation: 'INSERT' }));
  assert.deepEqual([d.action, d.rule], ['deny', 'default']);
  const lax = new Policy(parsePolicy(`${base}defaults: { action: approve, approvalTimeout: 1m }\nrules: []\n`, 'p.yaml'));
  const d2 = lax.decide(who, facts({}));
  assert.deepEqual([d2.action, d2.rule, d2.timeoutMs], ['approve', 'default', 60_000]);
});

test('unparsable statements are denied unless the policy opts into evaluating them', () => {
  const bad = facts({ kinds: ['unparsable'], flags: ['unparsable'], operation: 'UNKNOWN' });
  const strict = policy('  - { name: anything, action: allow }');
  assert.deepEqual([strict.decide(principal(strict, {}), bad).action, strict.decide(principal(strict, {}), bad).rule], ['deny', 'unparsable']);
  const lax = new Policy(parsePolicy(`${base}defaults: { unparsable: evaluate }\nrules:\n  - { name: anything, action: allow }\n`, 'p.yaml'));
  assert.equal(lax.decide(principal(lax, {}), bad).action, 'allow');
});

test('table globs: schema-qualified, bare names, unqualified tables, allTables', () => {
  const p = policy(
    [
      '  - { name: public-orders, when: { tables: ["public.orders"] }, action: allow }',
      '  - { name: any-schema-users, when: { tables: ["users"] }, action: allow }',
      '  - { name: audit, when: { schemas: ["audit_*"] }, action: deny }',
      '  - { name: all-reporting, when: { tables: ["reporting.*"], allTables: true }, action: allow }',
    ].join('\n'),
  );
  const who = principal(p, {});
  const on = (...tables: { schema?: string; name: string }[]) => p.decide(who, facts({ tables })).rule;
  assert.equal(on({ name: 'orders' }), 'public-orders');
  assert.equal(on({ schema: 'public', name: 'orders' }), 'public-orders');
  assert.equal(on({ schema: 'other', name: 'orders' }), 'default');
  assert.equal(on({ schema: 'x', name: 'users' }), 'any-schema-users');
  assert.equal(on({ name: 'orders' }, { schema: 'audit_log', name: 'e' }), 'audit');
  assert.equal(on({ schema: 'reporting', name: 'a' }, { schema: 'reporting', name: 'b' }), 'all-reporting');
  assert.equal(on({ schema: 'reporting', name: 'a' }, { schema: 'secret', name: 'b' }), 'default');
});

test('text regex (with (?i)), flags, targets and claims narrow a rule', () => {
  const p = policy(
    [
      '  - { name: no-sleep, when: { text: "(?i)pg_sleep" }, action: deny }',
      '  - { name: no-do, when: { flags: [do-block] }, action: deny }',
      '  - { name: other-target, targets: ["prod-*"], action: deny }',
      '  - { name: main-only, claims: { ref: main }, action: allow }',
    ].join('\n'),
  );
  assert.equal(p.decide(principal(p, { ref: 'main' }), facts({ text: 'select PG_SLEEP(1)' })).rule, 'no-sleep');
  assert.equal(p.decide(principal(p, { ref: 'main' }), facts({ flags: ['do-block'] })).rule, 'no-do');
  assert.equal(p.decide(principal(p, { ref: 'main' }), facts({})).rule, 'main-only');
  assert.equal(p.decide(principal(p, { ref: 'dev' }), facts({})).rule, 'default');
  assert.equal(p.decide(principal(p, { ref: 'main' }), facts({ target: 'prod-db' })).rule, 'other-target');
});

test('a multi-statement command is as strict as its strictest statement', () => {
  const p = policy('  - { name: reads, when: { statements: [read] }, action: allow }\n  - { name: no-ddl, when: { statements: [ddl] }, action: deny }');
  const { decision, per } = p.decideAll(principal(p, {}), [facts({}), facts({ kinds: ['drop', 'ddl', 'write'], operation: 'DROP TABLE' }), facts({})]);
  assert.equal(decision.rule, 'no-ddl');
  assert.deepEqual(per.map((d) => d.action), ['allow', 'deny', 'allow']);
});

test('masking rules are chosen by who and where', () => {
  const p = policy(
    '  - { name: r, action: allow }',
    'masking:\n  - { name: m1, identities: [main-branch], columns: ["*.email"], strategy: redact }\n  - { name: m2, targets: [prod-db], detectors: [email], strategy: redact }\n  - { name: m3, detectors: [jwt, { name: t, regex: "T-[0-9]+" }], strategy: partial }\n',
  );
  assert.deepEqual(p.masking(principal(p, { project_path: 'acme/x', ref: 'main' }), 'db').map((m) => m.name), ['m1', 'm3']);
  assert.deepEqual(p.masking(principal(p, { project_path: 'acme/x', ref: 'dev' }), 'db').map((m) => m.name), ['m3']);
  assert.deepEqual(p.masking(principal(p, {}), 'prod-db').map((m) => m.name), ['m2', 'm3']);
  assert.deepEqual(p.masking(principal(p, {}), 'db')[0]!.detectors, [{ kind: 'builtin', name: 'jwt' }, { kind: 'regex', name: 't', pattern: 'T-[0-9]+', flags: undefined }]);
});

test('targets resolve to host, port and TLS defaults (verify-full)', () => {
  const p = policy('  - { name: r, action: allow }');
  const t = p.target('db')!;
  assert.deepEqual([t.host, t.port, t.tls.mode, t.credentials], ['127.0.0.1', 5432, 'verify-full', { source: 'file', key: 'db' }]);
  assert.equal(p.issuers().length, 1, 'two identities of one issuer share one verifier entry');
  const v6 = p.targetByAddress('::1', 5433)!;
  assert.deepEqual([v6.name, v6.credentials], ['prod-db', { source: 'exchange', scope: 'prod_reader' }]);
  assert.equal(p.targetByAddress('127.0.0.1', 5433), undefined);
});

test('after the session changed search_path, an unqualified table meets deny/approve rules on any schema; allow rules only in public', () => {
  const p = policy(
    [
      '  - { name: reads, when: { statements: [read] }, action: allow }',
      '  - { name: audit-off-limits, when: { schemas: [audit_only] }, action: deny }',
      '  - { name: secret-table, when: { tables: ["vault.secrets"] }, action: deny }',
      '  - { name: public-orders-only, when: { tables: ["public.orders"] }, action: allow }',
    ].join('\n'),
  );
  const who = principal(p, {});
  const changed = ['search-path-changed'];
  assert.equal(p.decide(who, facts({ tables: [{ name: 'events' }] })).rule, 'reads', 'default search_path: public.events');
  assert.equal(p.decide(who, facts({ tables: [{ name: 'events' }], flags: changed })).rule, 'audit-off-limits');
  assert.equal(p.decide(who, facts({ tables: [{ schema: 'public', name: 'events' }], flags: changed })).rule, 'reads');
  const noSchemaRule = policy('  - { name: secret-table, when: { tables: ["vault.secrets"] }, action: deny }\n  - { name: all, action: allow }');
  assert.equal(noSchemaRule.decide(principal(noSchemaRule, {}), facts({ tables: [{ name: 'secrets' }] })).rule, 'all');
  assert.equal(noSchemaRule.decide(principal(noSchemaRule, {}), facts({ tables: [{ name: 'secrets' }], flags: changed })).rule, 'secret-table');
});

test('ties go to the first matching rule in file order (it names the decision and, for approve, its approvers)', () => {
  const p = policy(
    [
      '  - { name: narrow-approve, when: { tables: [orders] }, action: approve, approval: { approvers: [owner], timeout: 10s } }',
      '  - { name: broad-allow, action: allow }',
      '  - { name: other-allow, when: { statements: [read] }, action: allow }',
      '  - { name: broad-approve, when: { statements: [write] }, action: approve, approval: { approvers: [dba] } }',
      '  - { name: first-deny, when: { text: "secret" }, action: deny, message: no secrets }',
      '  - { name: second-deny, when: { text: "secret" }, action: deny }',
    ].join('\n'),
  );
  const who = principal(p, {});
  assert.equal(p.decide(who, facts({})).rule, 'broad-allow');
  const write = p.decide(who, facts({ kinds: ['update', 'write'], operation: 'UPDATE', tables: [{ name: 'orders' }] }));
  assert.deepEqual([write.action, write.rule, write.approvers, write.timeoutMs], ['approve', 'narrow-approve', ['owner'], 10_000]);
  const other = p.decide(who, facts({ kinds: ['update', 'write'], operation: 'UPDATE', tables: [{ name: 'items' }] }));
  assert.deepEqual([other.rule, other.approvers, other.timeoutMs], ['broad-approve', ['dba'], 5 * 60_000], 'no timeout anywhere: 5 minutes');
  const denied = p.decide(who, facts({ text: 'select secret' }));
  assert.deepEqual([denied.action, denied.rule, denied.reason], ['deny', 'first-deny', 'no secrets']);
});

test('when.functions: bare names match in any schema, qualified names exactly; unqualified user functions count as public', () => {
  const p = policy(`  - { name: no-sleep, when: { functions: [pg_sleep] }, action: deny }
  - { name: no-public-f, when: { functions: ["public.f*"] }, action: deny }
  - { name: reads, when: { statements: [read] }, action: allow }`);
  const who = principal(p, { project_path: 'acme/x' });
  assert.equal(p.decide(who, facts({ functions: ['pg_catalog.pg_sleep'] })).rule, 'no-sleep');
  assert.equal(p.decide(who, facts({ functions: ['public.fetch_all'] })).rule, 'no-public-f');
  assert.equal(p.decide(who, facts({ functions: ['fetch_all'] })).rule, 'no-public-f');
  assert.equal(p.decide(who, facts({ functions: ['other.fetch_all'] })).rule, 'reads');
  assert.equal(p.decide(who, facts({})).rule, 'reads');
});

test('SQL-running functions: denied (rule dynamic-sql) unless an allow rule names the function or the kind', () => {
  const q = facts({ kinds: ['dynamic-sql'], functions: ['pg_catalog.query_to_xml'], operation: 'FUNCTION' });
  const broad = policy('  - { name: everything, action: allow }');
  assert.deepEqual([broad.decide(principal(broad, {}), q).action, broad.decide(principal(broad, {}), q).rule], ['deny', 'dynamic-sql']);
  // A default of allow does not cover it either.
  const open = policy('  - { name: nothing, when: { statements: [drop] }, action: deny }', 'defaults: { action: allow }\n');
  assert.equal(open.decide(principal(open, {}), q).rule, 'dynamic-sql');
  const byName = policy('  - { name: xml-export, when: { functions: [query_to_xml] }, action: allow }');
  assert.deepEqual([byName.decide(principal(byName, {}), q).action, byName.decide(principal(byName, {}), q).rule], ['allow', 'xml-export']);
  const byKind = policy('  - { name: dyn, when: { statements: [dynamic-sql] }, action: allow }');
  assert.equal(byKind.decide(principal(byKind, {}), q).action, 'allow');
  // Naming another function is no explicit allow of this one.
  const other = policy('  - { name: lower, when: { functions: [lower] }, action: allow }\n  - { name: everything, action: allow }');
  assert.equal(other.decide(principal(other, {}), q).rule, 'dynamic-sql');
  // A deny or approve rule still decides as usual.
  const held = policy('  - { name: hold, when: { statements: [dynamic-sql] }, action: approve }');
  assert.equal(held.decide(principal(held, {}), q).action, 'approve');
});

test('a client_encoding change is denied by rule text-encoding whatever the rules say', () => {
  const p = policy('  - { name: everything, action: allow }', 'defaults: { action: allow }\n');
  const d = p.decide(principal(p, {}), facts({ operation: 'SET', kinds: ['set', 'session'], flags: ['text-encoding-change'] }));
  assert.equal(d.action, 'deny');
  assert.equal(d.rule, 'text-encoding');
  assert.match(d.reason, /UTF8 only/);
});

test('decideAll over a statement and its nested commands: the strictest wins', () => {
  const p = policy(`  - { name: reads, when: { statements: [read] }, action: allow }
  - { name: deletes, when: { statements: [delete] }, action: approve }`);
  const who = principal(p, {});
  const outer = facts({ kinds: ['select', 'read', 'delete', 'write'], tables: [{ name: 'orders' }] });
  const own = facts({ tables: [{ name: 'orders' }] });
  const nested = facts({ operation: 'DELETE', kinds: ['delete', 'write'], tables: [{ name: 'orders' }] });
  assert.equal(p.decideAll(who, [outer, own, nested]).decision.action, 'approve');
  const ctas = facts({ operation: 'CREATE TABLE AS', kinds: ['create', 'ddl', 'write'] });
  assert.equal(p.decideAll(who, [facts({ kinds: ['create', 'ddl', 'write', 'select', 'read'] }), ctas, facts({})]).decision.rule, 'default');
});

test('egress: passthrough with no rules when absent', () => {
  const rule = '  - { name: any, action: allow }';
  assert.deepEqual(policy(rule).egress(), { defaultAction: 'passthrough', rules: [] });
  assert.deepEqual(policy(rule, 'egress: { default: refuse }').egress(), { defaultAction: 'refuse', rules: [] });
  assert.deepEqual(policy(rule, 'egress: { rules: [{ name: no-http, protocols: [http], ports: [80], action: refuse }] }').egress(), {
    defaultAction: 'passthrough',
    rules: [{ name: 'no-http', protocols: ['http'], destinations: undefined, ports: [80], action: 'refuse' }],
  });
});
