// Attack: make the exchange create something it cannot sweep. Every role may connect to the
// cluster's other databases (CONNECT is PUBLIC's by default) and, with no grant at all, create a
// large object there or a default ACL for itself. The drop reassigned and dropped what the role
// owned in the exchange's own database only, so DROP ROLE failed (2BP01) at every revocation and
// sweep for good: an expired role, its marker and its large object left on the target forever.
// The drop now also drops what the role owns in the other databases.
//
// Each attack checks: what the attacker sees (the revocation succeeds), the database (the role and
// its large object gone, nothing left), and no canary secret in any answer, log line or span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { TargetCredential } from '../../../exchange/protocol/credential-token.js';
import { AttackedExchange, attackNames, podToken, RUNNER_ACTOR, runToken } from './attacked-exchange.js';

const OTHER_DATABASE = 'postgres';

const attack = new AttackedExchange(attackNames('sgxe'), {
  tag: 'sgxe',
  grants: (n, { ci }) => [{ name: 'deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'orders', roles: [n.reader], ttl: '15m' }],
});
before(() => attack.start());
after(async () => {
  // What a failed drop would have left in the other database, so the roles can go.
  await asSuperuserIn(OTHER_DATABASE, async (c) => {
    for (const role of await attack.pgRoles()) await c.query(`DROP OWNED BY ${role}`).catch(() => undefined);
  }).catch(() => undefined);
  await attack.stop();
});

const orders = attack.client('orders');
const token = () => runToken(attack.ci, '3');
/** The run's sidecar: it exchanges the run's token and owns (revokes) the login. */
const sidecar = () => podToken(attack.cluster, 'pod-uid-3');

async function asSuperuserIn<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: attack.pg.socketDir, port: attack.pg.port, database, user: 'postgres' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** As the issued role, in another database: a large object and a default ACL, no grant needed. */
async function leaveSomethingElsewhere(credential: TargetCredential): Promise<number> {
  const c = await attack.pgLogin(credential, OTHER_DATABASE);
  try {
    const oid = Number((await c.query('SELECT lo_create(0) AS oid')).rows[0].oid);
    await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${pg.escapeIdentifier(credential.username)} GRANT SELECT ON TABLES TO PUBLIC`);
    return oid;
  } finally {
    await c.end();
  }
}

const largeObjectExists = (oid: number) => asSuperuserIn(OTHER_DATABASE, async (c) => ((await c.query('SELECT 1 FROM pg_largeobject_metadata WHERE oid = $1', [oid])).rowCount ?? 0) > 0);

test('a role that left a large object and a default ACL in another database is revoked all the same', async () => {
  await attack.refusesAlone(orders, await token());
  const credential = await orders.issue(await token(), await sidecar());
  const oid = await leaveSomethingElsewhere(credential);
  const reply = await orders.revoke(credential, await sidecar());
  assert.equal(reply.status, 200, reply.text);
  assert.ok(!(await attack.pgRoles()).includes(credential.username), 'the role is dropped');
  assert.equal(await largeObjectExists(oid), false, 'its large object is gone with it');
  await attack.noCanaryAnywhere();
});

test('an expired role that left a large object in another database is swept all the same', async () => {
  const credential = await orders.issue(await token(), await sidecar());
  const oid = await leaveSomethingElsewhere(credential);
  attack.clockShiftMs = 16 * 60_000;
  try {
    await attack.service.sweeper.sweepNow();
  } finally {
    attack.clockShiftMs = 0;
  }
  assert.ok(!(await attack.pgRoles()).includes(credential.username), 'the role is swept');
  assert.equal(await largeObjectExists(oid), false);
  assert.ok(!attack.logs.some((l) => l.includes('could not be dropped yet')), 'no failed drop');
  await attack.noCanaryAnywhere();
});
