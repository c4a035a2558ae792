// Real clients see the same thing through sidegate as straight from MariaDB 10.11: the same rows,
// column definitions, OK packets and errors (number, SQLSTATE, text), for mysql2's text protocol,
// its prepared statements (binary rows of every common type), multi-statements, transactions, ping
// and USE, and for the `mariadb` CLI running a script. The policy allows everything CI sends and
// lets unparsable statements reach the server, so any difference is the adapter's. Two things
// differ on purpose: COM_CHANGE_USER is refused, and the login is the target's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import { startHarness, basePolicy, run, type Harness } from '../support/sidegate-harness.js';
import { IT_DATABASE, connectDirect, connectVia, createItDatabase, itTarget, outcome, plainResult, rootSql, type Outcome } from '../support/mariadb-side-by-side.js';

let h: Harness;

before(async () => {
  h = await startHarness({
    policy: (env) =>
      basePolicy(env, {
        defaults: '  unparsable: evaluate\n',
        rules: `  - name: ci-everything
    identities: [ci]
    action: allow`,
      }).replace('targets:\n', `targets:\n${itTarget(env.maria)}`),
  });
  await createItDatabase(h.maria);
  await rootSql(
    h.maria,
    `USE ${IT_DATABASE};
     DROP TABLE IF EXISTS parity_types, parity_tx;
     CREATE TABLE parity_types (
       id INT PRIMARY KEY, i INT, u BIGINT UNSIGNED, d DECIMAL(20,6), f DOUBLE, dt DATE, ts DATETIME(6), t TIME,
       v VARCHAR(50), tx TEXT, b BLOB, j JSON, e ENUM('red','green','blue'));
     INSERT INTO parity_types VALUES
       (1, -2147483648, 18446744073709551615, -12345678901234.123456, 3.141592653589793, '2024-02-29', '2024-02-29 23:59:59.123456', '-838:59:59',
        'Grüße, 世界', REPEAT('long text ', 50), X'00FF10', '{"k": [1, 2.5, "x"], "n": null}', 'green'),
       (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       (3, 2147483647, 0, 0.000001, -1e-300, '1000-01-01', '1970-01-01 00:00:00.000000', '00:00:00.5', '', '', X'', '[]', 'red');
     CREATE TABLE parity_tx (id INT PRIMARY KEY, side VARCHAR(10));`,
  );
});

after(async () => {
  await h?.close();
});

/** Runs `work` on a direct connection and on one through sidegate, with the same options. */
async function sideBySide<T>(work: (c: mysql.Connection, side: 'direct' | 'via') => Promise<T>, opts: mysql.ConnectionOptions = {}): Promise<{ direct: Outcome<T>; via: Outcome<T> }> {
  const direct = await connectDirect(h.maria, opts);
  const via = await connectVia(h, opts);
  try {
    return { direct: await outcome(work(direct, 'direct')), via: await outcome(work(via, 'via')) };
  } finally {
    await direct.end();
    await via.end();
  }
}

const exact: mysql.ConnectionOptions = { dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, jsonStrings: true };
/** mysql2's defaults, but JSON read as text: how JSON columns are typed is a test of its own below. */
const defaults: mysql.ConnectionOptions = { jsonStrings: true };

/**
 * sidegate does not offer CLIENT_SESSION_TRACK (server-handshake.ts): OK packets carry no state
 * changes and no SESSION_STATE_CHANGED flag. What an application reads is the rest.
 */
function withoutSessionTracking(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSessionTracking);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'stateChanges') continue;
      out[k] = k === 'serverStatus' && typeof v === 'number' ? v & ~0x4000 : withoutSessionTracking(v);
    }
    return out;
  }
  return value;
}

test('text protocol: every column type, NULLs and column definitions as MariaDB sends them', async () => {
  for (const opts of [defaults, exact]) {
    const { direct, via } = await sideBySide(async (c) => plainResult(await c.query('SELECT * FROM parity_types ORDER BY id')), opts);
    assert.ok('ok' in direct, JSON.stringify(direct));
    assert.deepEqual(via, direct);
  }
  // Not vacuous: the values that are hardest to carry are really there.
  const { via } = await sideBySide(async (c) => (await c.query('SELECT * FROM parity_types ORDER BY id'))[0] as Record<string, unknown>[], exact);
  assert.ok('ok' in via);
  const [first, nulls] = via.ok;
  assert.equal(first!['u'], '18446744073709551615');
  assert.equal(first!['ts'], '2024-02-29 23:59:59.123456');
  assert.equal(first!['t'], '-838:59:59');
  assert.equal(first!['v'], 'Grüße, 世界');
  assert.deepEqual(first!['b'], Buffer.from([0x00, 0xff, 0x10]));
  assert.equal(Object.values(nulls!).filter((v) => v === null).length, 12);
});

test('prepared statements: binary rows of every column type, and typed parameters', async () => {
  for (const opts of [defaults, exact]) {
    const { direct, via } = await sideBySide(async (c) => plainResult(await c.execute('SELECT * FROM parity_types WHERE id >= ? ORDER BY id', [1])), opts);
    assert.ok('ok' in direct, JSON.stringify(direct));
    assert.deepEqual(via, direct);
  }
  const params = [42, -7.25, 'text ünïcode', null, Buffer.from([1, 2, 3]), new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 678)), true, '18446744073709551615'];
  const { direct, via } = await sideBySide(async (c) => plainResult(await c.execute('SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f, ? AS g, ? + 0 AS h', params)), exact);
  assert.ok('ok' in direct, JSON.stringify(direct));
  assert.deepEqual(via, direct);
  const { via: binary } = await sideBySide(async (c) => (await c.execute('SELECT u, ts, t, j FROM parity_types WHERE id = ?', [1]))[0] as Record<string, unknown>[], exact);
  assert.ok('ok' in binary);
  assert.deepEqual(binary.ok[0], { u: '18446744073709551615', ts: '2024-02-29 23:59:59.123456', t: '-838:59:59', j: '{"k": [1, 2.5, "x"], "n": null}' });
});

test('multi-statements: every result set and OK in order, and an error part-way stops the rest', async () => {
  const multi = { multipleStatements: true };
  const sql = "SELECT 1 AS one; SELECT v, e FROM parity_types WHERE id = 1; DO 1; SET @x = 5; SELECT @x AS x, 'two' AS two";
  const { direct, via } = await sideBySide(async (c) => plainResult(await c.query(sql)), multi);
  assert.ok('ok' in direct, JSON.stringify(direct));
  assert.equal(((direct.ok as { rows: unknown[] }).rows).length, 5);
  assert.deepEqual(via, direct);
  // The second statement fails at the server: the client gets its error, the third never runs.
  const failing = await sideBySide(async (c) => {
    const error = await outcome(c.query('SET @after = 0; SELECT nosuchcolumn FROM parity_types; SET @after = 1'));
    const [rows] = await c.query('SELECT @after AS after');
    return { error, rows };
  }, multi);
  assert.ok('ok' in failing.direct && 'error' in failing.direct.ok.error, JSON.stringify(failing.direct));
  assert.equal(failing.direct.ok.error.error.errno, 1054);
  assert.deepEqual(failing.via, failing.direct);
});

test('errors: a syntax error and a duplicate key, from the text protocol and from prepared statements', async () => {
  const { direct, via } = await sideBySide(async (c) => {
    await c.query('CREATE TEMPORARY TABLE dup (id INT PRIMARY KEY, v VARCHAR(10))');
    await c.query("INSERT INTO dup VALUES (1, 'a')");
    return {
      syntax: await outcome(c.query('SELEC 1 FROM parity_types')),
      syntaxPrepared: await outcome(c.execute('SELEC ? FROM parity_types', [1])),
      duplicate: await outcome(c.query("INSERT INTO dup VALUES (1, 'b')")),
      duplicatePrepared: await outcome(c.execute('INSERT INTO dup VALUES (?, ?)', [1, 'c'])),
      // The connection is still usable after each of them.
      after: (await c.query('SELECT COUNT(*) AS n FROM dup'))[0],
    };
  });
  assert.ok('ok' in direct);
  assert.deepEqual(direct.ok.syntax, {
    error: {
      errno: 1064,
      sqlState: '42000',
      code: 'ER_PARSE_ERROR',
      sqlMessage: "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEC 1 FROM parity_types' at line 1",
    },
  });
  assert.deepEqual(direct.ok.duplicate, { error: { errno: 1062, sqlState: '23000', code: 'ER_DUP_ENTRY', sqlMessage: "Duplicate entry '1' for key 'PRIMARY'" } });
  assert.deepEqual(via, direct);
});

test('a transaction: BEGIN, ROLLBACK discards, COMMIT keeps; the OK packets and status flags match', async () => {
  const { direct, via } = await sideBySide(async (c, side) => {
    const id = side === 'direct' ? 10 : 20;
    const steps: unknown[] = [];
    for (const sql of ['BEGIN', `INSERT INTO parity_tx VALUES (${id}, '${side}')`, 'ROLLBACK', 'START TRANSACTION', `INSERT INTO parity_tx VALUES (${id + 1}, '${side}')`, 'COMMIT']) {
      steps.push(plainResult(await c.query(sql)));
    }
    return steps;
  });
  assert.ok('ok' in direct, JSON.stringify(direct));
  assert.deepEqual(via, direct);
  // What each side really left behind, read by root: the rolled-back rows are absent.
  assert.equal(await rootSql(h.maria, `SELECT id, side FROM ${IT_DATABASE}.parity_tx ORDER BY id`), '11\tdirect\n21\tvia');
});

test('COM_PING answers, and the connection stays usable', async () => {
  const { direct, via } = await sideBySide(async (c) => {
    await c.ping();
    await c.ping();
    return (await c.query('SELECT 7 AS seven'))[0];
  });
  assert.deepEqual(direct, { ok: [{ seven: 7 }] });
  assert.deepEqual(via, direct);
});

test('USE switches the database as it does directly', async () => {
  const { direct, via } = await sideBySide(async (c) => {
    const use = plainResult(await c.query(`USE ${h.maria.database}`));
    const [rows] = await c.query('SELECT DATABASE() AS db, COUNT(*) AS n FROM customers');
    const back = plainResult(await c.query(`USE ${IT_DATABASE}`));
    const [again] = await c.query('SELECT DATABASE() AS db');
    return withoutSessionTracking({ use, rows, back, again }) as { rows: unknown };
  });
  assert.ok('ok' in direct, JSON.stringify(direct));
  assert.deepEqual(direct.ok.rows, [{ db: h.maria.database, n: 3 }]);
  assert.deepEqual(via, direct);
});

test('changeUser (COM_CHANGE_USER) is refused; the session keeps its login and stays usable', async () => {
  const c = await connectVia(h);
  try {
    const [[before]] = (await c.query('SELECT CURRENT_USER() AS u')) as unknown as [[{ u: string }]];
    assert.equal(before.u, `${h.maria.users.native.user}@%`);
    const refused = await outcome(c.changeUser({ user: h.maria.users.ed25519.user, password: h.maria.users.ed25519.password }));
    assert.ok('error' in refused, 'COM_CHANGE_USER must not succeed through sidegate');
    assert.equal(refused.error.errno, 1047);
    assert.equal(refused.error.sqlState, '08S01');
    assert.match(refused.error.sqlMessage ?? '', /COM_CHANGE_USER/);
    const [[after]] = (await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS db')) as unknown as [[{ u: string; db: string }]];
    assert.deepEqual({ ...after }, { u: `${h.maria.users.native.user}@%`, db: IT_DATABASE });
  } finally {
    c.destroy();
  }
});

// A script with temporary tables (each side its own), the client's `use` (COM_INIT_DB), a
// duplicate key on line 7 and statements after it.
const SCRIPT = `CREATE TEMPORARY TABLE cli_t (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(6,2), at DATETIME);
INSERT INTO cli_t VALUES (1, 'one', 1.5, '2024-01-02 03:04:05'), (2, NULL, -0.25, NULL);
SELECT * FROM cli_t ORDER BY id;
use sidegate_test;
SELECT DATABASE(), COUNT(*) FROM customers;
SELECT 'tab\\there', 'new\\nline', NULL;
INSERT INTO ${IT_DATABASE}.cli_t VALUES (1, 'dup', 0, NULL);
SELECT 'after the error';
SELECT SUM(d) FROM ${IT_DATABASE}.cli_t;
`;

async function cliSideBySide(extra: string[]): Promise<{ direct: Awaited<ReturnType<typeof run>>; via: Awaited<ReturnType<typeof run>> }> {
  const m = h.maria;
  const direct = await run(
    'mariadb',
    ['-h', 'localhost', '-P', String(m.port), '--protocol=TCP', '-u', m.users.native.user, `-p${m.users.native.password}`, '--ssl-ca', m.caFile, '--ssl-verify-server-cert', ...extra, IT_DATABASE],
    {},
    SCRIPT,
  );
  const via = await run('mariadb', ['-h', '127.0.0.1', '-P', String(h.myPort), '--protocol=TCP', '-u', 'ci', `-p${await h.token()}`, ...extra, IT_DATABASE], {}, SCRIPT);
  return { direct, via };
}

test('the mariadb CLI runs a script with a failing statement exactly as it does directly', async () => {
  // Batch mode stops at the error; --force goes on; -t and -vvv change the output's form.
  for (const extra of [[], ['--force'], ['-t', '--force'], ['-vvv', '--force']]) {
    const { direct, via } = await cliSideBySide(extra);
    if (!extra.includes('--force')) assert.equal(direct.code, 1, direct.stderr);
    assert.match(direct.stderr, /ERROR 1062 \(23000\) at line 7: Duplicate entry '1' for key 'PRIMARY'/);
    // -vvv prints timings ("(0.001 sec)"): the only part that is the connection's own.
    const norm = (s: string) => s.replace(/\(\d+\.\d+ sec\)/g, '(T sec)');
    assert.equal(norm(via.stdout), norm(direct.stdout), `stdout with ${extra.join(' ')}`);
    assert.equal(via.stderr, direct.stderr, `stderr with ${extra.join(' ')}`);
    assert.equal(via.code, direct.code);
    if (extra.includes('--force')) assert.match(direct.stdout, /after the error/);
    else assert.doesNotMatch(direct.stdout, /after the error/);
  }
});

test('JSON columns: mysql2 reads them as JSON, as it does straight from MariaDB', async () => {
  const { direct, via } = await sideBySide(async (c) => {
    const [rows, fields] = await c.query('SELECT j FROM parity_types WHERE id = 1');
    const f = fields[0] as unknown as { extendedFormat?: string };
    return { rows, extendedFormat: f.extendedFormat };
  });
  // MariaDB marks a JSON column in its extended column metadata (MARIADB_CLIENT_EXTENDED_METADATA).
  assert.deepEqual(direct, { ok: { rows: [{ j: { k: [1, 2.5, 'x'], n: null } }], extendedFormat: 'json' } });
  assert.deepEqual(via, direct);
});
