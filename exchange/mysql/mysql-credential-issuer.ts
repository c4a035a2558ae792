// Per-exchange MariaDB credentials: a user with a random password, granted the grant's template
// ROLE as its default role (so a plain login has the role's grants), at most
// `maxUserConnections` sessions at once; dropped (and its sessions killed) on revocation or once
// expired.
//
// MariaDB has no VALID UNTIL: the expiry is enforced by the sweeper alone, so a login works until
// the first sweep after its expiry (sweepInterval bounds the overrun; PostgreSQL refuses an
// expired password itself). There is no user COMMENT and CREATE USER is not transactional, so the
// ledger is the user's name (issued-user-name.ts): expiry, owner and issuing span are in it, and
// the server's user list is all a replica, or this one after a crash, needs to sweep.
//
// The password is sent as its mysql_native_password hash (IDENTIFIED BY PASSWORD '*…'), never in
// clear: a statement log, the processlist or a replica sees only the hash. mysql_native_password
// because every MariaDB has it (ed25519 needs a plugin loaded); the hash alone does not log in.
//
// The admin needs CREATE USER, SELECT (Host, User) on mysql.global_priv, each template role WITH
// ADMIN OPTION, and CONNECTION ADMIN (KILL). SET DEFAULT ROLE for another user would need write
// access to the whole mysql database, so the issued user sets its own default role, once, over
// its own TLS connection. Its password file is read on every new connection (a rotated Secret is
// picked up). User names are ours and template names are configuration checked as identifiers;
// all are escaped anyway.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type mysql from 'mysql2/promise';
import type { Logger } from '../../core/logging/logger.js';
import { readSecretFile } from '../../core/config/secret-file.js';
import type { MysqlTargetConfig } from '../config/exchange-config.js';
import { CredentialIssueError, type CredentialIssuer, type DroppedCredential, type IssueRequest, type IssuedCredential, type RevokeResult, type SweepResult } from '../service/credential-issuer.js';
import { issuedUserName, ownerFragment, parseIssuedUserName } from './issued-user-name.js';
import { connectMariaDb, expectedServerName, type MariaDbEndpoint } from './mariadb-connection.js';
import { nativePasswordHash } from './native-password-hash.js';

export interface MysqlIssuerTimeouts {
  connectMs: number;
  statementMs: number;
}

const DEFAULT_TIMEOUTS: MysqlIssuerTimeouts = { connectMs: 5000, statementMs: 10_000 };
const MAX_ADMIN_SECRET_BYTES = 4096;
/** Issued users log in from anywhere the server lets them; the sidecar is wherever its pod runs. */
const USER_HOST = '%';
/** Server errors that mean "could not get through now" rather than "refused": too many connections, shutdown, network, lock waits. */
const TRANSIENT = new Set([1040, 1053, 1152, 1153, 1158, 1159, 1160, 1161, 1203, 1205, 1213, 2002, 2003, 2006, 2013]);
/** The template role does not exist, or the admin may not grant it. */
const BAD_ROLE = new Set([1959, 1227, 1044, 1045, 1698]);

function errorNumber(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown }).errno;
  // mysql2 puts the server's error number there; a socket error's errno is negative.
  return typeof errno === 'number' && errno > 0 && (err as { sqlState?: unknown }).sqlState !== undefined ? errno : undefined;
}

function unreachable(err: unknown): boolean {
  const errno = errorNumber(err);
  return errno === undefined || TRANSIENT.has(errno);
}

/** A failure from the target as a safe message: the error number and our words, never the server's text (it may quote SQL). */
function issueError(err: unknown, what: string, step?: 'role'): CredentialIssueError {
  const errno = errorNumber(err);
  if (step === 'role' && errno !== undefined && BAD_ROLE.has(errno)) {
    return new CredentialIssueError(`${what}: the template role does not exist on the target or the admin may not grant it (${errno})`, false);
  }
  const code = errno !== undefined ? ` (${errno})` : '';
  return new CredentialIssueError(`${what}: the target ${unreachable(err) ? 'could not be reached' : 'refused'}${code}`, unreachable(err));
}

export class MysqlCredentialIssuer implements CredentialIssuer {
  readonly protocol = 'mysql' as const;
  readonly target: string;
  private readonly endpoint: MariaDbEndpoint;

  private constructor(
    private readonly config: MysqlTargetConfig,
    ca: string | undefined,
    private readonly log: Logger,
    private readonly timeouts: MysqlIssuerTimeouts,
  ) {
    this.target = config.name;
    this.endpoint = { host: config.host, port: config.port, connectTimeoutMs: timeouts.connectMs, ...(config.tls.serverName ? { serverName: config.tls.serverName } : {}), ...(ca !== undefined ? { ca } : {}) };
  }

  static async open(config: MysqlTargetConfig, log: Logger, timeouts: Partial<MysqlIssuerTimeouts> = {}): Promise<MysqlCredentialIssuer> {
    try {
      expectedServerName({ host: config.host, ...(config.tls.serverName ? { serverName: config.tls.serverName } : {}) });
    } catch (err) {
      throw new Error(`target ${config.name}: ${(err as Error).message}`);
    }
    const ca = config.tls.caFile !== undefined ? await readFile(config.tls.caFile, 'utf8') : undefined;
    return new MysqlCredentialIssuer(config, ca, log, { ...DEFAULT_TIMEOUTS, ...timeouts });
  }

  /** The admin's connection, for `what` (the words of a failure: the target could not be reached). */
  private async admin(what: string): Promise<mysql.Connection> {
    try {
      const password = await readSecretFile(this.config.admin.passwordFile, MAX_ADMIN_SECRET_BYTES, (m) => new Error(`admin password file ${m}`));
      return await connectMariaDb(this.endpoint, { user: this.config.admin.username, password });
    } catch (err) {
      throw issueError(err, what);
    }
  }

  private query(conn: mysql.Connection, sql: string, values: unknown[] = []) {
    return conn.query({ sql, values, timeout: this.timeouts.statementMs });
  }

  async issue(request: IssueRequest): Promise<IssuedCredential> {
    const username = issuedUserName(this.config.userPrefix, request.nowMs + request.ttlMs, request.owner, request.issuedBy);
    const expiresAt = new Date(parseIssuedUserName(username, this.config.userPrefix)!.expiresAtMs).toISOString();
    const password = randomBytes(32).toString('base64url');
    const role = `\`${request.role}\``;
    const conn = await this.admin('creating the credential');
    let created = false;
    try {
      // Not IF NOT EXISTS: a name that exists already (never ours to reuse) is an error.
      await this.query(conn, `CREATE USER ?@? IDENTIFIED BY PASSWORD ? WITH MAX_USER_CONNECTIONS ${this.config.maxUserConnections}`, [username, USER_HOST, nativePasswordHash(password)]);
      created = true;
      await this.query(conn, `GRANT ${role} TO ?@?`, [username, USER_HOST]).catch((err: unknown) => {
        throw issueError(err, 'creating the credential', 'role');
      });
      const own = await connectMariaDb(this.endpoint, { user: username, password });
      try {
        await this.query(own, `SET DEFAULT ROLE ${role}`);
      } finally {
        own.destroy();
      }
    } catch (err) {
      // Undone now if the target lets us; otherwise its name says when the sweeper drops it.
      if (created) await this.dropUser(conn, username).catch(() => undefined);
      conn.destroy();
      throw err instanceof CredentialIssueError ? err : issueError(err, 'creating the credential');
    }
    await conn.end().catch(() => conn.destroy());
    return { username, password, expiresAt };
  }

  async revoke(username: string, owner: string): Promise<RevokeResult> {
    const parsed = parseIssuedUserName(username, this.config.userPrefix);
    if (parsed === undefined) return { result: 'unknown' };
    const issuedBy = parsed.issuedBy ? { issuedBy: parsed.issuedBy } : {};
    const conn = await this.admin('revoking the credential');
    try {
      const [rows] = await this.query(conn, 'SELECT 1 FROM mysql.global_priv WHERE Host = ? AND User = ?', [USER_HOST, username]);
      if ((rows as unknown[]).length === 0) return { result: 'unknown' };
      if (parsed.ownerFragment !== ownerFragment(owner)) return { result: 'not-owner', ...issuedBy };
      return { result: (await this.dropUser(conn, username)) ? 'revoked' : 'unknown', ...issuedBy };
    } catch (err) {
      throw issueError(err, 'revoking the credential');
    } finally {
      conn.destroy();
    }
  }

  async sweep(nowMs: number): Promise<SweepResult> {
    const result: SweepResult = { dropped: [], failed: 0 };
    const conn = await this.admin('listing issued credentials');
    try {
      // No lock between replicas: any user may take any GET_LOCK name, and a sweep that waited on
      // one could be stopped by the very login it must end. Replicas sweeping at once are harmless
      // (DROP USER IF EXISTS; only the one that dropped a user records it).
      const prefix = this.config.userPrefix;
      const [rows] = await this.query(conn, 'SELECT User AS user FROM mysql.global_priv WHERE Host = ? AND LEFT(User, ?) = ?', [USER_HOST, prefix.length, prefix]);
      for (const { user } of rows as { user: string }[]) {
        const parsed = parseIssuedUserName(user, prefix);
        if (parsed === undefined || parsed.expiresAtMs > nowMs) continue;
        try {
          if (await this.dropUser(conn, user)) result.dropped.push({ username: user, ...(parsed.issuedBy ? { issuedBy: parsed.issuedBy } : {}) } satisfies DroppedCredential);
        } catch (err) {
          result.failed += 1;
          this.log.warn('token exchange: an expired credential could not be dropped yet', { target: this.target, role: user, reason: issueError(err, 'dropping').message });
        }
      }
    } catch (err) {
      throw issueError(err, 'listing issued credentials');
    } finally {
      conn.destroy();
    }
    return result;
  }

  /**
   * Drops the user, then ends its sessions (DROP USER leaves them running; once it is gone none
   * can start). True when it existed: another replica or a revocation may have dropped it first.
   */
  private async dropUser(conn: mysql.Connection, username: string): Promise<boolean> {
    const [dropped] = await this.query(conn, 'DROP USER IF EXISTS ?@?', [username, USER_HOST]);
    await this.query(conn, 'KILL CONNECTION USER ?', [username]);
    return (dropped as mysql.ResultSetHeader).warningStatus === 0;
  }

  async close(): Promise<void> {
    // Nothing kept open: every operation has its own connection.
  }
}
