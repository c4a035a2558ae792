// One text query over a connection sidegate opened for itself (never the client's session: a
// query injected there would change what the client sees), read with the same reply reader the
// proxy uses. For catalog lookups; results are small and bounded.
import { COM_QUERY } from './capabilities.js';
import { framePacket, PacketFramer } from './packet-framer.js';
import { ReplyReader } from './response-reader.js';
import { parseErr } from './response-packets.js';
import { parseTextRow } from './result-packets.js';
import type { UpstreamConnection } from './upstream-connection.js';

/** Largest reply packet a catalog query may return. */
const MAX_PACKET = 1024 * 1024;
/** Most rows read; a longer answer is an error (the caller then fails closed). */
const MAX_ROWS = 100_000;

export function sideQuery(conn: UpstreamConnection, sql: string, timeoutMs = 5_000): Promise<Array<Array<Buffer | null>>> {
  return new Promise((resolve, reject) => {
    const socket = conn.socket;
    const framer = new PacketFramer({ maxPacketBytes: MAX_PACKET });
    const reader = new ReplyReader('results', { capabilities: conn.capabilities });
    const rows: Array<Array<Buffer | null>> = [];
    let columns = 0;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(rows);
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const packet of framer.push(chunk)) {
          const e = reader.next(packet.payload);
          if (e.kind === 'error') throw new Error(parseErr(packet.payload).message.toString('utf8'));
          if (e.kind === 'column-count') columns = e.columns;
          else if (e.kind === 'row') {
            if (rows.length >= MAX_ROWS) throw new Error(`more than ${MAX_ROWS} rows`);
            rows.push(parseTextRow(packet.payload, columns));
          } else if (e.kind === 'local-infile') throw new Error('unexpected LOCAL INFILE request');
          if (reader.done) return finish(null);
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new Error('the connection closed during a catalog query'));
    const timer = setTimeout(() => finish(new Error(`catalog query timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    if (conn.leftover.length > 0) onData(conn.leftover);
    socket.write(framePacket(0, Buffer.concat([Buffer.from([COM_QUERY]), Buffer.from(sql, 'utf8')])).bytes);
  });
}
