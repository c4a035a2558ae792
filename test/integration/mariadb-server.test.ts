// The MariaDB the MySQL-protocol work (issue 14) is tested against, started by
// test/scripts/mariadb.sh: 10.11 on loopback, TLS with the script's CA verified by name, a
// mysql_native_password and an ed25519 login. The clients are the ones the adapter will face:
// the `mariadb` CLI and mysql2 (text protocol and prepared statements).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

interface MariaInfo {
  host: string;
  port: number;
  socket: string;
  database: string;
  caFile: string;
  users: Record<'native' | 'ed25519', { user: string; password: string }>;
}

const info = JSON.parse(readFileSync(`${process.env['SIDEGATE_TEST_RUN'] ?? '/var/tmp/sidegate-test'}/mariadb.json`, 'utf8')) as MariaInfo;
const run = promisify(execFile);

async function cli(who: 'native' | 'ed25519', sql: string, extra: string[] = []): Promise<string> {
  const u = info.users[who];
  const { stdout } = await run('mariadb', [
    '-h', 'localhost', '-P', String(info.port), '--protocol=TCP', '-u', u.user, `-p${u.password}`,
    '--ssl-ca', info.caFile, '--ssl-verify-server-cert', '-N', '-B', ...extra, info.database, '-e', sql,
  ]);
  return stdout.trim();
}

test('the mariadb CLI logs in over verified TLS with mysql_native_password and with ed25519', async () => {
  for (const who of ['native', 'ed25519'] as const) {
    const out = await cli(who, "SELECT VERSION(); SHOW SESSION STATUS LIKE 'Ssl_version'; SELECT COUNT(*) FROM customers");
    const [version, ssl, count] = out.split('\n');
    assert.match(version!, /^10\.11\./, who);
    assert.match(ssl!, /^Ssl_version\tTLSv1\.[23]$/, who);
    assert.equal(count, '3', who);
  }
  // The logins really took the two paths: the server's own record of each user's plugin.
  const { stdout } = await run('mariadb', ['--socket', info.socket, '-u', 'root', '-N', '-B', '-e', "SELECT user, plugin FROM mysql.user WHERE user LIKE 'sidegate_%' ORDER BY user"]);
  assert.deepEqual(stdout.trim().split('\n'), ['sidegate_ed25519\ted25519', 'sidegate_native\tmysql_native_password']);
});

test('a wrong password is refused with 1045 / 28000', async () => {
  await assert.rejects(
    run('mariadb', ['-h', '127.0.0.1', '-P', String(info.port), '--protocol=TCP', '-u', info.users.native.user, '-pwrong', '--ssl-ca', info.caFile, '-e', 'SELECT 1']),
    (err: { stderr?: string }) => /ERROR 1045 \(28000\)/.test(err.stderr ?? ''),
  );
});

test('mysql2 over verified TLS: text protocol, prepared statements with binary rows', async () => {
  const conn = await mysql.createConnection({
    host: 'localhost',
    port: info.port,
    user: info.users.native.user,
    password: info.users.native.password,
    database: info.database,
    ssl: { ca: readFileSync(info.caFile), rejectUnauthorized: true },
  });
  try {
    const [text] = await conn.query('SELECT name FROM customers WHERE id = 2');
    assert.deepEqual(text, [{ name: 'Alan Turing' }]);
    const [prepared] = await conn.execute('SELECT id, email FROM customers WHERE id > ? ORDER BY id', [1]);
    assert.deepEqual(prepared, [
      { id: 2, email: 'alan@example.org' },
      { id: 3, email: 'grace@example.net' },
    ]);
    const [[status]] = (await conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) as unknown as [[{ Value: string }]];
    assert.ok(status.Value.length > 0, 'the session is encrypted');
  } finally {
    await conn.end();
  }
});
