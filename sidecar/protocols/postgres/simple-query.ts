// A minimal simple-query client over an already authenticated upstream connection, for the
// proxy's own look-ups (never for client traffic). Text results only.
import * as wire from './wire.js';

export async function runSimpleQuery(conn: wire.UpstreamConnection, sql: string, timeoutMs = 10_000): Promise<(string | null)[][]> {
  const socket = conn.socket;
  const framer = new wire.MessageFramer({ maxMessageSize: 16 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    const rows: (string | null)[][] = [];
    let failure: Error | undefined;
    const timer = setTimeout(() => finish(new Error('catalog query timed out')), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(rows);
    };
    const onError = (err: Error) => finish(err);
    const onClose = () => finish(new Error('connection closed during catalog query'));
    const onData = (chunk: Buffer) => {
      try {
        framer.push(chunk);
        for (let f = framer.next(); f !== null; f = framer.next()) {
          if (f.code === 0x44 /* D */) {
            const values: (Buffer | null)[] = [];
            const n = wire.readDataRow(f.body, values);
            rows.push(values.slice(0, n).map((v) => (v === null ? null : v.toString('utf8'))));
          } else if (f.code === 0x45 /* E */) {
            failure = new Error(wire.readErrorFields(f.body)['M'] ?? 'query failed');
          } else if (f.code === 0x5a /* Z */) {
            finish(failure);
            return;
          }
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (conn.leftover.length > 0) onData(conn.leftover);
    socket.write(wire.serializeQuery(sql));
  });
}
