import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExchangeConfigError, parseExchangeConfigYaml } from './exchange-config.js';

const VALID = `
issuers:
  - issuer: https://token.actions.githubusercontent.com
    audience: sidegate-exchange
  - issuer: https://kubernetes.default.svc.cluster.local
    audience: sidegate-exchange
    kubernetes: true
targets:
  - name: orders
    protocol: postgres
    host: orders-db.example.com
    database: orders
    tls: { caFile: /etc/sidegate/orders-ca.crt }
    admin: { username: sidegate_admin, passwordFile: /secrets/orders-admin/password }
grants:
  - name: deploys
    issuer: https://token.actions.githubusercontent.com
    claims: { repository: acme/app, ref: [refs/heads/main, "refs/tags/v*"] }
    actor: { claims: { kubernetes.io.namespace: ci } }
    target: orders
    roles: [orders_migrator]
    ttl: 30m
`;

test('a valid configuration with its defaults', () => {
  const config = parseExchangeConfigYaml(VALID, 'exchange.yaml');
  const orders = config.targets[0]!;
  assert.equal(orders.port, 5432);
  assert.ok(orders.protocol === 'postgres' && orders.rolePrefix === 'sidegate_x_');
  assert.equal(config.sweepInterval, 60_000);
  assert.equal(config.maxConcurrent, 64);
  assert.equal(config.issuers[0]!.kubernetes, false);
  assert.deepEqual(config.grants[0]!.claims, { repository: ['acme/app'], ref: ['refs/heads/main', 'refs/tags/v*'] });
  assert.equal(config.grants[0]!.ttl, 1_800_000);
});

function refused(yaml: string, message: RegExp): void {
  assert.throws(() => parseExchangeConfigYaml(yaml, 'exchange.yaml'), (err: unknown) => err instanceof ExchangeConfigError && message.test(err.message), message.source);
}

test('a grant must name who: a subject or a claim, never a whole issuer', () => {
  refused(VALID.replace('    claims: { repository: acme/app, ref: [refs/heads/main, "refs/tags/v*"] }\n', ''), /grants\.0: a grant must match the subject or at least one claim/);
});

test("a CI issuer's grant needs an actor of a kubernetes issuer, matched on something", () => {
  assert.deepEqual(parseExchangeConfigYaml(VALID, 'exchange.yaml').grants[0]!.actor, { claims: { 'kubernetes.io.namespace': ['ci'] } });
  refused(VALID.replace('    actor: { claims: { kubernetes.io.namespace: ci } }\n', ''), /grants\.0\.actor: a grant for a CI issuer needs an actor .*would hand the login to the job itself/);
  refused(VALID.replace('actor: { claims: { kubernetes.io.namespace: ci } }', 'actor: {}'), /grants\.0\.actor: an actor must match the subject or at least one claim/);
  refused(VALID.replace('actor: { claims:', 'actor: { issuer: https://token.actions.githubusercontent.com, claims:'), /grants\.0\.actor\.issuer: an actor is a pod of a kubernetes: true issuer/);
  refused(VALID.replace('    kubernetes: true\n', ''), /grants\.0\.actor\.issuer: an actor is a pod/);
  // A grant on the cluster's issuer stands alone: the pod's token is held by its sidecar only.
  const pods = VALID.replace(/grants:[\s\S]*/, 'grants:\n  - { name: pods, issuer: https://kubernetes.default.svc.cluster.local, subject: "system:serviceaccount:ci:*", target: orders, roles: [r], ttl: 1h }\n');
  assert.equal(parseExchangeConfigYaml(pods, 'exchange.yaml').grants[0]!.actor, undefined);
});

test('grants name declared issuers and targets; names are unique', () => {
  refused(VALID.replace('    target: orders\n', '    target: payments\n'), /grants\.0\.target: not one of targets/);
  refused(VALID.replace('    issuer: https://token.actions.githubusercontent.com\n    claims', '    issuer: https://gitlab.com\n    claims'), /grants\.0\.issuer: not one of issuers/);
  refused(VALID.replace('  - issuer: https://kubernetes.default.svc.cluster.local', '  - issuer: https://token.actions.githubusercontent.com'), /each issuer once/);
});

test('roles are plain identifiers, TTLs bounded, secrets only by path, unknown keys refused', () => {
  refused(VALID.replace('roles: [orders_migrator]', 'roles: ["x\\"; DROP ROLE y; --"]'), /grants\.0\.roles\.0: a lower-case identifier/);
  refused(VALID.replace('ttl: 30m', 'ttl: 10s'), /at least 1m/);
  refused(VALID.replace('ttl: 30m', 'ttl: 48h'), /at most 24h/);
  refused(VALID.replace('passwordFile: /secrets/orders-admin/password', 'password: hunter2'), /admin/);
  refused(VALID.replace('passwordFile: /secrets/orders-admin/password', 'passwordFile: relative/pw'), /an absolute file path/);
  refused(`${VALID}\nsweepIntervall: 5s\n`, /Unrecognized key/);
  refused(VALID.replace('https://token.actions.githubusercontent.com\n    audience', 'http://token.actions.githubusercontent.com\n    audience'), /issuers\.0\.issuer/);
});

test('errors never echo a value', () => {
  assert.throws(
    () => parseExchangeConfigYaml(VALID.replace('passwordFile: /secrets/orders-admin/password', 'passwordFile: s3cr3t-value'), 'exchange.yaml'),
    (err: unknown) => err instanceof Error && !err.message.includes('s3cr3t'),
  );
});

test("a Kubernetes issuer's audience is never the API server's: every pod's default token carries that one", () => {
  const k8sAudience = '  - issuer: https://kubernetes.default.svc.cluster.local\n    audience: sidegate-exchange';
  for (const audience of ['https://kubernetes.default.svc.cluster.local', 'https://kubernetes.default.svc/', 'https://KUBERNETES.default.svc', 'kubernetes', 'api']) {
    assert.throws(
      () => parseExchangeConfigYaml(VALID.replace(k8sAudience, `  - issuer: https://kubernetes.default.svc.cluster.local\n    audience: "${audience}"`), 'exchange.yaml'),
      (err: Error) => err instanceof ExchangeConfigError && /issuers\.1\.audience: the API server's own audience/.test(err.message),
      audience,
    );
  }
  // A CI issuer is not the cluster's: its audience is only checked to be a name.
  assert.doesNotThrow(() => parseExchangeConfigYaml(VALID.replace('  - issuer: https://token.actions.githubusercontent.com\n    audience: sidegate-exchange', '  - issuer: https://token.actions.githubusercontent.com\n    audience: api'), 'exchange.yaml'));
});

const MARIADB = VALID.replace(
  'grants:\n',
  `  - name: shop
    protocol: mysql
    host: shop-db.example.com
    tls: { caFile: /etc/sidegate/shop-ca.crt }
    admin: { username: sidegate_admin, passwordFile: /secrets/shop-admin/password }
grants:
  - name: shop-runners
    issuer: https://kubernetes.default.svc.cluster.local
    subject: system:serviceaccount:ci:runner
    target: shop
    roles: [shop_reader]
    ttl: 15m
`,
);

test('a MariaDB target: protocol mysql, port 3306, the user prefix and a connection cap by default', () => {
  const config = parseExchangeConfigYaml(MARIADB, 'exchange.yaml');
  const shop = config.targets[1]!;
  assert.equal(shop.protocol, 'mysql');
  assert.equal(shop.port, 3306);
  assert.ok(shop.protocol === 'mysql' && shop.userPrefix === 'sidegate_x_' && shop.maxUserConnections === 50);
  assert.deepEqual(config.grants[0]!.roles, ['shop_reader']);
});

test("a MariaDB target's keys are its own: no database, no rolePrefix; bounded prefix and connection cap", () => {
  refused(MARIADB.replace('    protocol: mysql\n', '    protocol: mysql\n    database: shop\n'), /targets\.1: Unrecognized key: "database"/);
  refused(MARIADB.replace('    protocol: mysql\n', '    protocol: mysql\n    rolePrefix: sgx_\n'), /Unrecognized key: "rolePrefix"/);
  refused(MARIADB.replace('    protocol: mysql\n', '    protocol: mysql\n    userPrefix: "sg`x_"\n'), /targets\.1\.userPrefix: a lower-case identifier of 3 to 21 characters/);
  refused(MARIADB.replace('    protocol: mysql\n', '    protocol: mysql\n    maxUserConnections: 0\n'), /targets\.1\.maxUserConnections/);
  refused(MARIADB.replace('    protocol: mysql\n', '    protocol: oracle\n'), /targets\.1\.protocol/);
});

test('template role names with a backtick or a quote never reach a statement: refused at load', () => {
  for (const role of ['"shop`; DROP USER root; --"', `"shop'reader"`, '"Shop_Reader"', '"shop reader"']) {
    refused(MARIADB.replace('roles: [shop_reader]', `roles: [${role}]`), /grants\.0\.roles\.0: a lower-case identifier/);
  }
});
