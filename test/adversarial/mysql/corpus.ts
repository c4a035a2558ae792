// The MySQL adversarial corpus's harness, the PostgreSQL one transposed. Each case is one
// attacker action against a real sidegate in front of the real MariaDB 10.11, checked three ways:
//   1. the decision the client saw (asserted by the case itself: expectDenied, expectHeld, …);
//   2. the target unchanged: a checksum of the corpus database (every table's rows, the views,
//      routines, triggers and events) and of the server's accounts and privileges, taken as root
//      over the unix socket, not through sidegate, before and after the case (unless the case
//      says `mutates: true`);
//   3. no canary: none of the seeded secret values, in clear or in a handful of cheap
//      transformations (hex, base64, reversed, upper case), appears in anything the case's
//      clients received (raw bytes, mysql2 rows and errors) or in any audit span exported while
//      the case ran.
// Each test file calls `corpus(name)` once: it gets a database of its own (`adv_my_…`, which the
// target login may use through a wildcard grant), seeded with the canary data, and a sidegate
// whose target `my` points at it, under the corpus policy (or the file's own).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startHarness, mariaInfo, type Harness, type MariaInfo, type Issuer } from '../../support/sidegate-harness.js';
import type { ReceivedSpan } from '../../support/otlp-receiver.js';
import { RawMysqlClient, type ErrReply, type OkReply, type Reply } from '../../support/mysql-raw-client.js';

export { RawMysqlClient };

/** Seeded secrets: the secrets table, and the masked columns of customers. */
export const CANARY = {
  secrets: ['CANARY-SECRET-5e1b7d20', 'CANARY-SECRET-c9a40f6b', 'CANARY-SECRET-2d8e91a4'],
  emails: ['canary.carol.4b8e@example.com', 'canary.dave.a17c@example.org'],
  cards: ['4916338506082832', '5105105105105100'],
  awsKey: 'AKIACANARYKEY0000043',
  jwtSignature: 'c2lnbmF0dXJlLWNhbmFyeS0yMDI1LW15c3Fs',
  pemBody: 'MIIEvQCANARYPEMBODYmysqlAgEAAkEAq7B',
  /** A column masked by a column rule only: no detector recognises these. */
  nicknames: ['canary-nick-quokka-61f0', 'canary-nick-axolotl-d93b'],
} as const;

export const CANARIES: readonly string[] = [
  ...CANARY.secrets,
  ...CANARY.emails,
  ...CANARY.cards,
  CANARY.awsKey,
  CANARY.jwtSignature,
  CANARY.pemBody,
  ...CANARY.nicknames,
];

const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.${CANARY.jwtSignature}`;
const PEM = `-----BEGIN PRIVATE KEY-----\\n${CANARY.pemBody}\\n-----END PRIVATE KEY-----`;

/** Statements run as root in the corpus database, one at a time. */
export const SEED_SQL: readonly string[] = [
  `CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL, card varchar(32), nickname varchar(100), notes text, UNIQUE KEY email_unique (email))`,
  `INSERT INTO customers VALUES
    (1, 'Ada', '${CANARY.emails[0]}', '${CANARY.cards[0]}', '${CANARY.nicknames[0]}', 'key ${CANARY.awsKey} in notes'),
    (2, 'Bob', '${CANARY.emails[1]}', '${CANARY.cards[1]}', '${CANARY.nicknames[1]}', 'token ${JWT}'),
    (3, 'Cy', 'cy@example.net', NULL, 'cy', '${PEM}')`,
  `CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total decimal(12,2), state varchar(20) NOT NULL DEFAULT 'open')`,
  `INSERT INTO orders SELECT seq, 1 + seq % 3, seq * 10, IF(seq % 2 = 0, 'open', 'shipped') FROM seq_1_to_40`,
  `CREATE TABLE secrets (id int PRIMARY KEY, name varchar(50), value varchar(200))`,
  `INSERT INTO secrets VALUES (1, 'db', '${CANARY.secrets[0]}'), (2, 'api', '${CANARY.secrets[1]}'), (3, 'ssh', '${CANARY.secrets[2]}')`,
  `CREATE TABLE notes_copy (id int PRIMARY KEY AUTO_INCREMENT, v varchar(200), UNIQUE KEY v_unique (v))`,
  `INSERT INTO notes_copy (v) VALUES ('harmless')`,
  // Routines and a view made by root: the client can CALL / read them but never created them.
  `CREATE PROCEDURE customer_contacts() SELECT id, email, nickname FROM customers ORDER BY id`,
  `CREATE PROCEDURE two_results() BEGIN SELECT id, state FROM orders WHERE id < 3; SELECT id, email, card FROM customers ORDER BY id; END`,
  `CREATE PROCEDURE raise_nickname(p int) BEGIN DECLARE v varchar(200); SELECT nickname INTO v FROM customers WHERE id = p; SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v; END`,
  `CREATE PROCEDURE raise_secret() BEGIN DECLARE v varchar(200); SELECT value INTO v FROM secrets WHERE id = 1; SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v; END`,
  `CREATE FUNCTION nickname_of(p int) RETURNS varchar(200) READS SQL DATA RETURN (SELECT nickname FROM customers WHERE id = p)`,
  `CREATE VIEW customer_view AS SELECT id, name, email AS contact, card, nickname AS nick FROM customers`,
];

/** The corpus policy: the PostgreSQL corpus's, for target `my`. */
export function corpusPolicy({ maria, issuer, database }: PolicyEnv): string {
  return `version: 1
defaults:
  action: deny
  approvalTimeout: 20s
identities:
  - name: ci
    issuer: ${issuer.issuer}
    audiences: [sidegate]
    jwksUrl: ${issuer.jwksUrl}
    claims:
      project_path: "acme/*"
targets:
${corpusTarget(maria, database)}
rules:
  - name: reads-allowed
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: orders-writes-need-approval
    identities: [ci]
    when: { statements: [insert, update, delete], tables: [orders] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }
  - name: no-secrets
    when: { tables: [secrets] }
    action: deny
  - name: no-ddl
    when: { statements: [ddl] }
    action: deny
masking:
  - name: customer-emails
    columns: [customers.email]
    strategy: partial
  - name: cards
    columns: ["*.card"]
    strategy: redact
  - name: nicknames
    columns: [customers.nickname]
    strategy: redact
  - name: detectors
    detectors: [email, payment-card, jwt, aws-access-key, pem-private-key]
    strategy: redact
`;
}

/** Target `my` → the corpus database on the test MariaDB over verify-full TLS. */
export function corpusTarget(maria: MariaInfo, database: string): string {
  return `  - name: my
    protocol: mysql
    address: 127.0.0.1:${maria.port}
    database: ${database}
    tls: { mode: verify-full, ca: ${maria.caFile}, serverName: localhost }
    credentials: { file: my }`;
}

export interface PolicyEnv {
  maria: MariaInfo;
  issuer: Issuer;
  database: string;
}

export interface Approval {
  id: string;
  command: string;
  rule: string;
  [key: string]: unknown;
}

/** A mysql2 connection whose results and errors are recorded for the canary check. */
export type Mysql2 = mysql.Connection;

export interface CaseContext {
  h: Harness;
  database: string;
  /** A raw client, logged in with a token (asserted), optionally with another collation or capabilities. */
  raw(opts?: { collation?: number; capabilities?: number; token?: string; database?: string }): Promise<RawMysqlClient>;
  /** A raw TCP connection to sidegate's MySQL listener, nothing read or sent. */
  connect(): Promise<RawMysqlClient>;
  /** One COM_QUERY (a string as UTF-8, a Buffer byte for byte) on a fresh logged-in raw connection. */
  once(sql: string | Buffer, opts?: { collation?: number; timeoutMs?: number }): Promise<Reply>;
  /** A mysql2 connection through sidegate (multi-statements on unless said otherwise). */
  mysql(opts?: mysql.ConnectionOptions & { token?: string }): Promise<Mysql2>;
  /** Direct root query on the corpus database (not through sidegate, not checked). */
  admin(sql: string, params?: unknown[]): Promise<unknown>;
  token(claims?: Record<string, unknown>): Promise<string>;
  checksum(): Promise<string>;
  /** Audit spans exported while this case ran (after a flush). */
  spans(): Promise<ReceivedSpan[]>;
  /** What approvers were shown during this case. */
  approvals: Approval[];
  /** Record anything else the client received, for the canary check. */
  saw(value: unknown): void;
  /** sidegate's policy denial: ERR 1142 (or 1227), SQLSTATE 42000, naming `rule` when given. */
  expectDenied(got: Failure, rule?: string | RegExp): void;
  /** The command was held for approval (an approver saw it) and the approver's denial came back. */
  expectHeld(got: Failure): void;
  /** An error from sidegate itself (message starting `sidegate`), with `code` when given. */
  expectRefused(got: Failure, code?: number): void;
}

/** What a case got back: a raw reply, an ERR, or a mysql2 error (a rejected promise's value). */
export type Failure = Reply | ErrReply | OkReply | unknown;

export interface CaseOptions {
  /** The case changes the database on purpose (an approved write): skip the checksum check. */
  mutates?: boolean;
  /** The automatic approver approves this case's holds instead of denying them. */
  approve?: boolean;
  /** The automatic approver records this case's holds but leaves them pending. */
  pending?: boolean;
  timeoutMs?: number;
}

export interface Corpus {
  case(title: string, fn: (t: CaseContext) => Promise<void>): void;
  case(title: string, opts: CaseOptions, fn: (t: CaseContext) => Promise<void>): void;
}

export interface CorpusOptions {
  /** The whole policy YAML; default corpusPolicy. Target `my`, identity `ci` are what the corpus expects. */
  policy?: (env: PolicyEnv) => string;
  /** Extra startHarness options (environment, pod token). */
  harness?: Omit<Parameters<typeof startHarness>[0], 'policy'>;
}

/** The root connection to the test MariaDB over its unix socket. */
export async function rootConnection(maria: MariaInfo, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ socketPath: maria.socket, user: 'root', ...(database ? { database } : {}), multipleStatements: false });
}

export function corpus(name: string, opts: CorpusOptions = {}): Corpus {
  let h: Harness;
  let root: mysql.Connection;
  let database = '';
  let current: { approvals: Approval[]; approve: boolean; pending: boolean } | null = null;
  let approver: NodeJS.Timeout | undefined;
  let approving = false;

  before(async () => {
    const maria = await mariaInfo();
    database = `adv_my_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
    root = await rootConnection(maria);
    // One wildcard grant for every corpus database: no per-file privilege change while other
    // files' checksums read the grant tables.
    await root.query("GRANT ALL ON `adv\\_my\\_%`.* TO sidegate_native@'%'");
    await root.query(`CREATE DATABASE \`${database}\``);
    await root.query(`USE \`${database}\``);
    for (const sql of SEED_SQL) await root.query(sql);
    const env = { database };
    h = await startHarness({ ...opts.harness, policy: ({ maria: m, issuer }) => (opts.policy ?? corpusPolicy)({ maria: m, issuer, ...env }) });
    assert.ok(h.myPort, 'the harness opened a listener for target my');
    approver = setInterval(() => {
      if (approving) return;
      approving = true;
      void (async () => {
        try {
          for (const a of (await h.approvals.list()) as Approval[]) {
            const verdict = current?.approve ? 'approve' : 'deny';
            if (current && !current.approvals.some((seen) => seen.id === a.id)) current.approvals.push(a);
            if (current?.pending) continue;
            const approvers = Array.isArray(a['approvers']) ? (a['approvers'] as string[]) : [];
            const res = await h.approvals.decide(a.id, verdict, approvers[0] ?? 'corpus-approver');
            if (!res.ok) console.error(`corpus approver: ${verdict} ${a.id} → ${res.status} ${await res.text()}`);
          }
        } catch {
          /* the broker is stopping */
        } finally {
          approving = false;
        }
      })();
    }, 25);
  });

  after(async () => {
    clearInterval(approver);
    await h?.close();
    if (root) {
      if (database) await root.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => {});
      await root.end().catch(() => {});
    }
  });

  const define = (title: string, a: CaseOptions | ((t: CaseContext) => Promise<void>), b?: (t: CaseContext) => Promise<void>): void => {
    const caseOpts = typeof a === 'function' ? {} : a;
    const fn = typeof a === 'function' ? a : b!;
    test(`[mysql ${name}] ${title}`, { timeout: caseOpts.timeoutMs ?? 60_000 }, async () => {
      const received: unknown[] = [];
      const clients: { end(): void }[] = [];
      const approvals: Approval[] = [];
      current = { approvals, approve: caseOpts.approve ?? false, pending: caseOpts.pending ?? false };
      const spansBefore = h.receiver.spans().length;
      const before = await checksum(root, database);
      const t = caseContext(h, database, root, received, clients, approvals, spansBefore);
      // The three checks all run, whatever the case itself asserted, so a failure says whether
      // the target changed or a canary leaked as well.
      const failures: unknown[] = [];
      try {
        await fn(t);
      } catch (err) {
        failures.push(err);
      } finally {
        for (const c of clients) {
          try {
            c.end();
          } catch {
            /* already closed */
          }
        }
      }
      // Let the sessions end and their spans reach the receiver before looking.
      await new Promise((r) => setTimeout(r, 100));
      await h.sidecar.audit.flush();
      const spans = h.receiver.spans().slice(spansBefore);
      const check = async (f: () => unknown) => {
        try {
          await f();
        } catch (err) {
          failures.push(err);
        }
      };
      if (!caseOpts.mutates) await check(async () => assert.equal(await checksum(root, database), before, 'the target database changed'));
      await check(() => assertNoCanary(received, 'what the client received'));
      await check(() => assertNoCanary(spans, 'the audit trail'));
      await check(() =>
        assertNoCanary(
          approvals.map((a) => ({ ...a, command: undefined })),
          'approval metadata other than the command',
        ),
      );
      current = null;
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) {
        throw new AggregateError(failures, failures.map((f) => (f instanceof Error ? f.message.split('\n')[0] : String(f))).join(' | '));
      }
    });
  };
  return { case: define as Corpus['case'] };
}

function caseContext(
  h: Harness,
  database: string,
  root: mysql.Connection,
  received: unknown[],
  clients: { end(): void }[],
  approvals: Approval[],
  spansBefore: number,
): CaseContext {
  const connect = async (): Promise<RawMysqlClient> => {
    const c = await RawMysqlClient.connect(h.myPort!, { onBytes: (b) => received.push(b) });
    clients.push(c);
    return c;
  };
  const t: CaseContext = {
    h,
    database,
    approvals,
    connect,
    async raw(o = {}) {
      const c = await connect();
      const r = await c.login({
        password: o.token ?? (await h.token()),
        ...(o.collation !== undefined ? { collation: o.collation } : {}),
        ...(o.capabilities !== undefined ? { capabilities: o.capabilities } : {}),
        database: o.database ?? database,
      });
      if ('code' in r) throw new Error(`login refused: ${r.code} ${r.message}`);
      return c;
    },
    async once(sql, o = {}) {
      const c = await t.raw(o.collation !== undefined ? { collation: o.collation } : {});
      return c.query(sql, o.timeoutMs);
    },
    async mysql(o = {}) {
      const { token, ...config } = o;
      const conn = await mysql.createConnection({
        host: '127.0.0.1',
        port: h.myPort!,
        user: 'ci',
        password: token ?? (await h.token()),
        database,
        multipleStatements: true,
        connectTimeout: 10_000,
        // sidegate asks for the token with mysql_clear_password (over loopback in the tests).
        enableCleartextPlugin: true,
        ...config,
      });
      conn.on('error', (e: unknown) => void received.push(e, String(e)));
      const wrap = <K extends 'query' | 'execute'>(key: K) => {
        const original = (conn[key] as (...args: unknown[]) => Promise<unknown>).bind(conn);
        (conn as unknown as Record<string, unknown>)[key] = (...args: unknown[]) =>
          original(...args).then(
            (r) => (received.push(r), r),
            (e: unknown) => {
              received.push(e, String(e));
              throw e;
            },
          );
      };
      wrap('query');
      wrap('execute');
      clients.push({ end: () => void conn.end().catch(() => conn.destroy()) });
      return conn;
    },
    async admin(sql, params) {
      await root.query(`USE \`${database}\``);
      const [rows] = await root.query(sql, params);
      return rows;
    },
    checksum: () => checksum(root, database),
    token: (claims) => h.token(claims),
    async spans() {
      await new Promise((r) => setTimeout(r, 100));
      await h.sidecar.audit.flush();
      return h.receiver.spans().slice(spansBefore);
    },
    saw: (value) => void received.push(value),
    expectDenied(got, rule) {
      const e = sidegateError(got);
      assert.ok(e.code === 1142 || e.code === 1227, `expected a policy denial (1142/1227), got ${JSON.stringify(e)}`);
      assert.equal(e.sqlState, '42000', JSON.stringify(e));
      assert.doesNotMatch(e.message, /approval .* was denied/, 'a hold, not a denial');
      if (rule !== undefined) assert.match(e.message, typeof rule === 'string' ? new RegExp(`rule "${escapeRegex(rule)}"`) : rule);
    },
    expectHeld(got) {
      const e = sidegateError(got);
      assert.match(e.message, /approval .* was denied/, `expected the approver's denial, got ${JSON.stringify(e)}`);
      assert.ok(approvals.length > 0, 'an approver was shown the command');
    },
    expectRefused(got, code) {
      const e = sidegateError(got);
      if (code !== undefined) assert.equal(e.code, code, `expected error ${code}, got ${JSON.stringify(e)}`);
    },
  };
  return t;
}

/** The ERR a case got, whatever shape it came in; fails when there is none. */
export function errorOf(got: Failure): ErrReply {
  if (got && typeof got === 'object') {
    const g = got as Record<string, unknown>;
    if ('packets' in g && 'oks' in g) {
      const reply = got as Reply;
      assert.ok(reply.error, `expected an ERR, got ${describeReply(reply)}`);
      return reply.error;
    }
    if (typeof g['code'] === 'number' && typeof g['message'] === 'string') return got as ErrReply;
    if (typeof g['errno'] === 'number') return { code: g['errno'], sqlState: String(g['sqlState'] ?? ''), message: String(g['sqlMessage'] ?? g['message'] ?? '') };
    if (got instanceof Error) assert.fail(`expected a server ERR, got ${got.message}`);
  }
  assert.fail(`expected an ERR, got ${JSON.stringify(got)}`);
}

function sidegateError(got: Failure): ErrReply {
  const e = errorOf(got);
  assert.match(e.message, /^sidegate[: ]/, `expected sidegate's own error, got ${JSON.stringify(e)}`);
  return e;
}

/** A short description of a raw reply for assertion messages. */
export function describeReply(r: Reply): string {
  const parts: string[] = [];
  for (const ok of r.oks) parts.push(`OK(affected ${ok.affectedRows}${ok.info ? `, ${ok.info}` : ''})`);
  for (const s of r.results) parts.push(`RESULT(${s.columns.map((c) => c.name).join(',')}; ${s.rows.length + s.binaryRows.length} rows)`);
  if (r.error) parts.push(`ERR ${r.error.code} ${r.error.message}`);
  if (r.localInfile !== undefined) parts.push(`LOCAL INFILE ${JSON.stringify(r.localInfile)}`);
  return parts.join(' ') || '(nothing)';
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Everything that identifies the corpus database's state and the server's accounts, as one string. */
export async function checksum(root: mysql.Connection, database: string): Promise<string> {
  const q = async (sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> => (await root.query({ sql, values: params, rowsAsArray: false }))[0] as Record<string, unknown>[];
  const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('hex') : typeof x === 'bigint' ? String(x) : x))).digest('hex');
  const parts: string[] = [];
  const tables = await q('SELECT TABLE_NAME AS n, TABLE_TYPE AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [database]);
  parts.push(`relations=${tables.map((r) => `${String(r['n'])}:${String(r['t'])}`).join(',')}`);
  for (const r of tables) {
    if (r['t'] !== 'BASE TABLE' && r['t'] !== 'SEQUENCE') continue;
    const name = `\`${database}\`.\`${String(r['n']).replace(/`/g, '``')}\``;
    const rows = await q(`SELECT * FROM ${name}`);
    parts.push(`${String(r['n'])}=${hash(rows.map((row) => JSON.stringify(row, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('hex') : x))).sort())}`);
  }
  parts.push(`views=${hash(await q('SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1', [database]))}`);
  parts.push(`routines=${hash(await q('SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, DEFINER, SECURITY_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1, 2', [database]))}`);
  parts.push(`triggers=${hash(await q('SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1', [database]))}`);
  parts.push(`events=${hash(await q('SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1', [database]))}`);
  // Accounts and privileges: a GRANT, CREATE USER or SET PASSWORD anywhere shows here.
  // Without the password change time: the nesting file's SET PASSWORD case re-sets the target
  // login's own password, and other files running at once must not see that as their change.
  parts.push(`users=${hash(await q("SELECT User, Host, JSON_REMOVE(Priv, '$.password_last_changed') AS p FROM mysql.global_priv ORDER BY 1, 2"))}`);
  parts.push(`db_grants=${hash(await q("SELECT Host, Db, User FROM mysql.db WHERE User LIKE 'sidegate%' ORDER BY 1, 2, 3"))}`);
  parts.push(`table_grants=${hash(await q('SELECT Host, Db, User, Table_name, Table_priv FROM mysql.tables_priv ORDER BY 1, 2, 3, 4'))}`);
  parts.push(`routine_grants=${hash(await q('SELECT Host, Db, User, Routine_name FROM mysql.procs_priv ORDER BY 1, 2, 3, 4'))}`);
  const globals = await q(
    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME IN ('SQL_MODE', 'GENERAL_LOG', 'GENERAL_LOG_FILE', 'LOCAL_INFILE', 'READ_ONLY', 'EVENT_SCHEDULER', 'INIT_CONNECT', 'CHARACTER_SET_SERVER', 'CHARACTER_SET_CLIENT', 'MAX_CONNECTIONS', 'LOG_BIN_TRUST_FUNCTION_CREATORS', 'SECURE_FILE_PRIV', 'SLOW_QUERY_LOG_FILE') ORDER BY 1",
  );
  parts.push(`globals=${globals.map((g) => `${String(g['VARIABLE_NAME'])}=${String(g['VARIABLE_VALUE'])}`).join(';')}`);
  return parts.join('\n');
}

/** Each canary in clear and in transformations a query can apply for free. */
const CANARY_FORMS: readonly { canary: string; form: string }[] = CANARIES.flatMap((c) =>
  [c, c.toUpperCase(), c.toLowerCase(), [...c].reverse().join(''), Buffer.from(c).toString('hex'), Buffer.from(c).toString('base64').replace(/=+$/, '')].map((form) => ({
    canary: c,
    form,
  })),
);

/** Fails when any canary form appears in `values` (buffers read as latin1, objects as JSON). */
export function assertNoCanary(values: unknown, where: string): void {
  const texts: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): void => {
    if (v === null || v === undefined || depth > 8) return;
    if (Buffer.isBuffer(v)) {
      texts.push(v.toString('latin1'));
      return;
    }
    if (typeof v === 'string') {
      texts.push(v);
      return;
    }
    if (typeof v !== 'object') {
      texts.push(String(v));
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    if (v instanceof Error) texts.push(v.message);
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    for (const x of Object.values(v as Record<string, unknown>)) visit(x, depth + 1);
  };
  visit(values, 0);
  const all = texts.join('\n');
  const upper = all.toUpperCase();
  for (const { canary, form } of CANARY_FORMS) {
    if (all.includes(form) || (form.length >= 12 && upper.includes(form.toUpperCase()))) {
      assert.fail(`canary ${JSON.stringify(canary)} (as ${JSON.stringify(form)}) found in ${where}`);
    }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
