// A node-postgres client straight to the test PostgreSQL 15 (TLS verify-full, the SCRAM login),
// for unit tests that check their tables or codecs against what the real server says.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { pgInfo } from './sidegate-harness.js';

export async function connectDirect(): Promise<pg.Client> {
  const info = await pgInfo();
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    database: info.database,
    user: info.users.scram.user,
    password: info.users.scram.password,
    ssl: { ca: await readFile(info.caFile, 'utf8'), servername: 'localhost' },
  });
  await client.connect();
  return client;
}
