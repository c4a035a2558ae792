// Per-exchange PostgreSQL credentials: a LOGIN role with VALID UNTIL, a member of the grant's
// template role, created with its ledger marker (role-marker.ts) in one transaction; dropped on
// revocation or once expired (backends terminated, owned objects reassigned to the template).
//
// The admin login is the only long-lived secret: its password file is read on every new admin
// connection (a rotated Secret is picked up) and it travels only over verify-full TLS. Role names
// are ours (prefix + random hex) and template names are configuration checked as identifiers; all
// are quoted anyway. The password is sent as its SCRAM verifier, never in clear.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { Logger } from '../../core/logging/logger.js';
import { readSecretFile } from '../../core/config/secret-file.js';
import type { PostgresTargetConfig } from '../config/exchange-config.js';
import { CredentialIssueError, type CredentialIssuer, type IssueRequest, type IssuedCredential, type RevokeResult, type SweepResult } from '../service/credential-issuer.js';
import { encodeRoleMarker, parseRoleMarker } from './role-marker.js';
import { scramSha256Verifier } from './scram-verifier.js';

export interface PostgresIssuerTimeouts {
  connectMs: number;
  statementMs: number;
  /** How long a revocation waits for each of the role's backends to end. */
  terminateMs: number;
}

const DEFAULT_TIMEOUTS: PostgresIssuerTimeouts = { connectMs: 5000, statementMs: 10_000, terminateMs: 5000 };
const MAX_ADMIN_SECRET_BYTES = 4096;
const UNDEFINED_OBJECT = '42704';
const LOCK_NOT_AVAILABLE = '55P03';
/** Other databases a dropped role's leftovers are looked for in, per drop. */
const MAX_OTHER_DATABASES = 16;
/**
 * A template role, or any role it can SET ROLE to, with these could undo the exchange's
 * guarantees: CREATEROLE rewrites markers (a login never swept, another's owner), VALID UNTIL and
 * the admin's own password; the server-file and program roles reach the server as its OS user.
 */
const DANGEROUS_TEMPLATE_SQL =
  `SELECT count(*)::int AS n FROM pg_roles r WHERE pg_has_role($1::name, r.oid, 'MEMBER') ` +
  `AND (r.rolsuper OR r.rolcreaterole OR r.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'))`;

class DangerousTemplateError extends Error {}

/** SQLSTATE classes that mean "could not reach or talk to the server" rather than "refused". */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return true;
  return code.startsWith('08') || code.startsWith('57P') || code === '53300' || /^E[A-Z]/.test(code);
}

/** A failure from the target as a safe message: SQLSTATE and our words, never the server's text (it may quote SQL). */
function issueError(err: unknown, what: string): CredentialIssueError {
  const code = (err as { code?: unknown }).code;
  if (code === UNDEFINED_OBJECT) return new CredentialIssueError(`${what}: the template role does not exist on the target`, false);
  const state = typeof code === 'string' ? ` (${code.replace(/[^A-Z0-9]/g, '?').slice(0, 16)})` : '';
  return new CredentialIssueError(`${what}: the target ${unreachable(err) ? 'could not be reached' : 'refused'}${state}`, unreachable(err));
}

/**
 * verify-full against `expectedName`: the configured serverName, else the host. pg would set SNI
 * to the host itself (overriding a serverName), so the identity check names the expected server
 * explicitly; an IP address is never sent as SNI (RFC 6066) and is matched against IP SANs.
 */
export function postgresTls(expectedName: string, ca: string | undefined): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(isIP(expectedName) ? {} : { servername: expectedName }),
    checkServerIdentity: (_host, cert) => checkServerIdentity(expectedName, cert),
    ...(ca !== undefined ? { ca } : {}),
  };
}

export class PostgresCredentialIssuer implements CredentialIssuer {
  readonly protocol = 'postgres' as const;
  readonly target: string;
  private readonly pool: pg.Pool;
  /** The admin's connection settings (the pool's, and a drop's in another database). */
  private readonly admin: pg.ClientConfig;

  private constructor(
    private readonly config: PostgresTargetConfig,
    ca: string | undefined,
    private readonly log: Logger,
    private readonly timeouts: PostgresIssuerTimeouts,
    plaintext: boolean,
  ) {
    this.target = config.name;
    this.admin = {
      host: config.host,
      port: config.port,
      database: config.database,
      user: config.admin.username,
      password: () => readSecretFile(config.admin.passwordFile, MAX_ADMIN_SECRET_BYTES, (m) => new Error(`admin password file ${m}`)),
      ssl: plaintext ? false : postgresTls(config.tls.serverName ?? config.host, ca),
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      query_timeout: timeouts.statementMs + 1000,
      application_name: 'sidegate-exchange',
    };
    this.pool = new pg.Pool({ ...this.admin, max: 4, idleTimeoutMillis: 30_000 });
    // An idle admin connection the server closed: the pool replaces it; nothing to tell a client.
    this.pool.on('error', (err) => this.log.warn('token exchange: admin connection lost', { target: this.target, code: String((err as { code?: unknown }).code ?? 'unknown') }));
  }

  /**
   * `plaintextLoopback`: no TLS, for local mode's embedded demo database on this machine only (it
   * speaks no TLS). Not reachable from exchange.yaml; refused for any other host.
   */
  static async open(
    config: PostgresTargetConfig,
    log: Logger,
    timeouts: Partial<PostgresIssuerTimeouts> = {},
    opts: { plaintextLoopback?: boolean } = {},
  ): Promise<PostgresCredentialIssuer> {
    if (opts.plaintextLoopback && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
      throw new Error(`target ${config.name}: a connection without TLS is only for a database on this machine`);
    }
    const ca = config.tls.caFile !== undefined ? await readFile(config.tls.caFile, 'utf8') : undefined;
    return new PostgresCredentialIssuer(config, ca, log, { ...DEFAULT_TIMEOUTS, ...timeouts }, opts.plaintextLoopback === true);
  }

  async issue(request: IssueRequest): Promise<IssuedCredential> {
    const username = `${this.config.rolePrefix}${randomBytes(10).toString('hex')}`;
    const password = randomBytes(32).toString('base64url');
    const expiresAt = new Date(request.nowMs + request.ttlMs).toISOString();
    const role = pg.escapeIdentifier(username);
    const marker = encodeRoleMarker({ expiresAt, template: request.role, grant: request.grant, owner: request.owner, ...(request.issuedBy ? { issuedBy: request.issuedBy } : {}) });
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw issueError(err, 'creating the credential');
    }
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ n: number }>(DANGEROUS_TEMPLATE_SQL, [request.role]);
      if ((rows[0]?.n ?? 0) > 0) throw new DangerousTemplateError();
      await client.query(
        `CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT ` +
          `PASSWORD ${pg.escapeLiteral(scramSha256Verifier(password))} VALID UNTIL ${pg.escapeLiteral(expiresAt)} IN ROLE ${pg.escapeIdentifier(request.role)}`,
      );
      await client.query(`COMMENT ON ROLE ${role} IS ${pg.escapeLiteral(marker)}`);
      // Membership lets the admin end the role's sessions and reassign what it owns when dropping it.
      await client.query(`GRANT ${role} TO CURRENT_USER`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(!(err instanceof DangerousTemplateError) && unreachable(err));
      if (err instanceof DangerousTemplateError) {
        throw new CredentialIssueError('creating the credential: the template role can manage roles or reach the server\'s files (SUPERUSER, CREATEROLE or a pg_*_server_* role, itself or by membership); nothing was created', false);
      }
      throw issueError(err, 'creating the credential');
    }
    client.release();
    return { username, password, expiresAt };
  }

  async revoke(username: string, owner: string): Promise<RevokeResult> {
    if (!username.startsWith(this.config.rolePrefix)) return { result: 'unknown' };
    let rows: { description: string | null }[];
    try {
      ({ rows } = await this.pool.query<{ description: string | null }>(
        `SELECT d.description FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass WHERE r.rolname = $1`,
        [username],
      ));
    } catch (err) {
      throw issueError(err, 'revoking the credential');
    }
    const marker = parseRoleMarker(rows[0]?.description);
    if (marker === undefined) return { result: 'unknown' };
    const issuedBy = marker.issuedBy ? { issuedBy: marker.issuedBy } : {};
    if (marker.owner !== owner) return { result: 'not-owner', ...issuedBy };
    try {
      await this.drop(username, marker.template);
    } catch (err) {
      throw issueError(err, 'revoking the credential');
    }
    return { result: 'revoked', ...issuedBy };
  }

  async sweep(nowMs: number): Promise<SweepResult> {
    let rows: { rolname: string; description: string | null }[];
    try {
      ({ rows } = await this.pool.query<{ rolname: string; description: string | null }>(
        `SELECT r.rolname, d.description FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass WHERE starts_with(r.rolname, $1)`,
        [this.config.rolePrefix],
      ));
    } catch (err) {
      throw issueError(err, 'listing issued credentials');
    }
    const result: SweepResult = { dropped: [], failed: 0 };
    for (const row of rows) {
      const marker = parseRoleMarker(row.description);
      if (marker === undefined || Date.parse(marker.expiresAt) > nowMs) continue;
      try {
        await this.drop(row.rolname, marker.template);
        result.dropped.push({ username: row.rolname, ...(marker.issuedBy ? { issuedBy: marker.issuedBy } : {}) });
      } catch (err) {
        result.failed += 1;
        this.log.warn('token exchange: an expired credential could not be dropped yet', { target: this.target, role: row.rolname, reason: issueError(err, 'dropping').message });
      }
    }
    return result;
  }

  /**
   * NOLOGIN first (committed on its own), then its sessions, then the role; a role already gone is
   * done. Replicas sweep the same roles: an advisory lock on the role's name makes them take turns
   * (two ALTER/DROP ROLE on one role at once fail with "tuple concurrently updated"). Any user may
   * take any advisory lock, the role itself included, so the wait is bounded and the drop goes on
   * without it: a replica's concurrent drop then fails harmlessly (the role is gone), and a
   * squatter's session is ended with the role's others.
   */
  private async drop(username: string, template: string): Promise<void> {
    const role = pg.escapeIdentifier(username);
    const client = await this.pool.connect();
    let broken = false;
    let locked = false;
    try {
      locked = await this.lockForDrop(client, username);
      if (!(await this.exists(client, username))) return;
      await client.query(`ALTER ROLE ${role} NOLOGIN`);
      await client.query('SELECT pg_terminate_backend(pid, $2) FROM pg_stat_activity WHERE usename = $1', [username, this.timeouts.terminateMs]);
      await this.dropOwnedElsewhere(client, username);
      await client.query('BEGIN');
      await client.query(`REASSIGN OWNED BY ${role} TO ${pg.escapeIdentifier(template)}`);
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      broken = unreachable(err);
      // Gone meanwhile (another replica's drop, when the lock was not ours): done.
      if (!broken && !(await this.exists(client, username).catch(() => true))) return;
      throw err;
    } finally {
      // A broken connection is discarded, and its session's lock goes with it.
      if (locked && !broken) await client.query(`SELECT pg_advisory_unlock(hashtext('sidegate-exchange'), hashtext($1))`, [username]).catch(() => (broken = true));
      client.release(broken);
    }
  }

  /**
   * What the role owns or is granted in other databases: every role may connect to most databases
   * and create a large object or a default ACL there without any grant, and DROP ROLE fails while
   * anything in any database depends on it. Dropped (not reassigned: the role had no business
   * there) over a connection of the admin's to each such database, at most MAX_OTHER_DATABASES.
   */
  private async dropOwnedElsewhere(client: pg.PoolClient, username: string): Promise<void> {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.refobjid ` +
        `WHERE s.refclassid = 'pg_authid'::regclass AND r.rolname = $1 AND d.datname <> current_database() ORDER BY 1 LIMIT ${MAX_OTHER_DATABASES}`,
      [username],
    );
    for (const { datname } of rows) {
      const other = new pg.Client({ ...this.admin, database: datname });
      other.on('error', () => undefined);
      try {
        await other.connect();
        await other.query(`DROP OWNED BY ${pg.escapeIdentifier(username)}`);
      } finally {
        await other.end().catch(() => undefined);
      }
    }
  }

  /** The drop's advisory lock, waited for at most terminateMs; false when another session holds it still. */
  private async lockForDrop(client: pg.PoolClient, username: string): Promise<boolean> {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${this.timeouts.terminateMs}ms`]);
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('sidegate-exchange'), hashtext($1))`, [username]);
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
        this.log.warn('token exchange: another session holds the lock on a credential being dropped; dropping it without', { target: this.target, role: username });
        return false;
      }
      throw err;
    } finally {
      await client.query(`SELECT set_config('lock_timeout', '0', false)`);
    }
  }

  private async exists(client: pg.PoolClient, username: string): Promise<boolean> {
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
    return (rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
