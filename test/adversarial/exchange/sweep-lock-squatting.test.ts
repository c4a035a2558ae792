// Attack: keep a login alive past its expiry and its revocation by squatting the lock the exchange
// takes before dropping it. Advisory locks (PostgreSQL) and GET_LOCK (MariaDB) need no privilege,
// and their keys were guessable from the login's own name and the configured prefix:
//
// - MariaDB: every sweep took GET_LOCK('sidegate-exchange-sweep:<prefix>', 0) and, not getting it,
//   left the sweep "to the replica that holds it". An issued user holding that lock in one open
//   session stopped every sweep on the target; MariaDB has no account expiry, so every expired
//   login, the attacker's first, kept working.
// - PostgreSQL: dropping a role waited on pg_advisory_lock(hashtext('sidegate-exchange'),
//   hashtext(<role>)) with no bound but the statement timeout. The role holding that lock in its own
//   session made every revocation and sweep of it fail: the session outlived VALID UNTIL and the
//   revocation, and the role could still log in until VALID UNTIL after it was revoked.
//
// Each attack checks: what the attacker sees (the revocation succeeds; its lock-holding session is
// ended), the database (the login gone, nothing else dropped or left), and no canary secret in any
// answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AttackedExchange, attackNames, podToken, RUNNER_ACTOR, runToken } from './attacked-exchange.js';

const attack = new AttackedExchange(attackNames('sgxl'), {
  tag: 'sgxl',
  mariadb: true,
  grants: (n, { ci }) => [
    { name: 'deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'orders', roles: [n.reader], ttl: '15m' },
    { name: 'shop-deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'shop', roles: [n.myReader], ttl: '15m' },
  ],
});
before(() => attack.start());
after(() => attack.stop());

const orders = attack.client('orders');
const shop = attack.client('shop');
const token = () => runToken(attack.ci, '9');
/** The run's sidecar: it exchanges the run's token and owns (revokes) the login. */
const sidecar = () => podToken(attack.cluster, 'pod-uid-9');
const stillWorks = (work: Promise<unknown>) => work.then(() => true, () => false);

test('MariaDB: an expired user holding the sweep lock is swept anyway, its sessions killed', async () => {
  await attack.refusesAlone(shop, await token());
  const attacker = await shop.issue(await token(), await sidecar());
  const squatter = await attack.myLogin(attacker);
  try {
    const [locked] = await squatter.query('SELECT GET_LOCK(?, 0) AS l', [`sidegate-exchange-sweep:${attack.names.prefix}`]);
    assert.equal((locked as { l: number }[])[0]!.l, 1, 'any user may take the lock');
    attack.clockShiftMs = 16 * 60_000;
    await attack.service.sweeper.sweepNow();
    assert.ok(!(await attack.myUsers()).includes(attacker.username), 'the expired user is swept');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the lock-holding session is killed');
    assert.equal(await stillWorks(attack.myLogin(attacker).then((c) => c.end())), false, 'no new login');
  } finally {
    attack.clockShiftMs = 0;
    squatter.destroy();
  }
  await attack.noCanaryAnywhere();
});

test('PostgreSQL: a role holding its own drop lock is revoked anyway, its session ended', async () => {
  const attacker = await orders.issue(await token(), await sidecar());
  const squatter = await attack.pgLogin(attacker);
  try {
    await squatter.query(`SELECT pg_advisory_lock(hashtext('sidegate-exchange'), hashtext($1))`, [attacker.username]);
    const reply = await orders.revoke(attacker, await sidecar());
    assert.equal(reply.status, 200, reply.text);
    assert.ok(!(await attack.pgRoles()).includes(attacker.username), 'the role is dropped');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the lock-holding session is ended');
    assert.equal(await stillWorks(attack.pgLogin(attacker).then((c) => c.end())), false, 'no new login');
  } finally {
    await squatter.end().catch(() => undefined);
  }
  await attack.noCanaryAnywhere();
});

test('PostgreSQL: an expired role holding its own drop lock is swept anyway, its session ended', async () => {
  const attacker = await orders.issue(await token(), await sidecar());
  const squatter = await attack.pgLogin(attacker);
  try {
    await squatter.query(`SELECT pg_advisory_lock(hashtext('sidegate-exchange'), hashtext($1))`, [attacker.username]);
    attack.clockShiftMs = 16 * 60_000;
    await attack.service.sweeper.sweepNow();
    assert.ok(!(await attack.pgRoles()).includes(attacker.username), 'the expired role is dropped');
    assert.equal(await stillWorks(squatter.query('SELECT 1')), false, 'the session that outlived VALID UNTIL is ended');
  } finally {
    attack.clockShiftMs = 0;
    await squatter.end().catch(() => undefined);
  }
  await attack.noCanaryAnywhere();
});
