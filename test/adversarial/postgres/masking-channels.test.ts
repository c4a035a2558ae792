// Issue 12, classes 8 and 9: every byte on its way to the client passes the masker while masking
// rules apply (rows in both formats, whole-row values, arrays, records, bytea, numbers, errors,
// notices, settings, notifications, COPY in text, CSV and binary), and a renamed table never
// keeps a stale name that would leave its masked columns in clear.
//
// The policy allows every statement (what is tested here is what comes back, not what may run;
// the checksum check still proves nothing changed) and masks `customers.email` (partial),
// `customers.name` (redact: "Ada"/"Bob" are no canaries, so the cases look for them themselves),
// every `card` column (redact) and the canaries' kinds by detectors.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { corpus, corpusPolicy, fe, CANARY, type BackendMessage, type CaseContext } from './corpus.js';

const c = corpus('masking-channels', {
  policy: (env) => {
    const base = corpusPolicy(env);
    const head = base.slice(0, base.indexOf('rules:'));
    return `${head}rules:
  - name: everything
    identities: [ci]
    action: allow
masking:
  - name: customer-emails
    columns: [customers.email]
    strategy: partial
  - name: customer-names
    columns: [customers.name]
    strategy: redact
  - name: cards
    columns: ["*.card"]
    strategy: redact
  - name: detectors
    detectors: [email, payment-card, jwt, aws-access-key, pem-private-key]
    strategy: redact
`;
  },
});

/** The redacted name column's values (not canaries, so checked here). */
const NAMES = /\bAda\b|\bBob\b/;
const BINARY = { resultFormats: [1] };

function text(v: Buffer | null | undefined): string {
  return v === null || v === undefined ? '<NULL>' : v.toString('utf8');
}

function allText(msgs: BackendMessage[]): string {
  return msgs.map((m) => m.body.toString('latin1')).join('\n');
}

/** Runs one statement through the extended protocol with every result column in binary. */
async function binaryQuery(t: CaseContext, sql: string): Promise<BackendMessage[]> {
  const r = await t.raw();
  r.send(fe.parse('', sql), fe.bind('', '', [], BINARY), fe.describe('P', ''), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  return msgs;
}

async function simpleQuery(t: CaseContext, sql: string): Promise<BackendMessage[]> {
  const r = await t.raw();
  r.send(fe.query(sql));
  return r.untilReady();
}

// ───────────── DataRow, text format: columns without a source of their own ─────────────

c.case('psql: a whole-row value of customers carries no masked column in clear', async (t) => {
  const out = await t.psql('SELECT c FROM customers c ORDER BY id;');
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, NAMES);
  assert.match(out.stdout, /\[REDACTED\]/);
});

c.case('raw: row_to_json over a masked table is masked as a whole and stays valid JSON', async (t) => {
  const msgs = await simpleQuery(t, 'SELECT row_to_json(c) FROM customers c ORDER BY id');
  t.expectOk(msgs);
  const rows = t.rows(msgs);
  assert.equal(rows.length, 3);
  for (const [v] of rows) {
    assert.doesNotMatch(text(v), NAMES);
    JSON.parse(text(v));
  }
});

c.case('node-postgres: ARRAY[c] and (c).name do not unwrap a masked column', async (t) => {
  const client = await t.pg();
  const res = await client.query('SELECT ARRAY[c] AS a, (c).name AS n, (c).email AS e FROM customers c ORDER BY id');
  assert.equal(res.rows.length, 3);
  assert.doesNotMatch(JSON.stringify(res.rows), NAMES);
});

c.case('psql: base64 of an e-mail (no detector sees it) is masked as a derived column', async (t) => {
  const out = await t.psql("SELECT encode(convert_to(email, 'UTF8'), 'base64') FROM customers ORDER BY id;");
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /\[REDACTED\]/);
});

c.case('node-postgres: reverse(card) is masked although reversed digits fail the Luhn check', async (t) => {
  const client = await t.pg();
  const res = await client.query('SELECT reverse(card) AS x FROM customers WHERE card IS NOT NULL ORDER BY id');
  assert.deepEqual(res.rows.map((r) => r.x), ['[REDACTED]', '[REDACTED]']);
});

c.case('raw: bytea of an e-mail in text format (hex) is masked', async (t) => {
  const msgs = await simpleQuery(t, "SELECT convert_to(email, 'UTF8') AS b FROM customers ORDER BY id");
  t.expectOk(msgs);
  for (const [v] of t.rows(msgs)) {
    assert.match(text(v), /^\\x[0-9a-f]*$/, 'still a bytea in hex');
    assert.doesNotMatch(Buffer.from(text(v).slice(2), 'hex').toString('utf8'), /@/);
  }
});

c.case('psql: a UNION of a masked column with an unmasked one is masked', async (t) => {
  const out = await t.psql('SELECT name FROM customers UNION ALL SELECT status FROM orders;');
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, NAMES);
});

c.case('raw: upper(name) and name || email are derived from masked columns', async (t) => {
  const msgs = await simpleQuery(t, "SELECT upper(name), name || ' <' || email || '>' FROM customers ORDER BY id");
  t.expectOk(msgs);
  assert.doesNotMatch(allText(msgs), /\bADA\b|\bAda\b/);
});

c.case('raw: a card cast to numeric (text format) is withheld as a wide derived number', async (t) => {
  const msgs = await simpleQuery(t, 'SELECT reverse(card)::numeric FROM customers WHERE card IS NOT NULL');
  t.expectOk(msgs);
  assert.deepEqual(t.rows(msgs), [[null], [null]]);
});

c.case('psql: an alias in a subquery does not hide the masked column', async (t) => {
  const out = await t.psql('SELECT x FROM (SELECT name AS x FROM customers) s ORDER BY 1;');
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, NAMES);
});

c.case('ordinary queries keep working: expressions over unmasked tables and counts are untouched', async (t) => {
  const msgs = await simpleQuery(t, "SELECT status || '!', total * 2 FROM orders WHERE id = 1");
  t.expectOk(msgs);
  assert.deepEqual(t.rows(msgs).map((r) => r.map(text)), [['shipped!', '20.00']]);
  const count = await simpleQuery(t, 'SELECT count(*), max(id), avg(id), sum(id)::numeric FROM customers');
  assert.deepEqual(t.rows(count).map((r) => r.map(text)), [['3', '3', '2.0000000000000000', '6']]);
});

c.case('a view over a masked table (its own column names) is masked', async (t) => {
  await t.admin(`CREATE VIEW people AS SELECT id, name AS who FROM customers; ALTER VIEW people OWNER TO ${t.h.pg.users.scram.user}`);
  try {
    const out = await t.psql('SELECT who FROM people ORDER BY id;');
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stdout, NAMES);
  } finally {
    await t.admin('DROP VIEW IF EXISTS people');
  }
});

c.case('a user-defined function reading a masked table is a source of masked values', async (t) => {
  await t.admin(
    `CREATE FUNCTION people_names() RETURNS SETOF text LANGUAGE sql AS 'SELECT name FROM customers'; ALTER FUNCTION people_names() OWNER TO ${t.h.pg.users.scram.user}`,
  );
  try {
    const client = await t.pg();
    const res = await client.query('SELECT * FROM people_names() AS n');
    assert.equal(res.rows.length, 3);
    assert.doesNotMatch(JSON.stringify(res.rows), NAMES);
  } finally {
    await t.admin('DROP FUNCTION IF EXISTS people_names()');
  }
});

c.case('column statistics (pg_stats) do not show a masked column\'s values', async (t) => {
  await t.admin('ANALYZE customers');
  const msgs = await simpleQuery(t, "SELECT attname, histogram_bounds, histogram_bounds::text AS h FROM pg_stats WHERE tablename = 'customers' ORDER BY attname");
  t.expectOk(msgs);
  assert.ok(t.rows(msgs).length > 0, 'statistics are visible to the table owner');
  assert.doesNotMatch(allText(msgs), NAMES);
});

c.case('whole rows and JSON of a table without masked columns come back intact, in both formats', async (t) => {
  const msgs = await simpleQuery(t, 'SELECT o, row_to_json(o) FROM orders o WHERE id = 1');
  t.expectOk(msgs);
  assert.deepEqual(t.rows(msgs).map((r) => r.map(text)), [['(1,2,10.00,shipped)', '{"id":1,"customer_id":2,"total":10.00,"status":"shipped"}']]);
  const bin = await binaryQuery(t, 'SELECT row_to_json(o)::jsonb, ROW(o.id, o.status) FROM orders o WHERE id = 1');
  const [[j, rec]] = t.rows(bin) as [[Buffer, Buffer]];
  assert.equal(j[0], 1, 'jsonb version byte');
  assert.match(j.subarray(1).toString(), /"status": "shipped"/);
  assert.notEqual(rec, null, 'a record of unmasked values is not withheld');
});

// ───────────── DataRow, binary format ─────────────

c.case('binary: a whole-row value (a table row type the masker cannot read) is withheld', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT c FROM customers c ORDER BY id');
  assert.deepEqual(t.rows(msgs), [[null], [null], [null]]);
});

c.case('binary: an anonymous record ROW(id, email) is masked, not passed raw', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT ROW(id, email, notes) FROM customers ORDER BY id');
  assert.equal(t.rows(msgs).length, 3);
  for (const [v] of t.rows(msgs)) assert.equal(v, null);
});

c.case('binary: an array of records is masked', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT ARRAY[ROW(email), ROW(card)] FROM customers ORDER BY id');
  for (const [v] of t.rows(msgs)) assert.equal(v, null);
});

c.case('binary: bytea of the notes (an AWS key inside) is masked', async (t) => {
  const msgs = await binaryQuery(t, "SELECT convert_to(notes, 'UTF8') FROM customers ORDER BY id");
  assert.equal(t.rows(msgs).length, 3);
});

c.case('binary: tsvector of an e-mail is masked', async (t) => {
  const msgs = await binaryQuery(t, "SELECT to_tsvector('simple', email || ' ' || card) FROM customers ORDER BY id");
  for (const [v] of t.rows(msgs)) assert.equal(v, null);
});

c.case('binary: a refcursor, a "char" array and a name carrying an e-mail are masked', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT email::refcursor, ARRAY[email::name], email::varchar FROM customers ORDER BY id');
  assert.equal(t.rows(msgs).length, 3);
});

c.case('binary: a card as int8 or numeric is withheld (detectors cannot read binary numbers)', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT card::int8 AS a, card::numeric AS b, card::float8 AS f FROM customers WHERE card IS NOT NULL ORDER BY id');
  assert.deepEqual(t.rows(msgs), [
    [null, null, null],
    [null, null, null],
  ]);
});

c.case('binary: the plain masked columns come back masked, ids byte-identical', async (t) => {
  const msgs = await binaryQuery(t, 'SELECT id, email, card FROM customers ORDER BY id');
  const rows = t.rows(msgs);
  assert.equal(rows[0]![0]!.readInt32BE(0), 1);
  assert.match(text(rows[0]![1]), /^c\*\*\*@example\.com$/);
  assert.equal(text(rows[0]![2]), '[REDACTED]');
});

c.case('node-postgres binary: jsonb and json of a row are masked and still parse', async (t) => {
  const client = await t.pg();
  const res = await client.query({ text: 'SELECT to_jsonb(c) AS j, to_json(c) AS k FROM customers c WHERE id >= $1 ORDER BY id', values: [1], binary: true } as { text: string });
  assert.equal(res.rows.length, 3);
  assert.doesNotMatch(JSON.stringify(res.rows), NAMES);
});

c.case('node-postgres binary: a whole row is withheld, the id next to it is intact', async (t) => {
  const client = await t.pg();
  const res = await client.query({ text: 'SELECT id, c FROM customers c WHERE id >= $1 ORDER BY id', values: [1], binary: true } as { text: string });
  assert.deepEqual(res.rows.map((r) => [r.id, r.c]), [
    [1, null],
    [2, null],
    [3, null],
  ]);
});

// ───────────── ErrorResponse and NoticeResponse ─────────────

c.case('raw: a cast error does not echo the e-mail it failed on', async (t) => {
  const msgs = await simpleQuery(t, 'SELECT email::int FROM customers ORDER BY id');
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], '22P02');
  assert.match(e!['M']!, /invalid input syntax for type integer: "\[REDACTED\]"/);
});

c.case('raw: a cast error does not echo a base64 value no detector recognises', async (t) => {
  const msgs = await simpleQuery(t, "SELECT encode(convert_to(email, 'UTF8'), 'base64')::int FROM customers ORDER BY id");
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], '22P02');
  assert.doesNotMatch(e!['M']!, /[A-Za-z0-9+/]{20,}/);
});

c.case('psql: a cast error on a card number shows no card (verbose, every field)', async (t) => {
  const out = await t.psql('SELECT reverse(card)::date FROM customers WHERE card IS NOT NULL;');
  assert.match(out.stderr, /\[REDACTED\]/);
});

c.case('node-postgres: an error echoing a name (no detector) is masked', async (t) => {
  const client = await t.pg();
  await assert.rejects(client.query('SELECT name::int FROM customers ORDER BY id'), (e: Error) => {
    assert.doesNotMatch(e.message, NAMES);
    return true;
  });
});

c.case('extended binary: a cast error in Execute is masked and so is the span error', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'SELECT notes::int FROM customers ORDER BY id'), fe.bind('', '', [], BINARY), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], '22P02');
  const spans = await t.spans();
  const span = spans.find((s) => s.attributes['db.response.status_code'] === '22P02');
  assert.ok(span, 'the failed statement has a span');
  assert.doesNotMatch(JSON.stringify(span), /AKIA|canary/i);
});

c.case('raw: a JSON parse error does not show the value in its detail or context', async (t) => {
  const msgs = await simpleQuery(t, 'SELECT name::json FROM customers ORDER BY id');
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], '22P02');
  assert.doesNotMatch(JSON.stringify(e), NAMES);
});

c.case('raw: a failing row detail (not-null violation) does not list the row', async (t) => {
  const msgs = await simpleQuery(t, 'INSERT INTO customers (id, name, email) SELECT id + 100, NULL, email FROM customers');
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], '23502');
  assert.doesNotMatch(e!['D'] ?? '', /@/);
});

c.case('raw: a message a value built (invalid enum-like input via current_setting) is masked', async (t) => {
  const msgs = await simpleQuery(t, "SELECT current_setting('x.' || name) FROM customers ORDER BY id");
  assert.doesNotMatch(allText(msgs), NAMES);
});

c.case('raw: RAISE NOTICE of an e-mail in a DO block is masked', async (t) => {
  const msgs = await simpleQuery(t, "DO $$ DECLARE e text; BEGIN SELECT encode(convert_to(email, 'UTF8'), 'hex') INTO e FROM customers WHERE id = 1; RAISE NOTICE 'got %', e; END $$");
  const notice = msgs.find((m) => m.type === 'N');
  assert.ok(notice);
  assert.equal(notice.fields!['M'], '[REDACTED]');
});

c.case('psql: RAISE NOTICE with DETAIL and HINT built from a name is masked', async (t) => {
  const out = await t.psql("DO $$ DECLARE n text; BEGIN SELECT name INTO n FROM customers WHERE id = 1; RAISE NOTICE 'hello' USING DETAIL = n, HINT = n; END $$;");
  assert.doesNotMatch(out.stderr, NAMES);
});

c.case('raw: RAISE EXCEPTION carrying a reversed card is masked and the span too', async (t) => {
  const msgs = await simpleQuery(t, "DO $$ DECLARE v text; BEGIN SELECT reverse(card) INTO v FROM customers WHERE id = 1; RAISE EXCEPTION 'v=%', v; END $$");
  const [e] = t.errors(msgs);
  assert.equal(e!['C'], 'P0001');
  assert.equal(e!['M'], '[REDACTED]');
});

c.case('a notice the client itself wrote comes back as written', async (t) => {
  const msgs = await simpleQuery(t, "DO $$ BEGIN RAISE NOTICE 'plain words'; END $$");
  assert.equal(msgs.find((m) => m.type === 'N')?.fields?.['M'], 'plain words');
});

// ───────────── ParameterStatus ─────────────

c.case('raw: set_config(application_name, email) does not echo it in ParameterStatus', async (t) => {
  const msgs = await simpleQuery(t, "SELECT set_config('application_name', email, false) FROM customers WHERE id = 1");
  const status = msgs.filter((m) => m.type === 'S').map((m) => m.body.toString('utf8'));
  assert.ok(status.length > 0, 'the server reported the setting');
  assert.ok(status.every((s) => !s.includes('@')), status.join(' | '));
});

c.case('raw extended: application_name set to a name is not echoed', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', "SELECT set_config('application_name', name, false) FROM customers WHERE id = 1"), fe.bind('', ''), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  assert.doesNotMatch(allText(msgs), NAMES);
});

c.case('raw: SET application_name to a literal the client wrote is reported as written', async (t) => {
  const msgs = await simpleQuery(t, "SET application_name = 'job-42'");
  assert.ok(msgs.some((m) => m.type === 'S' && m.body.toString('utf8').includes('job-42')));
});

c.case('a masked value stored in a setting is masked when read back (SHOW, current_setting)', async (t) => {
  const r = await t.raw();
  r.send(fe.query('SHOW application_name'));
  await r.untilReady();
  r.send(fe.query("SELECT set_config('application_name', name, false) IS NOT NULL FROM customers WHERE id = 1"));
  t.expectOk(await r.untilReady());
  r.send(fe.query('SHOW application_name'), fe.query("SELECT current_setting('application_name')"), fe.query("SELECT setting FROM pg_settings WHERE name = 'application_name'"));
  const msgs = [...(await r.untilReady()), ...(await r.untilReady()), ...(await r.untilReady())];
  t.expectOk(msgs);
  assert.equal(t.rows(msgs).length, 3);
  assert.doesNotMatch(allText(msgs), NAMES);
});

// ───────────── NotificationResponse ─────────────

c.case('raw: pg_notify with an e-mail payload is masked', async (t) => {
  const msgs = await simpleQuery(t, "LISTEN chan; SELECT pg_notify('chan', email) FROM customers WHERE id = 1");
  const n = msgs.find((m) => m.type === 'A');
  assert.ok(n, 'the notification arrived');
  // The body starts with the notifier's process id, whose bytes may be '@'.
  const [channel, payload] = n.body.subarray(4).toString('utf8').split('\0');
  assert.equal(channel, 'chan');
  assert.equal(payload, '[REDACTED]');
});

c.case('node-postgres: a notification carrying base64 of a card is masked', async (t) => {
  const client = await t.pg();
  const got: string[] = [];
  client.on('notification', (n) => got.push(n.payload ?? ''));
  await client.query('LISTEN chan2');
  await client.query("SELECT pg_notify('chan2', encode(convert_to(card, 'UTF8'), 'base64')) FROM customers WHERE id = 1");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(got, ['[REDACTED]']);
});

c.case('raw: a notification from another session carrying a name is masked', async (t) => {
  const r = await t.raw();
  r.send(fe.query('LISTEN chan3'));
  await r.untilReady();
  await t.admin("SELECT pg_notify('chan3', name) FROM customers WHERE id = 1");
  r.send(fe.query('SELECT 1'));
  const msgs = await r.untilReady();
  const n = msgs.find((m) => m.type === 'A');
  assert.ok(n, 'the notification arrived');
  assert.doesNotMatch(n.body.subarray(4).toString('utf8'), NAMES);
});

c.case('raw: NOTIFY with a payload the client wrote arrives as written', async (t) => {
  const msgs = await simpleQuery(t, "LISTEN chan4; NOTIFY chan4, 'build done'");
  assert.ok(msgs.some((m) => m.type === 'A' && m.body.toString('utf8').includes('build done')));
});

// ───────────── FunctionCallResponse ─────────────

c.case('raw: a fast-path function call result (no type, no column) is withheld', async (t) => {
  // A large object holding the masked names, read back with the fast-path lo_get (OID 3458).
  const lo = await t.admin(`SELECT lo_from_bytea(0, convert_to(string_agg(name, ','), 'UTF8'))::int8 AS oid FROM customers`);
  const oid = Number(lo.rows[0].oid);
  try {
    await t.admin(`ALTER LARGE OBJECT ${oid} OWNER TO ${t.h.pg.users.scram.user}`);
    const r = await t.raw();
    // FunctionCall: function OID, one binary argument (the object's OID), result in binary.
    const body = Buffer.alloc(20);
    let at = body.writeUInt32BE(3458, 0);
    at = body.writeInt16BE(1, at);
    at = body.writeInt16BE(1, at);
    at = body.writeInt16BE(1, at);
    at = body.writeInt32BE(4, at);
    at = body.writeUInt32BE(oid, at);
    body.writeInt16BE(1, at);
    r.send(fe.message('F', body));
    const msgs = await r.untilReady();
    const v = msgs.find((m) => m.type === 'V');
    assert.ok(v, `a function result: ${JSON.stringify(msgs.map((m) => m.fields ?? m.type))}`);
    assert.equal(v.body.readInt32BE(0), -1, 'withheld as NULL');
    assert.doesNotMatch(allText(msgs), NAMES);
  } finally {
    await t.admin(`SELECT lo_unlink(${oid})`);
  }
});

// ───────────── COPY TO ─────────────

c.case('psql \\copy of a table with masked columns (text): no masked column in clear', async (t) => {
  const out = await t.psql('\\copy customers TO STDOUT');
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, NAMES);
  assert.equal(out.stdout.trim().split('\n').length, 3, 'one line per row');
});

c.case('psql \\copy (query) CSV with reversed cards: withheld', async (t) => {
  const out = await t.psql('\\copy (SELECT id, reverse(card) FROM customers) TO STDOUT WITH (FORMAT csv)');
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, /\d{13}/);
});

c.case('psql \\copy base64 of e-mails: withheld', async (t) => {
  const out = await t.psql("\\copy (SELECT encode(convert_to(email, 'UTF8'), 'base64') FROM customers) TO STDOUT");
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '[REDACTED]\n'.repeat(3));
});

c.case('COPY text: an e-mail hidden in bytea hex is found and masked', async (t) => {
  const hex = Buffer.from('someone@example.org').toString('hex');
  const out = await t.psql("\\copy (SELECT convert_to('contact someone@example.org', 'UTF8'), 'x') TO STDOUT");
  assert.equal(out.code, 0, out.stderr);
  assert.ok(!out.stdout.includes(hex), out.stdout);
  assert.match(out.stdout, /^\\\\x[0-9a-f]+\tx\n$/, 'still a bytea in hex');
});

/** Parses binary COPY data; throws when the framing is invalid. Returns the tuples. */
function parseBinaryCopy(data: Buffer): (Buffer | null)[][] {
  const sig = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
  assert.ok(data.subarray(0, 11).equals(sig), 'signature');
  let at = 11 + 4;
  at += 4 + data.readUInt32BE(at);
  const tuples: (Buffer | null)[][] = [];
  for (;;) {
    const n = data.readInt16BE(at);
    at += 2;
    if (n === -1) break;
    const row: (Buffer | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = data.readInt32BE(at);
      at += 4;
      if (len === -1) row.push(null);
      else {
        row.push(data.subarray(at, at + len));
        at += len;
      }
    }
    tuples.push(row);
  }
  assert.equal(at, data.length, 'nothing after the trailer');
  return tuples;
}

async function rawCopyOut(t: CaseContext, sql: string): Promise<Buffer> {
  const r = await t.raw();
  r.send(fe.query(sql));
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  return Buffer.concat(msgs.filter((m) => m.type === 'd').map((m) => m.body));
}

c.case('raw binary COPY: a detected value becomes NULL and the framing stays valid', async (t) => {
  const data = await rawCopyOut(t, "COPY (SELECT g, 'mail someone@example.org' FROM generate_series(1, 3) g) TO STDOUT (FORMAT binary)");
  const tuples = parseBinaryCopy(data);
  assert.equal(tuples.length, 3);
  for (const [id, mail] of tuples) {
    assert.equal(id!.length, 4);
    assert.equal(mail, null);
  }
});

c.case('raw binary COPY of customers: every field withheld, framing valid', async (t) => {
  const tuples = parseBinaryCopy(await rawCopyOut(t, 'COPY customers TO STDOUT (FORMAT binary)'));
  assert.equal(tuples.length, 3);
  for (const row of tuples) assert.deepEqual(row, [null, null, null, null, null]);
});

c.case('psql \\copy binary to a file: the server itself loads it back (framing checked by PostgreSQL)', async (t) => {
  const file = `/tmp/sidegate-masking-${randomBytes(4).toString('hex')}.bin`;
  try {
    const out = await t.psql(`\\copy (SELECT g AS id, 'k ' || 'someone@example.org' AS v, g::int8 * 1000 AS n FROM generate_series(1, 50) g) TO '${file}' WITH (FORMAT binary)`);
    assert.equal(out.code, 0, out.stderr);
    const data = await readFile(file);
    t.saw(data);
    assert.equal(parseBinaryCopy(data).length, 50);
    const loaded = await t.admin(
      `CREATE TEMP TABLE IF NOT EXISTS copy_back (id int, v text, n int8); TRUNCATE copy_back; COPY copy_back FROM '${file}' WITH (FORMAT binary); SELECT count(*) AS n, count(v) AS v, sum(n) AS s FROM copy_back;`,
    );
    const last = (Array.isArray(loaded) ? loaded[loaded.length - 1] : loaded) as { rows: { n: string; v: string; s: string }[] };
    assert.deepEqual(last.rows[0], { n: '50', v: '0', s: String(1000 * ((50 * 51) / 2)) });
  } finally {
    await rm(file, { force: true });
  }
});

c.case('COPY of a table without masked columns is unchanged (bulk path)', async (t) => {
  const out = await t.psql('\\copy (SELECT id, status FROM orders ORDER BY id) TO STDOUT');
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.split('\n')[0], '1\tshipped');
  assert.equal(out.stdout.trim().split('\n').length, 20);
});

// ───────────── class 9: a renamed table ─────────────

c.case('blue/green swap through another connection: the new "customers" is masked at once', async (t) => {
  await t.admin(`CREATE TABLE customers_green AS SELECT * FROM customers; ALTER TABLE customers_green OWNER TO ${t.h.pg.users.scram.user}`);
  try {
    const r = await t.raw();
    // The sidecar learns the green table under its old name first.
    r.send(fe.query('SELECT name AS who FROM customers_green ORDER BY id'));
    const before = t.rows(await r.untilReady());
    assert.equal(text(before[0]![0]), 'Ada', 'customers_green has no masked column yet');
    await t.admin('ALTER TABLE customers RENAME TO customers_blue; ALTER TABLE customers_green RENAME TO customers');
    try {
      r.send(fe.query('SELECT name AS who FROM customers ORDER BY id'));
      const after = t.rows(await r.untilReady());
      assert.deepEqual(after.map((row) => text(row[0])), ['[REDACTED]', '[REDACTED]', '[REDACTED]']);
    } finally {
      await t.admin('ALTER TABLE customers RENAME TO customers_green; ALTER TABLE customers_blue RENAME TO customers');
    }
  } finally {
    await t.admin('DROP TABLE IF EXISTS customers_green');
  }
});

c.case('blue/green swap: a prepared statement over the swapped name (node-postgres) is masked', async (t) => {
  await t.admin(`CREATE TABLE customers_green AS SELECT * FROM customers; ALTER TABLE customers_green OWNER TO ${t.h.pg.users.scram.user}`);
  try {
    const client = await t.pg();
    const first = await client.query({ name: 'green', text: 'SELECT name AS who FROM customers_green ORDER BY id' });
    assert.equal(first.rows[0].who, 'Ada');
    await t.admin('ALTER TABLE customers RENAME TO customers_blue; ALTER TABLE customers_green RENAME TO customers');
    try {
      const res = await client.query({ name: 'swapped', text: 'SELECT name AS who FROM customers ORDER BY id' });
      assert.deepEqual(res.rows.map((row) => row.who), ['[REDACTED]', '[REDACTED]', '[REDACTED]']);
    } finally {
      await t.admin('ALTER TABLE customers RENAME TO customers_green; ALTER TABLE customers_blue RENAME TO customers');
    }
  } finally {
    await t.admin('DROP TABLE IF EXISTS customers_green');
  }
});

c.case('a cursor over a table renamed since its name was cached is masked', async (t) => {
  await t.admin(`CREATE TABLE customers_green AS SELECT * FROM customers; ALTER TABLE customers_green OWNER TO ${t.h.pg.users.scram.user}`);
  try {
    const r = await t.raw();
    r.send(fe.query('SELECT name AS who FROM customers_green ORDER BY id'));
    await r.untilReady();
    await t.admin('ALTER TABLE customers RENAME TO customers_blue; ALTER TABLE customers_green RENAME TO customers');
    try {
      r.send(fe.query('BEGIN; DECLARE cur CURSOR FOR SELECT name AS who FROM customers ORDER BY id; FETCH ALL FROM cur; COMMIT'));
      const msgs = await r.untilReady();
      t.expectOk(msgs);
      assert.doesNotMatch(allText(msgs), NAMES);
    } finally {
      await t.admin('ALTER TABLE customers RENAME TO customers_green; ALTER TABLE customers_blue RENAME TO customers');
    }
  } finally {
    await t.admin('DROP TABLE IF EXISTS customers_green');
  }
});

c.case('a rename through sidegate itself: another session sees the new "customers" masked at once', async (t) => {
  await t.admin(`CREATE TABLE customers_green AS SELECT * FROM customers; ALTER TABLE customers_green OWNER TO ${t.h.pg.users.scram.user}`);
  try {
    const reader = await t.raw();
    reader.send(fe.query('SELECT name AS who FROM customers_green ORDER BY id'));
    assert.equal(text(t.rows(await reader.untilReady())[0]![0]), 'Ada');
    const dba = await t.raw();
    dba.send(fe.query('ALTER TABLE customers RENAME TO customers_blue; ALTER TABLE customers_green RENAME TO customers'));
    t.expectOk(await dba.untilReady());
    try {
      reader.send(fe.query('SELECT name AS who FROM customers ORDER BY id'));
      assert.deepEqual(t.rows(await reader.untilReady()).map((r) => text(r[0])), ['[REDACTED]', '[REDACTED]', '[REDACTED]']);
    } finally {
      await t.admin('ALTER TABLE customers RENAME TO customers_green; ALTER TABLE customers_blue RENAME TO customers');
    }
  } finally {
    await t.admin('DROP TABLE IF EXISTS customers_green');
  }
});

c.case('a column swapped by rename (aliased in the query) is still masked', async (t) => {
  const r = await t.raw();
  r.send(fe.query('SELECT notes AS x FROM customers ORDER BY id'));
  await r.untilReady();
  await t.admin('ALTER TABLE customers RENAME COLUMN name TO name_old; ALTER TABLE customers RENAME COLUMN notes TO name; ALTER TABLE customers RENAME COLUMN name_old TO notes');
  try {
    r.send(fe.query('SELECT name AS x FROM customers ORDER BY id'));
    const msgs = await r.untilReady();
    t.expectOk(msgs);
    for (const [v] of t.rows(msgs)) assert.equal(text(v), '[REDACTED]');
  } finally {
    await t.admin('ALTER TABLE customers RENAME COLUMN notes TO name_old; ALTER TABLE customers RENAME COLUMN name TO notes; ALTER TABLE customers RENAME COLUMN name_old TO name');
  }
});

c.case('the canaries themselves never surface through any channel of one long session', async (t) => {
  const r = await t.raw();
  r.send(
    fe.query("LISTEN z; SELECT pg_notify('z', email) FROM customers"),
    fe.query("SELECT set_config('application_name', card, false) FROM customers WHERE card IS NOT NULL"),
    fe.query('SELECT card::int FROM customers'),
  );
  for (let i = 0; i < 3; i++) await r.untilReady();
  assert.ok(!r.bytes().includes(CANARY.emails[0]));
});
