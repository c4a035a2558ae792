import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from '../../policies/index.js';
import { adjustForLocalMode, localIdentity, parseUpstream } from './local-policy.js';

const TWO_TARGETS = `version: 1
identities:
  - name: dev
    issuer: https://sidegate.local
    audiences: [sidegate]
    jwksFile: .sidegate/local-jwks.json
  - name: ci
    issuer: https://ci.example
    audiences: [sidegate]
    jwksUrl: https://ci.example/jwks
targets:
  - { name: demo, protocol: postgres, address: "127.0.0.1:55433", credentials: { file: demo }, listen: "127.0.0.1:6432" }
  - { name: orders, protocol: postgres, address: "db:5432", credentials: { file: orders }, listen: "127.0.0.1:6433" }
`;

test('--upstream takes HOST:PORT or TARGET=HOST:PORT and refuses anything else', () => {
  assert.deepEqual(parseUpstream('db.internal:5432'), { address: 'db.internal:5432' });
  assert.deepEqual(parseUpstream('orders=[::1]:5432'), { target: 'orders', address: '[::1]:5432' });
  for (const bad of ['db.internal', 'db:0', 'db:70000', '=db:5432', 'orders=', 'http://db:5432']) {
    assert.throws(() => parseUpstream(bad), /--upstream expects \[TARGET=\]HOST:PORT/, bad);
  }
});

test('the local issuer is verified with the state directory’s keys; other issuers are untouched', () => {
  const { policy, demoTargets } = adjustForLocalMode(parsePolicy(TWO_TARGETS, 'p.yaml'), { stateDir: '/tmp/st', upstreams: [] });
  assert.equal(policy.document.identities[0]!.jwksFile, '/tmp/st/local-jwks.json');
  assert.equal(policy.document.identities[1]!.jwksUrl, 'https://ci.example/jwks');
  assert.deepEqual(demoTargets, ['demo']);
});

test('--upstream moves the named target off the embedded demo database', () => {
  const loaded = parsePolicy(TWO_TARGETS, 'p.yaml');
  const moved = adjustForLocalMode(loaded, { stateDir: '/s', upstreams: [parseUpstream('demo=pg.internal:5432')] });
  assert.equal(moved.policy.document.targets[0]!.address, 'pg.internal:5432');
  assert.deepEqual(moved.demoTargets, []);
  // The demo address named explicitly: a database of the operator's is there, none is embedded.
  assert.deepEqual(adjustForLocalMode(loaded, { stateDir: '/s', upstreams: [parseUpstream('demo=127.0.0.1:55433')] }).demoTargets, []);
  assert.equal(loaded.document.targets[0]!.address, '127.0.0.1:55433', 'the loaded policy is not changed');
  assert.throws(() => adjustForLocalMode(loaded, { stateDir: '/s', upstreams: [parseUpstream('pg:5432')] }), /the policy has 2 targets \(demo, orders\); name one/);
  assert.throws(() => adjustForLocalMode(loaded, { stateDir: '/s', upstreams: [parseUpstream('billing=pg:5432')] }), /no target "billing"/);
});

test('a policy with one target takes a bare --upstream; one without the local issuer gets local-developer', () => {
  const own = parsePolicy(
    'version: 1\ntargets:\n  - { name: mine, protocol: postgres, address: "127.0.0.1:55433", credentials: { file: mine } }\nrules:\n  - { name: r, identities: [local-developer], action: allow }\n',
    'p.yaml',
    { implicitIdentities: [localIdentity('/s')] },
  );
  const adjusted = adjustForLocalMode(own, { stateDir: '/s', upstreams: [parseUpstream('db:5432')] }).policy;
  assert.equal(adjusted.document.targets[0]!.address, 'db:5432');
  assert.deepEqual(adjusted.document.identities.map((i) => [i.name, i.issuer, i.jwksFile]), [['local-developer', 'https://sidegate.local', '/s/local-jwks.json']]);
});
