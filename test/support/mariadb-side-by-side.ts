// What the MySQL integration tests need besides sidegate: the same statements sent straight to the
// test MariaDB (verified TLS, the native login) and through sidegate, and a database of their own
// (`sidegate_it`) so their tables never touch `sidegate_test`, which the adversarial corpus
// checksums. Also the broker's record of any approval, whatever its status.
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { mysqlTarget, type Harness, type MariaInfo } from './sidegate-harness.js';

const exec = promisify(execFile);

/** The integration tests' own database, created by root and granted to the target's logins. */
export const IT_DATABASE = 'sidegate_it';

/** SQL as MariaDB's root over the unix socket: the tests' view of what really happened. */
export async function rootSql(maria: MariaInfo, sql: string): Promise<string> {
  const { stdout } = await exec('mariadb', [`--socket=${maria.socket}`, '-uroot', '--default-character-set=utf8mb4', '-N', '-B', '-e', sql], { maxBuffer: 16 << 20 });
  return stdout.replace(/\n$/, '');
}

export async function createItDatabase(maria: MariaInfo): Promise<void> {
  await rootSql(
    maria,
    `CREATE DATABASE IF NOT EXISTS ${IT_DATABASE} CHARACTER SET utf8mb4;
     ALTER DATABASE ${IT_DATABASE} CHARACTER SET utf8mb4;
     GRANT ALL ON ${IT_DATABASE}.* TO ${maria.users.native.user}@'%', ${maria.users.ed25519.user}@'%'`,
  );
}

/** Target `my`, as the harness writes it, but on the tests' own database. */
export function itTarget(maria: MariaInfo): string {
  const target = mysqlTarget(maria);
  const replaced = target.replace(`database: ${maria.database}\n`, `database: ${IT_DATABASE}\n`);
  if (replaced === target) throw new Error('mysqlTarget no longer names a database: update itTarget');
  return replaced;
}

/** mysql2 straight to MariaDB as the native login, TLS verified as sidegate's upstream leg is. */
export async function connectDirect(maria: MariaInfo, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: 'localhost',
    port: maria.port,
    user: maria.users.native.user,
    password: maria.users.native.password,
    database: IT_DATABASE,
    ssl: { ca: await readFile(maria.caFile), rejectUnauthorized: true },
    ...extra,
  });
}

/** mysql2 through sidegate's listener for target `my`, the CI token as the password. */
export async function connectVia(h: Harness, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: h.myPort!,
    user: 'ci',
    password: await h.token(),
    database: IT_DATABASE,
    // mysql2 answers mysql_clear_password only when told to (as for RDS IAM logins).
    enableCleartextPlugin: true,
    ...extra,
  });
}

/** What a client call ended with: its value, or the MySQL error it raised (number, SQLSTATE, text). */
export type Outcome<T> = { ok: T } | { error: { errno?: number; sqlState?: string; sqlMessage?: string; code?: string } };

export async function outcome<T>(work: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await work };
  } catch (err) {
    const e = err as { errno?: number; sqlState?: string; sqlMessage?: string; code?: string; message?: string };
    if (e.errno === undefined && e.sqlState === undefined) throw err;
    return { error: { errno: e.errno, sqlState: e.sqlState, sqlMessage: e.sqlMessage, code: e.code } };
  }
}

/** A column definition as plain data: mysql2's FieldPacket keeps the raw packet buffer inside. */
export function plainField(f: mysql.FieldPacket): Record<string, unknown> {
  return {
    name: f.name,
    orgName: f.orgName,
    table: f.table,
    orgTable: f.orgTable,
    db: f.db,
    columnType: f.columnType,
    type: f.type,
    flags: f.flags,
    characterSet: f.characterSet,
    columnLength: f.columnLength,
    decimals: f.decimals,
    encoding: f.encoding,
  };
}

/** mysql2's [rows, fields] (or list of them for multi-statements) as plain, comparable data. */
export function plainResult(result: [unknown, mysql.FieldPacket[] | mysql.FieldPacket[][] | undefined]): unknown {
  const [rows, fields] = result;
  const plainFields = (fs: unknown): unknown => (Array.isArray(fs) ? fs.map((f) => (Array.isArray(f) ? plainFields(f) : f ? plainField(f as mysql.FieldPacket) : f)) : fs);
  const plainRows = (r: unknown): unknown => (Array.isArray(r) ? r.map(plainRows) : r && typeof r === 'object' && r.constructor?.name === 'ResultSetHeader' ? { ...r } : r);
  return { rows: plainRows(rows), fields: plainFields(fields) };
}

/** An approval as the broker holds it: the embedded broker's admin API, any status. */
export interface ApprovalRecord {
  id: string;
  status: string;
  command: string;
  rule: string;
  parameters?: { position: number; format: string; typeOid: number; value: string | null; bytes: number }[];
  decidedBy?: string;
  consumedAt?: string;
}

export async function approvalRecord(h: Harness, id: string): Promise<ApprovalRecord> {
  const broker = h.sidecar.broker!;
  const token = (await readFile(broker.adminTokenFile, 'utf8')).trim();
  const res = await fetch(`${broker.url}/v1/approvals/${id}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`approval ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ApprovalRecord;
}

/** Polls the pending approvals until one matches. */
/** A promise's state without waiting for it: whether the client has seen anything yet. */
export function settledFlag(p: Promise<unknown>): () => boolean {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return () => settled;
}
