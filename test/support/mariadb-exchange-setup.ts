// What a MariaDB target needs before the token exchange can issue users on it, as
// docs/TOKEN-EXCHANGE.md tells an operator: the exchange's least-privileged admin and a template
// role with a table it may read. One text of SQL (run as root over the server's socket) for the
// integration tests on the test server and the pod test's own server.

export interface ExchangeTargetSetup {
  admin: string;
  adminPassword: string;
  /** The template role: SELECT on `database`.`table` (three rows; created unless there). */
  role: string;
  database: string;
  table: string;
}

export function exchangeTargetSql(s: ExchangeTargetSetup): string {
  return `CREATE DATABASE IF NOT EXISTS ${s.database};
CREATE TABLE IF NOT EXISTS ${s.database}.${s.table} (id int PRIMARY KEY, name text);
INSERT IGNORE INTO ${s.database}.${s.table} VALUES (1, 'a'), (2, 'b'), (3, 'c');
CREATE USER '${s.admin}'@'%' IDENTIFIED BY '${s.adminPassword}';
GRANT CREATE USER, CONNECTION ADMIN ON *.* TO '${s.admin}'@'%';
GRANT SELECT (Host, User) ON mysql.global_priv TO '${s.admin}'@'%';
CREATE ROLE ${s.role};
GRANT SELECT ON ${s.database}.${s.table} TO ${s.role};
GRANT ${s.role} TO '${s.admin}'@'%' WITH ADMIN OPTION;`;
}

/** The users whose names start with `prefix`, as the server lists them. */
export function issuedUsersSql(prefix: string): string {
  return `SELECT User FROM mysql.global_priv WHERE LEFT(User, ${prefix.length}) = '${prefix}' ORDER BY 1`;
}
