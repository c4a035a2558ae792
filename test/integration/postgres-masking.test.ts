// Masking of streamed result rows: by column (table.column globs resolved through the catalog)
// and by detectors over values, in text and binary result formats, and over COPY TO output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { planResultMasking } from '../../sidecar/masking/result-masker.js';
import { startHarness, basePolicy, psql, type Harness } from '../support/sidegate-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    env: { SIDEGATE_TEST_MASKING_KEY: 'k3y-for-hash-strategy' },
    policy: (env) =>
      basePolicy(env, {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction, copy-out] }
    action: allow`,
        masking: `  - name: emails-partial
    identities: [ci]
    columns: ["customers.email"]
    strategy: partial
  - name: cards-redacted
    identities: [ci]
    columns: ["*.card"]
    strategy: redact
  - name: names-hashed
    identities: [ci]
    columns: ["public.customers.name"]
    strategy: hash
  - name: secrets-anywhere
    identities: [ci]
    detectors: [aws-access-key, payment-card, jwt, pem-private-key, email]
    strategy: redact
maskingKey: { env: SIDEGATE_TEST_MASKING_KEY }`,
      }),
  });
});

after(async () => {
  await h?.close();
});

test('psql: masked columns and detected secrets never reach the client in text format', async () => {
  const r = await psql(h, await h.token(), 'SELECT id, name, email, card, notes FROM customers ORDER BY id;\n', ['-tA', '-F', '|']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /ada@example\.com/);
  assert.doesNotMatch(r.stdout, /4111111111111111/);
  assert.doesNotMatch(r.stdout, /AKIAIOSFODNN7EXAMPLE/);
  assert.doesNotMatch(r.stdout, /Ada Lovelace/);
  const lines = r.stdout.trim().split('\n').map((l) => l.split('|'));
  assert.equal(lines.length, 3);
  const [id, name, email, card, notes] = lines[0]!;
  assert.equal(id, '1');
  assert.match(name!, /^hash:[0-9a-f]{16}$/);
  assert.match(email!, /@example\.com$/);
  assert.notEqual(email, 'ada@example.com');
  assert.match(card!, /REDACTED/);
  assert.equal(notes, 'prefers email');
  assert.match(lines[1]![4]!, /REDACTED/, 'the AWS key inside notes is detected');
  assert.equal(lines[2]![3], '', 'NULL stays NULL');
});

test('node-postgres binary results: textual columns masked, other binary values byte-identical to direct', async () => {
  const query = { text: 'SELECT id, email, card, balance, now()::date AS d FROM customers WHERE id = $1', values: [1] };
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: await h.token(), binary: true } as pg.ClientConfig);
  const direct = new pg.Client({
    host: h.pg.host,
    port: h.pg.port,
    user: h.pg.users.scram.user,
    password: h.pg.users.scram.password,
    database: h.pg.database,
    ssl: { ca: await readFile(h.pg.caFile, 'utf8'), servername: 'localhost' },
    binary: true,
  } as pg.ClientConfig);
  await c.connect();
  await direct.connect();
  try {
    const row = (await c.query(query)).rows[0];
    const expected = (await direct.query(query)).rows[0];
    assert.equal(row.id, expected.id, 'int4 in binary format is untouched');
    assert.deepEqual(row.balance, expected.balance, 'numeric in binary format is untouched');
    assert.deepEqual(row.d, expected.d, 'date in binary format is untouched');
    assert.equal(expected.email, 'ada@example.com');
    assert.notEqual(row.email, expected.email);
    assert.match(String(row.email), /@example\.com$/);
    assert.match(String(row.card), /REDACTED/);
  } finally {
    await c.end();
    await direct.end();
  }
});

test('the hash strategy is stable for the same value', async () => {
  const a = await psql(h, await h.token(), 'SELECT name FROM customers WHERE id = 1;\n', ['-tA']);
  const b = await psql(h, await h.token(), 'SELECT name FROM customers WHERE id = 1;\n', ['-tA']);
  assert.equal(a.stdout.trim(), b.stdout.trim());
  assert.match(a.stdout.trim(), /^hash:/);
});

test('aliases do not escape column masking (the table is known from the catalog)', async () => {
  const r = await psql(h, await h.token(), 'SELECT c.card AS not_a_card FROM customers c WHERE id = 1;\n', ['-tA']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /REDACTED/);
});

test('COPY TO STDOUT of a table with masked columns is withheld row by row (COPY rows name no columns)', async () => {
  const r = await psql(h, await h.token(), '\\copy (SELECT email, notes FROM customers ORDER BY id) TO STDOUT\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '[REDACTED]\n'.repeat(3));
});

test('COPY TO STDOUT output is run through the detectors', async () => {
  const r = await psql(h, await h.token(), "\\copy (SELECT 'mail ada@example.com', 'prefers email', 'AKIAIOSFODNN7EXAMPLE') TO STDOUT\n");
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /ada@example\.com/);
  assert.doesNotMatch(r.stdout, /AKIAIOSFODNN7EXAMPLE/);
  assert.match(r.stdout, /prefers email/);
});

/**
 * 20000 rows of digests (long hex digit runs, a few of them Luhn-valid), every 997th with a card
 * number and every 1009th with an access key: enough to span many received chunks. `select` is
 * the query, `row(g)` the unmasked values of row g, `masker` the policy's detector rule alone.
 */
const planted = {
  rows: 20000,
  select:
    "SELECT g, md5(g::text) || md5((g + 1)::text), CASE WHEN g % 997 = 0 THEN 'card 4111 1111 1111 1111 end' WHEN g % 1009 = 0 THEN 'key AKIAIOSFODNN7EXAMPLE end' ELSE repeat('y', 40) END FROM generate_series(1, 20000) g",
  row(g: number): string[] {
    const md5 = (x: number) => createHash('md5').update(String(x)).digest('hex');
    const note = g % 997 === 0 ? 'card 4111 1111 1111 1111 end' : g % 1009 === 0 ? 'key AKIAIOSFODNN7EXAMPLE end' : 'y'.repeat(40);
    return [String(g), md5(g) + md5(g + 1), note];
  },
  masker: () =>
    planResultMasking(
      [{ name: 'secrets-anywhere', columns: [], detectors: ['aws-access-key', 'payment-card', 'jwt', 'pem-private-key', 'email'].map((name) => ({ kind: 'builtin' as const, name: name as 'email' })), strategy: 'redact' }],
      [{ name: '', textual: true }],
    )!,
};

/** The output, line by line, against the reference; returns the lines. */
function assertSameAsReference(r: { code: number | null; stdout: string; stderr: string }, expected: (g: number) => string): string[] {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, planted.rows, 'every row arrives');
  assert.doesNotMatch(r.stdout, /4111 1111 1111 1111|AKIAIOSFODNN7EXAMPLE/);
  const differing = lines.findIndex((l, i) => l !== expected(i + 1));
  assert.equal(differing, -1, `row ${differing + 1}: ${lines[differing]} instead of ${expected(differing + 1)}`);
  return lines;
}

test('bulk COPY TO: rows screened in whole chunks come out exactly as masking each row alone would make them', async () => {
  const r = await psql(h, await h.token(), `\\copy (${planted.select}) TO STDOUT\n`);
  const masker = planted.masker();
  const lines = assertSameAsReference(r, (g) => masker.maskText(0, planted.row(g).join('\t')).value);
  assert.ok(lines.filter((l) => l.includes('REDACTED')).length >= Math.floor(planted.rows / 997) + Math.floor(planted.rows / 1009));
});

test('a large result: values screened in whole chunks come out exactly as masking each value alone would make them', async () => {
  const r = await psql(h, await h.token(), `${planted.select};\n`, ['-tA', '-F', '|']);
  const masker = planted.masker();
  assertSameAsReference(r, (g) => planted.row(g).map((v) => masker.maskText(0, v).value).join('|'));
});

test('the span counts masked values and rows', async () => {
  await psql(h, await h.token(), 'SELECT email, card FROM customers ORDER BY id;\n', ['-tA']);
  await h.sidecar.audit.flush();
  const span = await h.receiver.waitForSpans(
    (spans) => spans.find((s) => s.attributes['db.query.text'] === 'SELECT email, card FROM customers ORDER BY id' && s.attributes['sidegate.masked_count'] !== undefined),
    10_000,
  );
  assert.equal(span.attributes['sidegate.rows_returned'], 3);
  // 3 e-mails and 2 cards (one card is NULL).
  assert.equal(span.attributes['sidegate.masked_count'], 5);
});
