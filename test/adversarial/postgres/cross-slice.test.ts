// Attacks that cross the slices of the corpus: an encoding trick inside the extended protocol, a
// nested write reached through a cursor, a masked value through a held-then-approved read.
import assert from 'node:assert/strict';
import { corpus, fe } from './corpus.js';

const c = corpus('cross-slice');

c.case('SJIS bytes in a Parse of a UTF8 session are refused as invalid UTF-8, nothing runs', async (t) => {
  const r = await t.raw();
  const sql = Buffer.concat([Buffer.from("SELECT id FROM orders WHERE status <> E'"), Buffer.from([0x95, 0x5c]), Buffer.from("'; DELETE FROM orders; --'")]);
  r.send(fe.parse('', sql), fe.bind('', ''), fe.execute(''), fe.sync());
  const msgs = await r.closed();
  assert.ok(t.errors(msgs).some((e) => e['C'] === '22021' || e['C'] === '08P01'), JSON.stringify(t.errors(msgs)));
});

c.case('a DECLARE over a data-modifying CTE is held, and its FETCH is not a way around the hold', async (t) => {
  const r = await t.raw();
  r.send(fe.query('BEGIN'));
  await r.untilReady();
  r.send(fe.query('DECLARE x CURSOR FOR WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d'));
  t.expectHeld(await r.untilReady());
  r.send(fe.query('FETCH ALL FROM x'));
  const msgs = await r.untilReady();
  assert.ok(t.errors(msgs).length > 0, 'FETCH of a cursor that was never declared must fail');
  r.send(fe.query('ROLLBACK'));
  await r.untilReady();
});

c.case('a secret read through query_to_xml in a prepared statement with a parameter is denied', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('q', "SELECT query_to_xml($1, true, false, '')", [25]), fe.bind('', 'q', ['select value from secrets']), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  t.expectDenied(msgs);
});

c.case('an e-mail cast to int in a pipelined extended batch does not come back in the error', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'SELECT id FROM orders LIMIT 1'), fe.bind('', ''), fe.execute(''), fe.parse('', 'SELECT email::int FROM customers'), fe.bind('', ''), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  assert.equal(t.errors(msgs).length, 1);
});

c.case('a U&-escaped pg_read_file in an options-free session is denied', async (t) => {
  const r = await t.raw();
  r.send(fe.query(`SELECT U&"\\0070g_read_file"('/etc/passwd')`));
  t.expectDenied(await r.untilReady());
});

c.case('binary-format whole rows of customers come back without a canary', async (t) => {
  const r = await t.raw();
  r.send(fe.parse('', 'SELECT c FROM customers c'), fe.bind('', '', [], { resultFormats: [1] }), fe.execute(''), fe.sync());
  const msgs = await r.untilReady();
  t.expectOk(msgs);
  assert.equal(t.rows(msgs).length, 3);
});
