// MySQL corpus, class 7: server files. SELECT … INTO OUTFILE / DUMPFILE and LOAD DATA INFILE
// read or write files on the database server; LOAD_FILE() reads one; LOAD DATA LOCAL INFILE
// makes the server ask the *client* for a file, which through a proxy means the runner's disk.
// All are server-file kinds no read rule matches; the local-file request must never reach the
// client (sidegate does not offer CLIENT_LOCAL_FILES upstream and refuses the statement).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { corpus, describeReply } from './corpus.js';
import { CLIENT, DEFAULT_CAPABILITIES } from '../../support/mysql-raw-client.js';

const c = corpus('server_files');

const outFile = () => `/tmp/sidegate-corpus-${randomBytes(6).toString('hex')}.txt`;

for (const [what, sql] of [
  ['SELECT … INTO OUTFILE', 'SELECT id, state FROM orders INTO OUTFILE %PATH%'],
  ['SELECT … INTO DUMPFILE of a masked column', 'SELECT nickname FROM customers WHERE id = 1 INTO DUMPFILE %PATH%'],
  ['INTO OUTFILE before FROM', 'SELECT id INTO OUTFILE %PATH% FROM orders'],
  ['INTO OUTFILE after a harmless SELECT in one packet', 'SELECT 1; SELECT id FROM orders INTO OUTFILE %PATH%'],
  ['INTO OUTFILE with odd case and comments', 'select id from orders into/**/outfile %PATH%'],
  ['INTO OUTFILE in an executable comment', 'SELECT id FROM orders /*!50000 INTO OUTFILE %PATH% */'],
  ['INTO OUTFILE through a UNION', 'SELECT 1 UNION SELECT 2 INTO OUTFILE %PATH%'],
  ['INTO OUTFILE through EXECUTE IMMEDIATE', "EXECUTE IMMEDIATE 'SELECT 1 INTO OUTFILE ''%BARE%'''"],
] as const) {
  c.case(`${what} is refused and no file appears`, async (t) => {
    const file = outFile();
    t.expectDenied(await t.once(sql.replace('%BARE%', file).replace('%PATH%', `'${file}'`)));
    assert.equal(existsSync(file), false, `${file} was written`);
  });
}

for (const [what, sql] of [
  ["LOAD_FILE('/etc/passwd')", "SELECT LOAD_FILE('/etc/passwd') AS f"],
  ['LOAD_FILE with a computed path', "SELECT LOAD_FILE(CONCAT('/etc/', 'passwd')) AS f"],
  ['load_file in lower case with a space before the parenthesis', "SELECT load_file ('/etc/passwd') AS f"],
  ['LOAD_FILE as a backquoted name (still the built-in)', "SELECT `LOAD_FILE`('/etc/passwd') AS f"],
  ['LOAD_FILE in a WHERE clause', "SELECT id FROM orders WHERE LOAD_FILE('/etc/passwd') IS NOT NULL"],
  ['LOAD_FILE in an executable comment', "SELECT /*! LOAD_FILE('/etc/passwd') */ AS f"],
  ['LOAD_FILE in a subquery', "SELECT (SELECT LOAD_FILE('/etc/passwd')) AS f"],
  ['LOAD_FILE in a prepared statement', "PREPARE s FROM 'SELECT LOAD_FILE(''/etc/passwd'')'"],
  ['LOAD DATA INFILE', "LOAD DATA INFILE '/etc/passwd' INTO TABLE notes_copy (v)"],
  ['LOAD DATA INFILE (LOW_PRIORITY, REPLACE)', "LOAD DATA LOW_PRIORITY INFILE '/etc/passwd' REPLACE INTO TABLE notes_copy (v)"],
  ['LOAD XML INFILE', "LOAD XML INFILE '/etc/passwd' INTO TABLE notes_copy"],
] as const) {
  c.case(`${what} is refused`, async (t) => {
    t.expectDenied(await t.once(sql));
  });
}

c.case('LOAD_FILE through a prepared statement (COM_STMT_PREPARE) is denied at prepare', async (t) => {
  const r = await t.raw();
  t.expectDenied((await r.prepare("SELECT LOAD_FILE('/etc/passwd')")).error);
});

// ───────────── LOAD DATA LOCAL INFILE: the request must never reach the client ─────────────

for (const [what, sql] of [
  ['LOAD DATA LOCAL INFILE', "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE notes_copy (v)"],
  ['LOAD DATA LOCAL INFILE in lower case with comments', "load/**/data local infile '/etc/hostname' into table notes_copy (v)"],
  ['LOAD DATA LOCAL in an executable comment', "/*!LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE notes_copy (v) */"],
  ['LOAD XML LOCAL INFILE', "LOAD XML LOCAL INFILE '/etc/passwd' INTO TABLE notes_copy"],
  ['LOAD DATA LOCAL after a SELECT in one packet', "SELECT 1; LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE notes_copy (v)"],
  ['LOAD DATA LOCAL through EXECUTE IMMEDIATE', "EXECUTE IMMEDIATE 'LOAD DATA LOCAL INFILE ''/etc/passwd'' INTO TABLE notes_copy (v)'"],
] as const) {
  c.case(`${what} from a client offering CLIENT_LOCAL_FILES: refused, no file request reaches it`, async (t) => {
    const r = await t.raw({ capabilities: DEFAULT_CAPABILITIES | CLIENT.LOCAL_FILES });
    const got = await r.query(sql);
    assert.equal(got.localInfile, undefined, `the client was asked for ${got.localInfile}`);
    assert.ok(got.error, describeReply(got));
    assert.match(got.error.message, /^sidegate/, describeReply(got));
    // The connection is still usable: no half-answered file exchange.
    assert.equal((await r.query('SELECT 1')).error, undefined);
  });
}

c.case('mysql2 with an infile stream factory: LOAD DATA LOCAL never asks it for a file', async (t) => {
  let asked = '';
  const conn = await t.mysql({
    flags: ['+LOCAL_FILES'],
    infileStreamFactory: (path: string) => {
      asked = path;
      throw new Error('the runner was asked for a file');
    },
  });
  await assert.rejects(conn.query("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE notes_copy (v)"), (e: unknown) => {
    t.expectDenied(e, 'mysql-local-infile');
    return true;
  });
  assert.equal(asked, '', `the client was asked for ${asked}`);
});
