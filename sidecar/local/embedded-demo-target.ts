// The embedded demo target for local mode: an in-process PostgreSQL (PGlite, WASM) served over
// its socket server, seeded with a small data set that shows every outcome of the example policy
// (reads, masked e-mails and card numbers, a held write, denied DDL). Used only when the operator
// configured no real target; it is a demo, not a database to keep data in.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { DEMO_TEMPLATE_ROLE } from './local-policy.js';

export const DEMO_SEED = `
CREATE TABLE customers (
  id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, card text, notes text, balance numeric(12,2) DEFAULT 0
);
INSERT INTO customers (name, email, card, notes, balance) VALUES
  ('Ada Lovelace', 'ada@example.com', '4111111111111111', 'prefers email', 120.50),
  ('Alan Turing', 'alan@example.org', '5500 0055 5555 5559', 'key AKIAIOSFODNN7EXAMPLE pasted in notes', 99.00),
  ('Grace Hopper', 'grace@example.net', NULL, 'nothing sensitive', 0);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(12,2), created_at timestamptz DEFAULT now());
INSERT INTO orders (customer_id, total) SELECT 1 + (g % 3), g * 10 FROM generate_series(1, 12) g;
CREATE SCHEMA audit_only;
CREATE TABLE audit_only.events (id serial PRIMARY KEY, body text);
INSERT INTO audit_only.events (body) VALUES ('internal event');
-- The template role local mode's embedded token exchange makes each sidecar login a member of.
CREATE ROLE ${DEMO_TEMPLATE_ROLE} NOLOGIN;
GRANT USAGE ON SCHEMA public TO ${DEMO_TEMPLATE_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${DEMO_TEMPLATE_ROLE};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${DEMO_TEMPLATE_ROLE};
`;


export interface EmbeddedTarget {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedDemoTarget(opts: { host?: string; port: number; dataDir?: string }): Promise<EmbeddedTarget> {
  const db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  const seeded = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = 'customers'`,
  );
  if ((seeded.rows[0]?.n ?? 0) === 0) await db.exec(DEMO_SEED);
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, host, port: opts.port, maxConnections: 64 });
  await server.start();
  return {
    host,
    port: opts.port,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
