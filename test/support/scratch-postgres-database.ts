// A database of its own on the test PostgreSQL 15 (test/scripts/postgres.sh), for a test that
// creates tables: made by the superuser over the Unix socket, owned by the SCRAM login the test
// connects as (TLS, verify-full), and dropped afterwards with whatever connections remain.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { pgInfo, type PgInfo } from './sidegate-harness.js';

export interface ScratchDatabase {
  name: string;
  /** How a broker replica connects: the SCRAM login over TLS. */
  connection: pg.PoolConfig;
  /**
   * false: the database goes away as its clients see it (every connection of the test login ended,
   * new ones refused); true: back again.
   */
  setReachable(reachable: boolean): Promise<void>;
  drop(): Promise<void>;
}

export async function createScratchDatabase(prefix = 'sidegate_scratch'): Promise<ScratchDatabase> {
  const info = await pgInfo();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
  const owner = info.users.scram.user;
  await superuser((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} OWNER ${pg.escapeIdentifier(owner)}`));
  return {
    name,
    connection: {
      host: info.host,
      port: info.port,
      database: name,
      user: owner,
      password: info.users.scram.password,
      ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' },
    },
    setReachable: (reachable) =>
      superuser(async (c) => {
        await c.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} CONNECTION LIMIT ${reachable ? -1 : 0}`);
        if (!reachable) await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = $2', [name, owner]);
      }),
    drop: () => superuser((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

/** `fn` on a connection as the test cluster's superuser, over its Unix socket; closed after. */
export async function asSuperuser<T>(info: PgInfo, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: info.socketDir, port: info.port, user: 'postgres', database: info.database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
