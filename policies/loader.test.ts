import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyFile, parsePolicy } from './loader.js';
import { PolicyError } from './source-positions.js';

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  return [];
}

test('YAML syntax errors carry line and column', () => {
  const p = problems('version: 1\nrules:\n  - name: [unclosed\n');
  assert.equal(p.length > 0, true);
  assert.match(p[0]!, /^\d+:\d+: /);
});

test('unknown keys point at the key', () => {
  assert.deepEqual(problems('version: 1\nrulez: []\n'), ['2:1: rulez: unknown key "rulez"']);
});

test('wrong enum values name the allowed ones and what was written', () => {
  const p = problems('version: 1\nrules:\n  - name: r\n    action: permit\n');
  assert.deepEqual(p, ['4:13: rules[0].action: expected one of allow|deny|approve, got "permit"']);
});

test('cross-references: unknown identity, duplicates, approval without approve, bad regex, hash without key', () => {
  const p = problems(`version: 1
identities:
  - { name: ci, issuer: "https://ci.example", audiences: [sidegate], jwksUrl: "https://ci.example/jwks" }
rules:
  - { name: r, identities: [nobody], action: allow }
  - { name: r, action: allow, approval: { approvers: [x] } }
  - { name: t, when: { text: "(" }, action: deny }
masking:
  - { name: m, columns: ["*.x"], strategy: hash }
`);
  assert.ok(p.some((x) => /^5:\d+: rules\[0\]\.identities\[0\]: unknown identity "nobody"/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^6:\d+: rules\[1\]\.name: duplicate name "r"/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /rules\[1\]\.approval: approval is only allowed with action: approve/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /rules\[2\]\.when\.text: invalid regular expression/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /masking\[0\]\.strategy: strategy hash needs a top-level maskingKey/.test(x)), p.join('\n'));
});

test('an identity needs exactly one key source and an audience', () => {
  const p = problems(`version: 1
identities:
  - { name: ci, issuer: "https://ci.example" }
`);
  assert.ok(p.some((x) => /exactly one of jwksUrl, jwks, jwksFile/.test(x)));
  assert.ok(p.some((x) => /an audience is required/.test(x)));
});

const oneTarget = `targets:
  - name: orders-db
    protocol: postgres
    address: 127.0.0.1:5432
    credentials: { file: orders-db }
`;

test('addresses: host:port or [v6]:port, the port within 1..65535', () => {
  const at = (address: string) => problems(`version: 1\ntargets:\n  - { name: t, protocol: postgres, address: "${address}", credentials: { file: t } }\n`);
  assert.deepEqual(at('db.internal:5432'), []);
  assert.deepEqual(at('[::1]:5432'), []);
  assert.deepEqual(at('db.internal:70000'), ['3:45: targets[0].address: port must be between 1 and 65535']);
  assert.deepEqual(at('db.internal:0'), ['3:45: targets[0].address: port must be between 1 and 65535']);
  assert.match(at('db.internal')[0]!, /^3:45: targets\[0\]\.address: expected host:port/);
  const listen = (l: string) => problems(`version: 1\ntargets:\n  - { name: t, protocol: postgres, address: "db:5432", credentials: { file: t }, listen: "${l}" }\n`);
  assert.deepEqual(listen('127.0.0.1:0'), [], 'a listener may ask for an ephemeral port');
  assert.match(listen('127.0.0.1:65536')[0]!, /targets\[0\]\.listen: port must be between 0 and 65535/);
});

test('credentials: a file entry or the token exchange, which issues postgres and mysql logins only', () => {
  const target = (protocol: string, credentials: string) =>
    problems(`version: 1\ntargets:\n  - { name: t, protocol: ${protocol}, address: "db:5432", credentials: ${credentials} }\n`);
  assert.deepEqual(target('postgres', '{ exchange: {} }'), []);
  assert.deepEqual(target('postgres', '{ exchange: { scope: orders_reader } }'), []);
  assert.deepEqual(target('mysql', '{ exchange: { scope: shop_reader } }'), []);
  assert.match(target('ssh', '{ exchange: {} }')[0]!, /^3:\d+: targets\[0\]\.credentials\.exchange: the token exchange issues credentials for postgres and mysql targets only \(not ssh\)/);
  assert.match(target('postgres', '{ exchange: { scope: "Bad Role" } }')[0]!, /credentials\.exchange\.scope: a role name/);
  assert.match(target('postgres', '{ exchange: { url: "https://x" } }').join('\n'), /unknown key "url"/);
  assert.notDeepEqual(target('postgres', '{ file: t, exchange: {} }'), [], 'never both: no silent fallback from one to the other');
});

test('claim matchers accept unquoted booleans and numbers, compared as strings', () => {
  const { document } = parsePolicy(
    'version: 1\nidentities:\n  - { name: ci, issuer: "https://ci.example", audience: sidegate, jwksUrl: "https://ci.example/jwks", claims: { ref_protected: true, project_id: [42, "7*"] } }\n',
    'p.yaml',
  );
  assert.deepEqual(document.identities[0]!.claims, { ref_protected: 'true', project_id: ['42', '7*'] });
});

test('a rule or masking target pattern that matches no declared target is an error (it would switch the rule off)', () => {
  const p = problems(`version: 1
${oneTarget}rules:
  - { name: r, targets: ["orders-*", "order-db"], action: deny }
masking:
  - { name: m, targets: [billing], columns: ["*.x"], strategy: redact }
`);
  assert.deepEqual(p, [
    '8:38: rules[0].targets[1]: "order-db" matches no target (targets: orders-db)',
    '10:26: masking[0].targets[0]: "billing" matches no target (targets: orders-db)',
  ]);
});

test('identities sharing an issuer must agree on keys and clock skew (they become one verifier)', () => {
  const p = problems(`version: 1
identities:
  - { name: a, issuer: "https://ci.example", audience: x, jwksUrl: "https://ci.example/jwks" }
  - { name: b, issuer: "https://ci.example", audience: y, jwksFile: keys.json, clockSkew: 5s }
  - { name: c, issuer: "https://ci.example", audience: z, jwksUrl: "https://ci.example/jwks" }
`);
  assert.equal(p.length, 2, p.join('\n'));
  assert.match(p[0]!, /^4:5: identities\[1\]: identities of one issuer must use the same jwksUrl\/jwks\/jwksFile \("a" differs\)/);
  assert.match(p[1]!, /^4:\d+: identities\[1\]\.clockSkew: identities of one issuer must use the same clockSkew/);
});

test('duplicate keys, alias bombs and oversized files are refused with a position', () => {
  assert.match(problems('version: 1\nversion: 1\n')[0]!, /^2:1: /);
  const bomb = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`);
  assert.deepEqual(problems(bomb.join('\n') + '\n'), ['1:1: too many YAML alias expansions']);
  assert.match(problems('version: 1\n' + '#'.repeat(1024 * 1024))[0]!, /^1:1: more than 1048576 bytes; the limit is 1048576/);
});

test('a missing policy file is a PolicyError naming the file, not a crash', async () => {
  await assert.rejects(loadPolicyFile('/nonexistent/policy.yaml'), (err: unknown) => {
    assert.ok(err instanceof PolicyError);
    assert.equal(err.message, '/nonexistent/policy.yaml:0:0: cannot read policy: ENOENT');
    return true;
  });
});

test('egress: bad actions, ranges, ports and names are refused with their position', () => {
  assert.deepEqual(problems('version: 1\negress: { default: refuse }\n'), []);
  assert.deepEqual(problems('version: 1\negress: { default: passthrough, rules: [{ name: r, protocols: [tls], destinations: ["10.0.0.0/8", "fd00::/8", "192.0.2.7"], ports: [443], action: refuse }] }\n'), []);
  assert.deepEqual(problems('version: 1\negress: { default: allow }\n'), ['2:20: egress.default: expected one of passthrough|refuse, got "allow"']);
  const p = problems(`version: 1
egress:
  default: passthrough
  rules:
    - { name: a, destinations: ["10.0.0.0/33"], action: refuse }
    - { name: b, ports: [0], action: refuse }
    - { name: c, protocols: [ftp], action: refuse }
    - { name: d, action: drop }
    - { name: e, hosts: [x], action: refuse }
`);
  assert.ok(p.some((x) => /^5:\d+: egress\.rules\[0\]\.destinations\[0\]: expected an IPv4 or IPv6 address or CIDR/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^6:\d+: egress\.rules\[1\]\.ports\[0\]/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^7:\d+: egress\.rules\[2\]\.protocols\[0\]: expected one of postgres\|mysql\|ssh\|http\|tls\|unknown/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^8:\d+: egress\.rules\[3\]\.action/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^9:\d+: egress\.rules\[4\]\.hosts: unknown key "hosts"/.test(x)), p.join('\n'));
  const names = problems(`version: 1
egress:
  rules:
    - { name: same, ports: [80], action: refuse }
    - { name: same, ports: [443], action: refuse }
    - { name: egress-default, action: refuse }
`);
  assert.ok(names.some((x) => /^5:\d+: egress\.rules\[1\]\.name: duplicate name "same"/.test(x)), names.join('\n'));
  assert.ok(names.some((x) => /^6:\d+: egress\.rules\[2\]\.name: "egress-default" is a name sidegate itself uses/.test(x)), names.join('\n'));
});

test('an implicit identity is added unless the policy declares its name or issuer, so rules may name it', () => {
  const local = { name: 'local-developer', issuer: 'https://sidegate.local', audiences: ['sidegate'], jwksFile: '/state/local-jwks.json' };
  const naming = 'version: 1\nrules:\n  - name: r\n    identities: [local-developer]\n    action: allow\n';
  assert.throws(() => parsePolicy(naming, 'p.yaml'), /unknown identity "local-developer"/);
  const loaded = parsePolicy(naming, 'p.yaml', { implicitIdentities: [local] });
  assert.deepEqual(loaded.document.identities, [local]);
  const declared = 'version: 1\nidentities:\n  - name: me\n    issuer: https://sidegate.local\n    audience: sidegate\n    jwksFile: x.json\n';
  assert.deepEqual(
    parsePolicy(declared, 'p.yaml', { implicitIdentities: [local] }).document.identities.map((i) => i.name),
    ['me'],
    'the policy’s own identity of that issuer is kept as written',
  );
});
