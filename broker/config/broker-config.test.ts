import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfigFile, parseBrokerConfigYaml } from './broker-config.js';

const MINIMAL = `
publicUrl: https://approvals.example.com
store: { kind: embedded, dataDir: /data }
requesters: { staticTokenFile: /secrets/requester-token }
session: { secretFile: /secrets/session/secret }
audit: { stateDir: /var/lib/sidegate-broker }
`;

const FULL = `
publicUrl: https://approvals.example.com/sidegate
store:
  kind: postgres
  connectionFile: /secrets/store/connection-string
  caFile: /secrets/store-ca/ca.crt
  maxConnections: 20
requesters:
  kubernetes:
    issuer: https://kubernetes.default.svc.cluster.local
approvers:
  oidc:
    - issuer: https://login.example.com
      clientId: sidegate
      clientSecretFile: /secrets/oidc-0/client-secret
      groupsClaim: roles
      scopes: [roles, offline_access]
      usernamePrefix: "corp:"
      groupsPrefix: "corp:"
    - issuer: https://gitlab.example.com
      clientId: sidegate-web
      cliClientId: sidegate-cli
      usernamePrefix: "gitlab:"
      groupsPrefix: "gitlab-group:"
  superApprovers: [{ issuer: https://login.example.com, subject: 0a1b-alice }]
notifications:
  slack: { webhookUrlFile: /secrets/slack/webhook-url }
  webhooks:
    - url: https://hooks.example.com/sidegate
      secretFile: /secrets/webhook-0/secret
      events: [approval.decided]
session: { secretFile: /secrets/session/secret }
audit: { stateDir: /var/lib/sidegate-broker }
maxPending: 50
maxTimeout: 30m
`;

test('a minimal document gets the defaults: no approvers, no notifications, 1000 pending, 1h', () => {
  const config = parseBrokerConfigYaml(MINIMAL, 'broker.yaml');
  assert.deepEqual(config, {
    publicUrl: 'https://approvals.example.com',
    store: { kind: 'embedded', dataDir: '/data' },
    requesters: { staticTokenFile: '/secrets/requester-token' },
    approvers: { oidc: [], superApprovers: [] },
    notifications: { webhooks: [] },
    session: { secretFile: '/secrets/session/secret' },
    audit: { stateDir: '/var/lib/sidegate-broker' },
    maxPending: 1000,
    maxTimeout: 3_600_000,
  });
});

test('a full document: postgres, cluster requesters with their defaults, two OIDC issuers, notifications', () => {
  const config = parseBrokerConfigYaml(FULL, 'broker.yaml');
  assert.deepEqual(config.store, { kind: 'postgres', connectionFile: '/secrets/store/connection-string', caFile: '/secrets/store-ca/ca.crt', maxConnections: 20 });
  assert.deepEqual(config.requesters.kubernetes, { issuer: 'https://kubernetes.default.svc.cluster.local', audience: 'sidegate-broker', discovery: true });
  assert.deepEqual(config.approvers.oidc, [
    { issuer: 'https://login.example.com', clientId: 'sidegate', clientSecretFile: '/secrets/oidc-0/client-secret', groupsClaim: 'roles', usernameClaim: 'preferred_username', scopes: ['roles', 'offline_access'], usernamePrefix: 'corp:', groupsPrefix: 'corp:' },
    { issuer: 'https://gitlab.example.com', clientId: 'sidegate-web', cliClientId: 'sidegate-cli', groupsClaim: 'groups', usernameClaim: 'preferred_username', scopes: ['groups'], usernamePrefix: 'gitlab:', groupsPrefix: 'gitlab-group:' },
  ]);
  assert.deepEqual(config.approvers.superApprovers, [{ issuer: 'https://login.example.com', subject: '0a1b-alice' }]);
  assert.deepEqual(config.notifications, {
    slack: { webhookUrlFile: '/secrets/slack/webhook-url' },
    webhooks: [{ url: 'https://hooks.example.com/sidegate', secretFile: '/secrets/webhook-0/secret', events: ['approval.decided'] }],
  });
  assert.equal(config.maxPending, 50);
  assert.equal(config.maxTimeout, 30 * 60_000);
});

test('keys outside the cluster: discovery off with a JWKS URL and its CA', () => {
  const config = parseBrokerConfigYaml(
    MINIMAL.replace(
      'requesters: { staticTokenFile: /secrets/requester-token }',
      'requesters: { kubernetes: { issuer: https://oidc.eks.example.com/id/ABC, audience: approvals, discovery: false, jwksUrl: https://oidc.eks.example.com/id/ABC/keys, caFile: /etc/ca.crt } }',
    ),
  );
  assert.deepEqual(config.requesters.kubernetes, {
    issuer: 'https://oidc.eks.example.com/id/ABC',
    audience: 'approvals',
    discovery: false,
    jwksUrl: 'https://oidc.eks.example.com/id/ABC/keys',
    caFile: '/etc/ca.crt',
  });
});

test('a file is read and its path names the errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidegate-broker-config-'));
  const good = join(dir, 'broker.yaml');
  writeFileSync(good, MINIMAL);
  assert.equal((await loadBrokerConfigFile(good)).store.kind, 'embedded');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, MINIMAL.replace('kind: embedded', 'kind: sqlite'));
  await assert.rejects(loadBrokerConfigFile(bad), (err: Error) => err.name === 'BrokerConfigError' && err.message.startsWith(`${bad}: invalid broker configuration: store.kind`));
});

test('mistakes fail with the field named', () => {
  const replace = (from: string, to: string) => {
    assert.ok(FULL.includes(from), from);
    return FULL.replace(from, to);
  };
  const cases: Array<[string, string, RegExp]> = [
    ['typo at the top', replace('maxPending: 50', 'maxPendng: 50'), /\(root\): Unrecognized key: "maxPendng"/],
    ['http publicUrl', replace('publicUrl: https://approvals.example.com/sidegate', 'publicUrl: http://approvals.example.com'), /publicUrl/],
    ['no publicUrl', replace('publicUrl: https://approvals.example.com/sidegate\n', ''), /publicUrl/],
    ['unknown store', replace('kind: postgres', 'kind: sqlite'), /store\.kind/],
    ['embedded keys on postgres', replace('maxConnections: 20', 'dataDir: /data'), /store: Unrecognized key: "dataDir"/],
    ['postgres without its connection', replace('  connectionFile: /secrets/store/connection-string\n', ''), /store\.connectionFile/],
    ['relative secret path', replace('connectionFile: /secrets/store/connection-string', 'connectionFile: secrets/conn'), /store\.connectionFile: an absolute file path/],
    ['too many connections', replace('maxConnections: 20', 'maxConnections: 1000'), /store\.maxConnections/],
    ['no requesters at all', replace('  kubernetes:\n    issuer: https://kubernetes.default.svc.cluster.local\n', '  {}\n'), /requesters: name how requesters authenticate/],
    ['jwksUrl with discovery', replace('issuer: https://kubernetes.default.svc.cluster.local', 'issuer: https://kubernetes.default.svc.cluster.local\n    jwksUrl: https://k/keys'), /requesters\.kubernetes\.jwksUrl: jwksUrl replaces discovery/],
    ['discovery off, no keys', replace('issuer: https://kubernetes.default.svc.cluster.local', 'issuer: https://kubernetes.default.svc.cluster.local\n    discovery: false'), /requesters\.kubernetes\.jwksUrl: required when discovery is false/],
    ['OIDC issuer over http', replace('issuer: https://login.example.com', 'issuer: http://login.example.com'), /approvers\.oidc\.0\.issuer/],
    ['OIDC issuer without client', replace('      clientId: sidegate-web\n', ''), /approvers\.oidc\.1\.clientId/],
    ['empty CLI client', replace('cliClientId: sidegate-cli', 'cliClientId: ""'), /approvers\.oidc\.1\.cliClientId/],
    ['OIDC typo', replace('groupsClaim: roles', 'groupClaim: roles'), /approvers\.oidc\.0: Unrecognized key: "groupClaim"/],
    ['a scope with a space in it', replace('scopes: [roles, offline_access]', 'scopes: ["roles admin"]'), /approvers\.oidc\.0\.scopes\.0: a scope token/],
    ['the same issuer twice', replace('issuer: https://gitlab.example.com', 'issuer: https://login.example.com'), /approvers\.oidc: each issuer once/],
    ['empty super-approver', replace('superApprovers: [{ issuer: https://login.example.com, subject: 0a1b-alice }]', 'superApprovers: [""]'), /approvers\.superApprovers\.0/],
    // Either issuer could put "alice" in a token: with two, a name alone would let one vouch for the other's users.
    ['a super-approver by name with two issuers', replace('superApprovers: [{ issuer: https://login.example.com, subject: 0a1b-alice }]', 'superApprovers: [alice]'), /approvers\.superApprovers\.0: with several OIDC issuers a super-approver is named by \{ issuer, subject \}/],
    ['a super-approver of an unknown issuer', replace('subject: 0a1b-alice', 'subject: 0a1b-alice }, { issuer: https://evil.example, subject: x'), /approvers\.superApprovers\.1\.issuer: not one of approvers\.oidc/],
    // Two issuers, unscoped: either could mint the names and groups policies use. Fail closed.
    ['two issuers, the first without a username prefix', replace('      usernamePrefix: "corp:"\n', ''), /approvers\.oidc\.0\.usernamePrefix: required with several OIDC issuers/],
    ['two issuers, the second without a groups prefix', replace('      groupsPrefix: "gitlab-group:"\n', ''), /approvers\.oidc\.1\.groupsPrefix: required with several OIDC issuers/],
    ['an empty prefix', replace('usernamePrefix: "gitlab:"', 'usernamePrefix: ""'), /approvers\.oidc\.1\.usernamePrefix: 1 to 64 printable characters/],
    ['a prefix with a space', replace('usernamePrefix: "gitlab:"', 'usernamePrefix: "git lab:"'), /approvers\.oidc\.1\.usernamePrefix: 1 to 64 printable characters/],
    ['the same username prefix twice', replace('usernamePrefix: "gitlab:"', 'usernamePrefix: "corp:"'), /approvers\.oidc\.1\.usernamePrefix: must not begin with issuer 0's usernamePrefix/],
    ['the same groups prefix twice', replace('groupsPrefix: "gitlab-group:"', 'groupsPrefix: "corp:"'), /approvers\.oidc\.1\.groupsPrefix: must not begin with issuer 0's groupsPrefix/],
    // corp's user "-x:bob" would be corp-x's bob.
    ['one prefix beginning another', replace('groupsPrefix: "gitlab-group:"', 'groupsPrefix: "corp-x:"').replace('groupsPrefix: "corp:"', 'groupsPrefix: "corp"'), /approvers\.oidc\.1\.groupsPrefix: must not begin with issuer 0's groupsPrefix/],
    ['unknown event', replace('events: [approval.decided]', 'events: [approval.expired]'), /notifications\.webhooks\.0\.events\.0/],
    ['webhook without a secret', replace('      secretFile: /secrets/webhook-0/secret\n', ''), /notifications\.webhooks\.0\.secretFile/],
    ['slack URL inline', replace('slack: { webhookUrlFile: /secrets/slack/webhook-url }', 'slack: { webhookUrl: https://hooks.slack.com/x }'), /notifications\.slack: Unrecognized key: "webhookUrl"/],
    ['no session secret', replace('session: { secretFile: /secrets/session/secret }\n', ''), /session/],
    ['no audit state directory: no evidence, no broker', replace('audit: { stateDir: /var/lib/sidegate-broker }\n', ''), /audit/],
    ['audit state directory relative', replace('stateDir: /var/lib/sidegate-broker', 'stateDir: audit'), /audit\.stateDir: an absolute file path/],
    ['zero pending', replace('maxPending: 50', 'maxPending: 0'), /maxPending/],
    ['timeout without unit', replace('maxTimeout: 30m', 'maxTimeout: thirty'), /maxTimeout: a duration/],
    ['timeout too short', replace('maxTimeout: 30m', 'maxTimeout: 10ms'), /maxTimeout: a duration of at least 1s/],
    ['not YAML', 'publicUrl: [', /not valid YAML/],
  ];
  for (const [label, yaml, expected] of cases) {
    assert.throws(
      () => parseBrokerConfigYaml(yaml, 'broker.yaml'),
      (err: Error) => {
        assert.equal(err.name, 'BrokerConfigError', label);
        assert.match(err.message, /^broker\.yaml: /, label);
        assert.match(err.message, expected, label);
        return true;
      },
      label,
    );
  }
});

test('an error message never echoes a secret file\'s contents: it only names paths', () => {
  // The file holds paths, never secrets, so a failing document cannot leak one; an inline
  // secret is refused by name.
  assert.throws(() => parseBrokerConfigYaml(MINIMAL.replace('session: { secretFile: /secrets/session/secret }', 'session: { secret: hunter2hunter2 }')), (err: Error) => {
    assert.match(err.message, /session: Unrecognized key: "secret"/);
    assert.doesNotMatch(err.message, /hunter2/);
    return true;
  });
});

test('a super-approver by name is accepted with a single OIDC issuer', () => {
  const config = parseBrokerConfigYaml(`${MINIMAL}approvers:\n  oidc: [{ issuer: https://login.example.com, clientId: sidegate }]\n  superApprovers: [alice]\n`, 'broker.yaml');
  assert.deepEqual(config.approvers.superApprovers, ['alice']);
});

test('one issuer: prefixes are optional, and kept when given', () => {
  const one = parseBrokerConfigYaml(`${MINIMAL}approvers:\n  oidc: [{ issuer: https://login.example.com, clientId: sidegate }]\n`, 'broker.yaml');
  assert.equal(one.approvers.oidc[0]!.usernamePrefix, undefined);
  const prefixed = parseBrokerConfigYaml(`${MINIMAL}approvers:\n  oidc: [{ issuer: https://login.example.com, clientId: sidegate, usernamePrefix: "oidc:", groupsPrefix: "oidc:" }]\n`, 'broker.yaml');
  assert.deepEqual([prefixed.approvers.oidc[0]!.usernamePrefix, prefixed.approvers.oidc[0]!.groupsPrefix], ['oidc:', 'oidc:']);
});

test('a shorter prefix listed after the longer one it begins is refused too', () => {
  const yaml = `${MINIMAL}approvers:\n  oidc:\n    - { issuer: https://a.example.com, clientId: a, usernamePrefix: "ab", groupsPrefix: "a:" }\n    - { issuer: https://b.example.com, clientId: b, usernamePrefix: "a", groupsPrefix: "b:" }\n`;
  assert.throws(() => parseBrokerConfigYaml(yaml, 'broker.yaml'), /approvers\.oidc\.0\.usernamePrefix: must not begin with issuer 1's usernamePrefix/);
});
