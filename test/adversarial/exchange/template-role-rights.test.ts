// Attack: a template role that can manage roles. PostgreSQL 15 lets a CREATEROLE admin grant
// membership in any non-superuser role, CREATEROLE templates included, and role attributes are not
// inherited but are one SET ROLE away. A login issued in such a template rewrites its own
// COMMENT ON ROLE marker (an expiry in 2099, or no marker: never swept), its VALID UNTIL, another
// login's marker (its owner: the revocation is now the attacker's) and even the admin's password.
// The server-file and program roles reach the database server's OS user. The exchange now refuses
// to issue a login in a template that is, or can SET ROLE to, any of those
// (exchange/postgres/postgres-credential-issuer.ts).
//
// Each attack checks: the refusal seen (server_error naming why), the database unchanged (no login
// created), and no canary secret in any answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AttackedExchange, attackNames, podToken, RUNNER_ACTOR, runToken } from './attacked-exchange.js';

const names = attackNames('sgxt');
/** CREATEROLE itself. */
const manager = names.named('manager');
/** No attribute, but a member of `manager`: one SET ROLE away from CREATEROLE. */
const nested = names.named('nested');
/** A member of pg_execute_server_program: COPY … TO PROGRAM runs a shell on the server. */
const shell = names.named('shell');

const attack = new AttackedExchange(names, {
  tag: 'sgxt',
  postgresSql: () => [`CREATE ROLE ${manager} NOLOGIN CREATEROLE`, `CREATE ROLE ${nested} NOLOGIN IN ROLE ${manager}`, `CREATE ROLE ${shell} NOLOGIN IN ROLE pg_execute_server_program`],
  postgresRoles: () => [nested, shell, manager],
  grants: (n, { ci }) => [{ name: 'deploys', issuer: ci, claims: { repository: 'acme/app' }, actor: RUNNER_ACTOR, target: 'orders', roles: [n.reader, manager, nested, shell], ttl: '15m' }],
});
before(() => attack.start());
after(() => attack.stop());

const orders = attack.client('orders');
/** The run's sidecar, which exchanges the run's token for it. */
const sidecar = () => podToken(attack.cluster, 'pod-uid-7');

test('the premise, on the real server: a member of a CREATEROLE role rewrites its own marker and VALID UNTIL', async () => {
  const victim = `${names.prefix}premise`;
  const password = randomBytes(12).toString('hex');
  await attack.superuser((c) => c.query(`CREATE ROLE ${victim} LOGIN PASSWORD ${pg.escapeLiteral(password)} VALID UNTIL 'infinity' IN ROLE ${nested}; COMMENT ON ROLE ${victim} IS 'marker'`));
  try {
    const own = await attack.pgLogin({ username: victim, password });
    try {
      await own.query(`SET ROLE ${manager}`);
      await own.query(`COMMENT ON ROLE ${victim} IS 'not a marker'`);
      await own.query(`ALTER ROLE ${victim} VALID UNTIL '2099-01-01'`);
    } finally {
      await own.end();
    }
    const row = await attack.superuser(async (c) => (await c.query(`SELECT shobj_description(oid, 'pg_authid') AS d, rolvaliduntil AS v FROM pg_roles WHERE rolname = $1`, [victim])).rows[0]);
    assert.equal(row.d, 'not a marker');
    assert.equal(new Date(row.v).getUTCFullYear(), 2099);
  } finally {
    await attack.superuser((c) => c.query(`DROP ROLE ${victim}`));
  }
});

for (const [what, role] of [
  ['a CREATEROLE template', manager],
  ['a template one SET ROLE away from CREATEROLE', nested],
  ['a template in pg_execute_server_program', shell],
] as const) {
  test(`the exchange refuses a login in ${what}, and creates nothing`, async () => {
    const before = await attack.pgRoles();
    const reply = await orders.exchange(await runToken(attack.ci, '7'), await sidecar(), { scope: role });
    assert.equal(reply.status, 500, reply.text);
    assert.equal(reply.json.error, 'server_error');
    assert.match(reply.json.error_description, /can manage roles or reach the server's files/);
    assert.deepEqual(await attack.pgRoles(), before, 'no login created');
    await attack.noCanaryAnywhere();
  });
}

test('a plain template still gets its login (through the sidecar; the run\'s token alone is refused)', async () => {
  await attack.refusesAlone(orders, await runToken(attack.ci, '7'));
  const credential = await orders.issue(await runToken(attack.ci, '7'), await sidecar());
  assert.ok((await attack.pgRoles()).includes(credential.username));
  await attack.noCanaryAnywhere();
});
