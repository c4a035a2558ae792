// The adversarial corpus's harness. Each case is one attacker action against a real sidegate in
// front of a real PostgreSQL 15, and is checked three ways:
//   1. the decision the client saw (asserted by the case itself: expectDenied, expectHeld, …);
//   2. the target unchanged: a checksum of the corpus database (every table's rows, sequences,
//      the relations, functions and large objects of the catalog), taken directly, not through
//      sidegate, before and after the case (unless the case says `mutates: true`);
//   3. no canary: none of the seeded secret values, in clear or in a handful of cheap
//      transformations (hex, base64, reversed, upper case), appears in anything the case's clients
//      received (raw bytes, psql output, node-postgres rows and errors) or in any audit span
//      exported while the case ran.
// Each test file calls `corpus(name)` once: it gets a database of its own, seeded with the canary
// data, and a sidegate under CORPUS_POLICY (or the file's own policy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startHarness, run, type Harness, type PgInfo, type Issuer, type RunResult } from '../../support/sidegate-harness.js';
import type { ReceivedSpan } from '../../support/otlp-receiver.js';
import * as fe from './frontend.js';
import { BackendReader, type BackendMessage } from './backend.js';

export { fe };
export type { BackendMessage };

/** Seeded secrets: the secrets table, and the masked columns of customers. */
export const CANARY = {
  secrets: ['CANARY-SECRET-3f9a1c7e', 'CANARY-SECRET-b04d2e95', 'CANARY-SECRET-77c1a0f3'],
  emails: ['canary.alice.7c2d@example.com', 'canary.bob.91fe@example.org'],
  cards: ['4539578763621486', '5425233430109903'],
  awsKey: 'AKIACANARYKEY0000042',
  jwtSignature: 'c2lnbmF0dXJlLWNhbmFyeS0xOTg0LXNpZGVnYXRl',
  pemBody: 'MIIEvQCANARYPEMBODYAgEAAkEAq7BFUpkGp3',
} as const;

export const CANARIES: readonly string[] = [...CANARY.secrets, ...CANARY.emails, ...CANARY.cards, CANARY.awsKey, CANARY.jwtSignature, CANARY.pemBody];

const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.${CANARY.jwtSignature}`;
const PEM = `-----BEGIN PRIVATE KEY-----\n${CANARY.pemBody}\n-----END PRIVATE KEY-----`;

/** The seed every corpus database starts from (run as the target login, which owns it all). */
const SEED_SQL = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, card text, notes text);
INSERT INTO customers VALUES
  (1, 'Ada', '${CANARY.emails[0]}', '${CANARY.cards[0]}', 'key ${CANARY.awsKey} in notes'),
  (2, 'Bob', '${CANARY.emails[1]}', '${CANARY.cards[1]}', 'token ${JWT}'),
  (3, 'Cy', 'cy@example.net', NULL, E'${PEM.replace(/\n/g, '\\n')}');
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(12,2), status text NOT NULL DEFAULT 'open');
INSERT INTO orders SELECT g, 1 + g % 3, g * 10, CASE WHEN g % 2 = 0 THEN 'open' ELSE 'shipped' END FROM generate_series(1, 20) g;
CREATE TABLE secrets (id int PRIMARY KEY, name text, value text);
INSERT INTO secrets VALUES (1, 'db', '${CANARY.secrets[0]}'), (2, 'api', '${CANARY.secrets[1]}'), (3, 'ssh', '${CANARY.secrets[2]}');
CREATE SEQUENCE order_numbers;
`;

/** The example-style policy the corpus runs under unless a file brings its own. */
export function corpusPolicy({ pg, issuer }: { pg: PgInfo; issuer: Issuer }): string {
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
  - name: pg
    protocol: postgres
    address: ${pg.host}:${pg.port}
    tls: { mode: verify-full, ca: ${pg.caFile}, serverName: localhost }
    credentials: { file: pg }
rules:
  - name: reads-allowed
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow
  - name: orders-writes-need-approval
    identities: [ci]
    when: { statements: [insert, update, delete, merge], tables: [orders] }
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
  - name: detectors
    detectors: [email, payment-card, jwt, aws-access-key, pem-private-key]
    strategy: redact
`;
}

export interface RawClient {
  /** Writes frontend messages (built with `fe`) as one write. */
  send(...frames: Buffer[]): void;
  /** Messages up to and including the next ReadyForQuery. */
  untilReady(timeoutMs?: number): Promise<BackendMessage[]>;
  /** Messages up to and including the first one `pred` accepts. */
  until(pred: (m: BackendMessage) => boolean, timeoutMs?: number): Promise<BackendMessage[]>;
  /** Messages until the server closes the connection. */
  closed(timeoutMs?: number): Promise<BackendMessage[]>;
  /** Every byte received so far, framing included (for replies that are not messages: 'N'/'S'). */
  bytes(): Buffer;
  /** BackendKeyData sidegate gave this client (after `raw()`). */
  backendKey: { processId: number; secretKey: number };
  end(): void;
  readonly socket: net.Socket;
}

export interface Approval {
  id: string;
  command: string;
  rule: string;
  [key: string]: unknown;
}

export interface CaseContext {
  h: Harness;
  database: string;
  /** An authenticated raw protocol client (startup params merged over user/database). */
  raw(opts?: { params?: Record<string, string>; password?: string }): Promise<RawClient>;
  /** A raw socket with nothing sent yet. */
  connect(): Promise<RawClient>;
  /** A connected node-postgres client through sidegate; its results and errors are checked for canaries. */
  pg(config?: pg.ClientConfig): Promise<pg.Client>;
  psql(sql: string, opts?: { env?: Record<string, string>; args?: string[] }): Promise<RunResult>;
  /** Direct superuser query on the corpus database (not through sidegate, not checked). */
  admin(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  token(claims?: Record<string, unknown>): Promise<string>;
  /** The database checksum the corpus compares before and after each case. */
  checksum(): Promise<string>;
  /** Audit spans exported while this case ran (after a flush). */
  spans(): Promise<ReceivedSpan[]>;
  /** What approvers were shown during this case. */
  approvals: Approval[];
  /** Record anything else the client received, for the canary check. */
  saw(value: unknown): void;
  expectDenied(msgs: BackendMessage[], rule?: string | RegExp): void;
  expectHeld(msgs: BackendMessage[]): void;
  expectRefused(msgs: BackendMessage[], sqlState?: string): void;
  expectOk(msgs: BackendMessage[]): void;
  rows(msgs: BackendMessage[]): (Buffer | null)[][];
  errors(msgs: BackendMessage[]): Record<string, string>[];
}

export interface CaseOptions {
  /** The case changes the database on purpose (an approved write): skip the checksum check. */
  mutates?: boolean;
  /** The automatic approver approves this case's holds instead of denying them. */
  approve?: boolean;
  /** The automatic approver records this case's holds but leaves them pending (the case decides, cancels…). */
  pending?: boolean;
  timeoutMs?: number;
}

export interface Corpus {
  case(title: string, fn: (t: CaseContext) => Promise<void>): void;
  case(title: string, opts: CaseOptions, fn: (t: CaseContext) => Promise<void>): void;
}

export interface CorpusOptions {
  /** The whole policy YAML; default corpusPolicy. Target `pg`, identity `ci` are what the harness expects. */
  policy?: (env: { pg: PgInfo; issuer: Issuer }) => string;
  /** Extra startHarness options (environment, client TLS). */
  harness?: Omit<Parameters<typeof startHarness>[0], 'policy'>;
}

export function corpus(name: string, opts: CorpusOptions = {}): Corpus {
  let h: Harness;
  let adminPool: pg.Pool;
  let database = '';
  let current: { approvals: Approval[]; approve: boolean; pending: boolean } | null = null;
  let approver: NodeJS.Timeout | undefined;
  let approving = false;

  before(async () => {
    h = await startHarness({ ...opts.harness, policy: opts.policy ?? corpusPolicy });
    database = `adv_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
    const su = new pg.Client({ host: h.pg.socketDir, port: h.pg.port, user: 'postgres', database: 'postgres' });
    await su.connect();
    await su.query(`CREATE DATABASE ${database} OWNER ${h.pg.users.scram.user}`);
    await su.end();
    const seed = new pg.Client({ host: h.pg.socketDir, port: h.pg.port, user: 'postgres', database });
    await seed.connect();
    await seed.query(`SET ROLE ${h.pg.users.scram.user}; ${SEED_SQL}`);
    await seed.end();
    adminPool = new pg.Pool({ host: h.pg.socketDir, port: h.pg.port, user: 'postgres', database, max: 2 });
    // The automatic approver: what approvers see is recorded per case; pending holds are decided at once.
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
            // A decision the broker refused leaves the case waiting: say why in the test's output.
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
    await adminPool?.end();
    await h?.close();
    if (database) {
      const su = new pg.Client({ host: h.pg.socketDir, port: h.pg.port, user: 'postgres', database: 'postgres' });
      await su.connect();
      await su.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await su.end();
    }
  });

  const define = (title: string, a: CaseOptions | ((t: CaseContext) => Promise<void>), b?: (t: CaseContext) => Promise<void>): void => {
    const caseOpts = typeof a === 'function' ? {} : a;
    const fn = typeof a === 'function' ? a : b!;
    test(`[${name}] ${title}`, { timeout: caseOpts.timeoutMs ?? 60_000 }, async () => {
      const received: unknown[] = [];
      const clients: { end(): void }[] = [];
      const approvals: Approval[] = [];
      current = { approvals, approve: caseOpts.approve ?? false, pending: caseOpts.pending ?? false };
      const spansBefore = h.receiver.spans().length;
      const before = await checksum(adminPool);
      const t = caseContext(h, database, adminPool, received, clients, approvals, spansBefore);
      try {
        await fn(t);
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
      await new Promise((r) => setTimeout(r, 50));
      await h.sidecar.audit.flush();
      const spans = h.receiver.spans().slice(spansBefore);
      if (!caseOpts.mutates) assert.equal(await checksum(adminPool), before, 'the target database changed');
      assertNoCanary(received, 'what the client received');
      assertNoCanary(spans, 'the audit trail');
      assertNoCanary(approvals.map((a) => ({ ...a, command: undefined })), 'approval metadata other than the command');
      current = null;
    });
  };
  return { case: define as Corpus['case'] };
}

function caseContext(
  h: Harness,
  database: string,
  admin: pg.Pool,
  received: unknown[],
  clients: { end(): void }[],
  approvals: Approval[],
  spansBefore: number,
): CaseContext {
  const connect = (): Promise<RawClient> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(h.port, '127.0.0.1');
      const client = rawClient(socket, received);
      clients.push(client);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  return {
    h,
    database,
    approvals,
    connect,
    async raw(o = {}) {
      const c = await connect();
      c.send(fe.startup({ user: 'ci', database, ...o.params }));
      const auth = await c.until((m) => m.type === 'R' || m.type === 'E');
      const last = auth[auth.length - 1]!;
      if (last.type === 'E') throw new Error(`startup refused: ${JSON.stringify(last.fields)}`);
      c.send(fe.password(o.password ?? (await h.token())));
      const ready = await c.untilReady();
      const err = ready.find((m) => m.type === 'E');
      if (err) throw new Error(`login refused: ${JSON.stringify(err.fields)}`);
      const key = ready.find((m) => m.type === 'K');
      if (key) c.backendKey = { processId: key.body.readInt32BE(0), secretKey: key.body.readInt32BE(4) };
      return c;
    },
    async pg(config = {}) {
      const client = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database, password: await h.token(), ...config });
      client.on('error', (e) => received.push(String(e)));
      client.on('notice', (n) => received.push(n));
      client.on('notification', (n) => received.push(n));
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const result = query(...args);
        if (result instanceof Promise) {
          return result.then(
            (r) => (received.push(r), r),
            (e: unknown) => {
              received.push(e, String(e));
              throw e;
            },
          );
        }
        return result;
      };
      await client.connect();
      clients.push({ end: () => void client.end().catch(() => {}) });
      return client;
    },
    async psql(sql, o = {}) {
      const r = await run(
        'psql',
        ['-X', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=verbose', '-h', '127.0.0.1', '-p', String(h.port), '-U', 'ci', '-d', database, ...(o.args ?? [])],
        { PGPASSWORD: await h.token(), PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10', ...o.env },
        sql,
      );
      received.push(r.stdout, r.stderr);
      return r;
    },
    admin: (sql, params) => admin.query(sql, params),
    checksum: () => checksum(admin),
    token: (claims) => h.token(claims),
    async spans() {
      await new Promise((r) => setTimeout(r, 50));
      await h.sidecar.audit.flush();
      return h.receiver.spans().slice(spansBefore);
    },
    saw: (value) => void received.push(value),
    expectDenied(msgs, rule) {
      const e = sidegateError(msgs);
      assert.equal(e['C'], '42501', `expected a policy denial (42501), got ${JSON.stringify(e)}`);
      assert.doesNotMatch(e['M'] ?? '', /approval .* was denied/, 'a hold, not a denial');
      if (rule !== undefined) assert.match(e['M'] ?? '', typeof rule === 'string' ? new RegExp(`rule "${escapeRegex(rule)}"`) : rule);
    },
    expectHeld(msgs) {
      assert.ok(
        msgs.some((m) => m.type === 'N' && /held for approval/.test(m.fields?.['M'] ?? '')),
        `expected a hold notice, got ${describe(msgs)}`,
      );
      const e = sidegateError(msgs);
      assert.match(e['M'] ?? '', /approval .* was denied/);
    },
    expectRefused(msgs, sqlState) {
      const e = sidegateError(msgs);
      if (sqlState) assert.equal(e['C'], sqlState, `expected SQLSTATE ${sqlState}, got ${JSON.stringify(e)}`);
    },
    expectOk(msgs) {
      const errors = msgs.filter((m) => m.type === 'E');
      assert.equal(errors.length, 0, `expected no error, got ${describe(errors)}`);
    },
    rows: (msgs) => msgs.filter((m) => m.type === 'D').map((m) => m.values!),
    errors: (msgs) => msgs.filter((m) => m.type === 'E').map((m) => m.fields!),
  };
}

function sidegateError(msgs: BackendMessage[]): Record<string, string> {
  const e = msgs.find((m) => m.type === 'E');
  assert.ok(e, `expected an ErrorResponse, got ${describe(msgs)}`);
  assert.match(e.fields!['M'] ?? '', /^sidegate[: ]/, `expected sidegate's own error, got ${JSON.stringify(e.fields)}`);
  return e.fields!;
}

function describe(msgs: BackendMessage[]): string {
  return msgs.map((m) => (m.fields ? `${m.type}${JSON.stringify(m.fields)}` : m.type)).join(' ') || '(nothing)';
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function rawClient(socket: net.Socket, received: unknown[]): RawClient {
  const reader = new BackendReader();
  const chunks: Buffer[] = [];
  let cursor = 0;
  let isClosed = false;
  let wake: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    received.push(d);
    reader.push(d);
    wake?.();
  });
  socket.on('close', () => {
    isClosed = true;
    wake?.();
  });
  socket.on('error', () => {});

  const take = async (pred: (m: BackendMessage) => boolean, timeoutMs: number, what: string): Promise<BackendMessage[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msgs = reader.messages;
      for (let i = cursor; i < msgs.length; i++) {
        if (pred(msgs[i]!)) {
          const out = msgs.slice(cursor, i + 1);
          cursor = i + 1;
          return out;
        }
      }
      if (isClosed) {
        const out = msgs.slice(cursor);
        cursor = msgs.length;
        if (what === 'close') return out;
        throw new Error(`connection closed while waiting for ${what}; got ${describe(out)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${describe(msgs.slice(cursor))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  };

  return {
    socket,
    backendKey: { processId: 0, secretKey: 0 },
    send: (...frames) => void socket.write(Buffer.concat(frames)),
    untilReady: (timeoutMs = 15_000) => take((m) => m.type === 'Z', timeoutMs, 'ReadyForQuery'),
    until: (pred, timeoutMs = 15_000) => take(pred, timeoutMs, 'a matching message'),
    closed: (timeoutMs = 15_000) => take(() => false, timeoutMs, 'close'),
    bytes: () => Buffer.concat(chunks),
    end: () => socket.destroy(),
  };
}

/** Everything that identifies the database's state, as one string. */
async function checksum(admin: pg.Pool): Promise<string> {
  const rel = await admin.query<{ nspname: string; relname: string; relkind: string }>(
    `SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
      ORDER BY 1, 2`,
  );
  const parts = [rel.rows.map((r) => `${r.nspname}.${r.relname}:${r.relkind}`).join(',')];
  for (const r of rel.rows) {
    const name = `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`;
    if (r.relkind === 'r') {
      const q = await admin.query<{ h: string }>(`SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h FROM ONLY ${name} t`);
      parts.push(`${name}=${q.rows[0]!.h}`);
    } else if (r.relkind === 'S') {
      const q = await admin.query<{ h: string }>(`SELECT last_value || ':' || is_called AS h FROM ${name}`);
      parts.push(`${name}=${q.rows[0]!.h}`);
    }
  }
  const procs = await admin.query<{ h: string }>(
    `SELECT coalesce(string_agg(p.oid::regprocedure::text, ',' ORDER BY 1), '') AS h FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  parts.push(`procs=${procs.rows[0]!.h}`);
  const lo = await admin.query<{ h: string }>(
    `SELECT count(*) || ':' || coalesce(md5(string_agg(loid::text || ':' || pageno || ':' || encode(data, 'hex'), ',' ORDER BY loid, pageno)), '') AS h FROM pg_largeobject`,
  );
  parts.push(`lo=${lo.rows[0]!.h}`);
  const rules = await admin.query<{ h: string }>(`SELECT coalesce(string_agg(rulename, ',' ORDER BY 1), '') AS h FROM pg_rules WHERE schemaname NOT IN ('pg_catalog')`);
  parts.push(`rules=${rules.rows[0]!.h}`);
  return parts.join('\n');
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Each canary in clear and in transformations a query can apply for free. */
const CANARY_FORMS: readonly { canary: string; form: string }[] = CANARIES.flatMap((c) =>
  [c, c.toUpperCase(), c.toLowerCase(), [...c].reverse().join(''), Buffer.from(c).toString('hex'), Buffer.from(c).toString('base64').replace(/=+$/, '')].map((form) => ({
    canary: c,
    form,
  })),
);

/** Fails when any canary form appears in `values` (buffers read as latin1 and utf8, objects as JSON). */
export function assertNoCanary(values: unknown, where: string): void {
  const texts: string[] = [];
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
    if (v instanceof Error) {
      texts.push(v.message, JSON.stringify(v));
      return;
    }
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (typeof v === 'object') {
      try {
        texts.push(JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('latin1') : x)));
      } catch {
        for (const x of Object.values(v as Record<string, unknown>)) visit(x, depth + 1);
      }
      return;
    }
    texts.push(String(v));
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
