// Attack: revoke another run's or pod's login. A revocation's owner proof is any valid subject
// token of the credential's owner, and a revocation needs no grant. Every pod of one
// ServiceAccount has the same `sub`, and so has every GitHub run of one repository and ref; the
// victim's login name is in pg_roles (and its owner hash in pg_shdescription) for any database
// user to read, and a credential token is unsigned JSON, so the attacker forges one naming the
// victim's login. With an owner of issuer and subject alone the exchange dropped the victim's
// login and ended its sessions (a production migration cut off by another job). The owner now
// includes the run or pod (exchange/identity/owner-hash.ts).
//
// A CI run's login is delegated (RFC 8693): its sidecar's pod exchanges the run's token with its
// own as actor_token and owns the login, so the attacker is another run's sidecar: another pod of
// the same ServiceAccount, with its own delegated login to read the catalog with. Neither its pod
// token nor a run's CI token revokes the victim's login; a CI token alone is not exchanged at all.
//
// Each attack checks: the refusal the attacker sees (unauthorized_client), the database unchanged
// (the victim's login exists and still logs in, no stray login), and no canary secret in any
// answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetCredential } from '../../../exchange/protocol/credential-token.js';
import { AttackedExchange, attackNames, podToken, RUNNER_ACTOR, runToken } from './attacked-exchange.js';

const attack = new AttackedExchange(attackNames('sgxo'), {
  tag: 'sgxo',
  mariadb: true,
  grants: (n, { ci, cluster }) => [
    { name: 'deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'runners', issuer: cluster, subject: 'system:serviceaccount:ci:*', target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'shop-deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'shop', roles: [n.myReader], ttl: '15m' },
  ],
});
before(() => attack.start());
after(() => attack.stop());

const orders = attack.client('orders');
const shop = attack.client('shop');
const run = (id: string) => runToken(attack.ci, id);
const pod = (uid: string) => podToken(attack.cluster, uid);

/** The victim's login as the attacker rebuilds it: its name from the catalog, a made-up password. */
const forged = (victim: TargetCredential): TargetCredential => ({ ...victim, password: 'not-the-password' });

test('another run\'s sidecar (another pod of the same ServiceAccount) cannot revoke a run\'s delegated PostgreSQL login, found in pg_roles', async () => {
  await attack.refusesAlone(orders, await run('1001'));
  const victim = await orders.issue(await run('1001'), await pod('pod-uid-1001'));
  const attacker = await orders.issue(await run('1002'), await pod('pod-uid-1002'));
  // The attacker's own login reads every issued role and its marker: the victim's name is there.
  const own = await attack.pgLogin(attacker);
  try {
    const { rows } = await own.query<{ rolname: string }>('SELECT r.rolname FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid WHERE starts_with(r.rolname, $1)', [attack.names.prefix]);
    assert.ok(rows.some((r) => r.rolname === victim.username), 'the victim\'s login is in the catalog for any user to read');
  } finally {
    await own.end();
  }
  const victimSession = await attack.pgLogin(victim);
  try {
    const before = await attack.pgRoles();
    // The attacker's pod, its run's CI token, and the victim run's own CI token (the owner is its sidecar).
    for (const proof of [await pod('pod-uid-1002'), await run('1002'), await run('1001')]) {
      const reply = await orders.revoke(forged(victim), proof);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.json.error, 'unauthorized_client');
      assert.deepEqual(await attack.pgRoles(), before, 'no login dropped or created');
    }
    assert.equal((await victimSession.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 3, 'the victim\'s session goes on');
    await (await attack.pgLogin(victim)).end();
    // The victim run's sidecar, with a rotated token of its pod, still revokes it.
    const mine = await orders.revoke(victim, await pod('pod-uid-1001'));
    assert.equal(mine.status, 200, mine.text);
    assert.ok(!(await attack.pgRoles()).includes(victim.username));
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  const theirs = await orders.revoke(attacker, await pod('pod-uid-1002'));
  assert.equal(theirs.status, 200, theirs.text);
  await attack.noCanaryAnywhere();
});

test('another pod of the same ServiceAccount cannot revoke a pod\'s PostgreSQL login; the pod\'s rotated token can', async () => {
  const victim = await orders.issue(await pod('pod-uid-victim'));
  const before = await attack.pgRoles();
  const reply = await orders.revoke(forged(victim), await pod('pod-uid-attacker'));
  assert.equal(reply.status, 400, reply.text);
  assert.equal(reply.json.error, 'unauthorized_client');
  assert.deepEqual(await attack.pgRoles(), before);
  await (await attack.pgLogin(victim)).end();
  const rotated = await orders.revoke(victim, await pod('pod-uid-victim'));
  assert.equal(rotated.status, 200, rotated.text);
  assert.ok(!(await attack.pgRoles()).includes(victim.username));
  await attack.noCanaryAnywhere();
});

test('another run\'s sidecar (another pod of the same ServiceAccount) cannot revoke a run\'s delegated MariaDB user', async () => {
  await attack.refusesAlone(shop, await run('2001'));
  const victim = await shop.issue(await run('2001'), await pod('pod-uid-2001'));
  const before = await attack.myUsers();
  assert.ok(before.includes(victim.username));
  const victimSession = await attack.myLogin(victim);
  try {
    for (const proof of [await pod('pod-uid-2002'), await run('2002'), await run('2001')]) {
      const reply = await shop.revoke(forged(victim), proof);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.json.error, 'unauthorized_client');
      assert.deepEqual(await attack.myUsers(), before, 'no user dropped or created');
    }
    const [rows] = await victimSession.query(`SELECT count(*) AS n FROM ${attack.names.table}`);
    assert.equal(Number((rows as { n: number }[])[0]!.n), 3, 'the victim\'s session goes on');
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  const mine = await shop.revoke(victim, await pod('pod-uid-2001'));
  assert.equal(mine.status, 200, mine.text);
  assert.ok(!(await attack.myUsers()).includes(victim.username));
  await attack.noCanaryAnywhere();
});
