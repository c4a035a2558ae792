// Attack: revoke another run's or pod's login. A revocation's owner proof is any valid subject
// token of the credential's owner, and a revocation needs no grant. Every pod of one
// ServiceAccount has the same `sub`, and so has every GitHub run of one repository and ref; the
// victim's login name is in pg_roles (and its owner hash in pg_shdescription) for any database
// user to read, and a credential token is unsigned JSON, so the attacker forges one naming the
// victim's login. With an owner of issuer and subject alone the exchange dropped the victim's
// login and ended its sessions (a production migration cut off by another job). The owner now
// includes the run or pod (exchange/identity/owner-hash.ts).
//
// Each attack checks: the refusal the attacker sees (unauthorized_client), the database unchanged
// (the victim's login exists and still logs in, no stray login), and no canary secret in any
// answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetCredential } from '../../../exchange/protocol/credential-token.js';
import { AttackedExchange, attackNames, podToken, runToken } from './attacked-exchange.js';

const attack = new AttackedExchange(attackNames('sgxo'), {
  tag: 'sgxo',
  mariadb: true,
  grants: (n, { ci, cluster }) => [
    { name: 'deploys', issuer: ci, claims: { repository: 'acme/app' }, target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'runners', issuer: cluster, subject: 'system:serviceaccount:ci:*', target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'shop-deploys', issuer: ci, claims: { repository: 'acme/app' }, target: 'shop', roles: [n.myReader], ttl: '15m' },
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

test('another GitHub run of the same repository and ref cannot revoke a run\'s PostgreSQL login, found in pg_roles', async () => {
  const victim = await orders.issue(await run('1001'));
  const attacker = await orders.issue(await run('1002'));
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
    const reply = await orders.revoke(forged(victim), await run('1002'));
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error, 'unauthorized_client');
    assert.deepEqual(await attack.pgRoles(), before, 'no login dropped or created');
    assert.equal((await victimSession.query('SELECT count(*)::int AS n FROM customers')).rows[0].n, 3, 'the victim\'s session goes on');
    await (await attack.pgLogin(victim)).end();
    // The victim's own run, with a freshly requested token, still revokes it.
    const mine = await orders.revoke(victim, await run('1001'));
    assert.equal(mine.status, 200, mine.text);
    assert.ok(!(await attack.pgRoles()).includes(victim.username));
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  await orders.revoke(attacker, await run('1002'));
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

test('another GitHub run of the same repository and ref cannot revoke a run\'s MariaDB user', async () => {
  const victim = await shop.issue(await run('2001'));
  const before = await attack.myUsers();
  assert.ok(before.includes(victim.username));
  const victimSession = await attack.myLogin(victim);
  try {
    const reply = await shop.revoke(forged(victim), await run('2002'));
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error, 'unauthorized_client');
    assert.deepEqual(await attack.myUsers(), before, 'no user dropped or created');
    const [rows] = await victimSession.query(`SELECT count(*) AS n FROM ${attack.names.table}`);
    assert.equal(Number((rows as { n: number }[])[0]!.n), 3, 'the victim\'s session goes on');
  } finally {
    await victimSession.end().catch(() => undefined);
  }
  const mine = await shop.revoke(victim, await run('2001'));
  assert.equal(mine.status, 200, mine.text);
  assert.ok(!(await attack.myUsers()).includes(victim.username));
  await attack.noCanaryAnywhere();
});
