// The shipped example policies under attack: each runs as written (its rules and masking), with
// only its identities pointed at the test issuer and its target at the test PostgreSQL, and must
// forbid what its comments say it forbids.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { corpus, fe, type CaseContext, type Corpus } from './corpus.js';
import type { Issuer, PgInfo } from '../../support/sidegate-harness.js';

const EXAMPLES = fileURLToPath(new URL('../../../../policies/examples/', import.meta.url));

/** The example as written, with every identity verified by the test issuer and one target `pg`. */
function asTestPolicy(file: string) {
  return ({ pg, issuer }: { pg: PgInfo; issuer: Issuer }): string => {
    const doc = parse(readFileSync(EXAMPLES + file, 'utf8')) as Record<string, unknown> & {
      identities: { name: string }[];
      rules: { targets?: string[] }[];
      masking?: { targets?: string[] }[];
    };
    doc['identities'] = [...new Set(doc.identities.map((i) => i.name))].map((name) => ({ name, issuer: issuer.issuer, audiences: ['sidegate'], jwksUrl: issuer.jwksUrl }));
    doc['targets'] = [{ name: 'pg', protocol: 'postgres', address: `${pg.host}:${pg.port}`, tls: { mode: 'verify-full', ca: pg.caFile, serverName: 'localhost' }, credentials: { file: 'pg' } }];
    for (const r of [...doc.rules, ...(doc.masking ?? [])]) if (r.targets) r.targets = ['pg'];
    return stringify(doc);
  };
}

/** Attacks every example forbids in its comments, whatever else it allows. */
function commonAttacks(c: Corpus): void {
  const denied = async (t: CaseContext, sql: string | Buffer) => {
    const r = await t.raw();
    r.send(fe.query(sql));
    const msgs = await r.untilReady();
    const e = t.errors(msgs)[0];
    assert.ok(e, `expected a refusal of ${String(sql)}`);
    assert.match(e['M'] ?? '', /^sidegate:/);
  };
  c.case('a read is allowed and masked', async (t) => {
    const r = await t.raw();
    r.send(fe.query('SELECT id, email, card, notes FROM customers ORDER BY id'));
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    assert.equal(t.rows(msgs).length, 3);
  });
  c.case('a DELETE nested in a CTE does not pass as a read', (t) => denied(t, 'WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING *) SELECT * FROM d'));
  c.case('an UPDATE nested two CTEs deep does not pass as a read', (t) =>
    denied(t, 'WITH a AS (SELECT 1), b AS (WITH u AS (UPDATE orders SET total = 0 RETURNING id) SELECT * FROM u) SELECT * FROM a, b'),
  );
  c.case('COPY TO PROGRAM is not a read', (t) => denied(t, "COPY (SELECT 1) TO PROGRAM 'touch /tmp/sidegate-example-pwned'"));
  c.case('COPY to a server file is not a read', (t) => denied(t, "COPY orders TO '/tmp/sidegate-example-orders'"));
  c.case('query_to_xml does not run its text past the policy', (t) => denied(t, "SELECT query_to_xml('select * from orders', true, false, '') FROM orders LIMIT 1"));
  c.case('a large object written inside a SELECT is not a read', (t) => denied(t, "SELECT lo_from_bytea(0, 'x'::bytea)"));
  c.case('set_config(role) is a role switch, not a read', (t) => denied(t, "SELECT set_config('role', 'postgres', false)"));
  c.case('DROP TABLE is refused', (t) => denied(t, 'DROP TABLE orders'));
  c.case('a SJIS client cannot smuggle a second statement', async (t) => {
    const c2 = await t.connect();
    c2.send(fe.startup({ user: 'ci', database: t.database, client_encoding: 'SJIS' }));
    const msgs = await c2.closed();
    assert.ok(t.errors(msgs).length > 0, 'a SJIS session must be refused');
  });
  c.case('SET client_encoding mid-session is refused', (t) => denied(t, "SET client_encoding = 'SJIS'"));
}

const local = corpus('example local-demo', { policy: asTestPolicy('local-demo.yaml') });
commonAttacks(local);
local.case('a DO block is refused', async (t) => {
  const r = await t.raw();
  r.send(fe.query('DO $$ BEGIN DELETE FROM orders; END $$'));
  t.expectDenied(await r.untilReady(), 'no-do-blocks');
});
local.case('an UPDATE of orders is held for approval', async (t) => {
  const r = await t.raw();
  r.send(fe.query('UPDATE orders SET total = total + 1 WHERE id = 1'));
  t.expectHeld(await r.untilReady());
});

const ci = corpus('example ci-postgres', { policy: asTestPolicy('ci-postgres.yaml'), harness: { env: { SIDEGATE_MASKING_KEY: 'example-policies-corpus-key-0123456789' } } });
commonAttacks(ci);
ci.case('TRUNCATE is refused by never-drop-or-truncate', async (t) => {
  const r = await t.raw();
  r.send(fe.query('TRUNCATE orders CASCADE'));
  t.expectDenied(await r.untilReady(), 'never-drop-or-truncate');
});
ci.case('SET ROLE is refused by no-role-changes', async (t) => {
  const r = await t.raw();
  r.send(fe.query('SET ROLE postgres'));
  t.expectDenied(await r.untilReady(), 'no-role-changes');
});

for (const c of [local, ci]) {
  c.case('psql with FETCH_COUNT (DECLARE, FETCH, CLOSE) reads through a cursor without an error', async (t) => {
    const out = await t.psql('SELECT id FROM orders ORDER BY id;', { args: ['-v', 'FETCH_COUNT=3', '-tA'] });
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /ERROR/);
    assert.equal(out.stdout.trim().split('\n').length, 20);
  });
}
