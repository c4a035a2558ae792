// PostgreSQL through a node-postgres pool, for brokers that share one database (HA). Notifications
// come over one dedicated connection that reconnects on its own; a notification lost while it is
// down is made up for by the store's periodic re-read.
import pg from 'pg';
import type { SqlClient, SqlRow } from './sql-client.js';

const RECONNECT_MS = 1_000;

export function openPostgresClient(config: pg.PoolConfig): SqlClient {
  const pool = new pg.Pool({ max: 10, ...config });
  // An idle pooled connection that dies is dropped by the pool; without a listener it would crash us.
  pool.on('error', () => undefined);
  const listeners: ListenConnection[] = [];
  let closed = false;
  return {
    query: async <T = SqlRow>(text: string, params: readonly unknown[] = []) => (await pool.query(text, [...params])).rows as T[],
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async <T = SqlRow>(text: string, params: readonly unknown[] = []) => (await client.query(text, [...params])).rows as T[] });
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        // A failed ROLLBACK means a broken connection: it is destroyed, not returned to the pool.
        await client.query('ROLLBACK').then(
          () => client.release(),
          (rollbackErr: Error) => client.release(rollbackErr),
        );
        throw err;
      }
    },
    async listen(channel, onPayload) {
      if (closed) throw new Error('the database client is closed');
      const listener = new ListenConnection(config, channel, onPayload);
      listeners.push(listener);
      await listener.start();
    },
    async close() {
      closed = true;
      await Promise.all(listeners.map((l) => l.stop()));
      await pool.end();
    },
  };
}

/** One connection that LISTENs on a channel, reconnecting after a pause when it breaks. */
class ListenConnection {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onPayload: (payload: string) => void,
  ) {}

  /** The first connection must work (a broker that cannot reach its database does not start). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (n) => {
      if (n.channel === this.channel && n.payload !== undefined) this.onPayload(n.payload);
    });
    client.on('error', () => this.broken(client));
    client.on('end', () => this.broken(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) await client.end().catch(() => undefined);
    else this.client = client;
  }

  private broken(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().catch(() => this.reconnectLater());
    }, RECONNECT_MS);
    this.retry.unref();
  }
}
