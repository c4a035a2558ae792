// CancelRequest: a new connection to the upstream carrying only the 16-byte packet, as the
// protocol prescribes. The server answers nothing and closes; whether a query was actually
// cancelled shows up on the original connection (SQLSTATE 57014).
import type { UpstreamTls } from '../../../core/vocabulary.js';
import { serializeCancelRequest } from './frontend-messages.js';
import { openUpstreamTransport, UpstreamError } from './upstream-connection.js';

export interface CancelTarget {
  host: string;
  port: number;
  /**
   * The target's TLS settings. Absent or `disable`: plain TCP, which PostgreSQL always accepts
   * for a CancelRequest. Otherwise the packet goes over SSLRequest + TLS with the same
   * verification as the login, so the cancel key is not exposed on the network.
   */
  tls?: UpstreamTls;
}

/** Resolves once the packet was delivered and the server closed (or `timeoutMs` passed). */
export async function sendCancelRequest(target: CancelTarget, processId: number, secretKey: number, timeoutMs = 5000): Promise<void> {
  const socket = await openUpstreamTransport({ host: target.host, port: target.port, tls: target.tls ?? { mode: 'disable' } }, timeoutMs);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // The packet was written; the server may simply be slow to close. Cancel is best effort.
      socket.destroy();
      resolve();
    }, timeoutMs);
    socket.on('data', () => {
      /* the server sends nothing back; ignore anything it does */
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      // A reset after the packet went out still means the server got it; before, it did not.
      if (socket.bytesWritten >= 16 && err.code === 'ECONNRESET') resolve();
      else reject(new UpstreamError('connect-failed', `cannot send a cancel request: ${err.code ?? 'connection failed'}`));
    });
    socket.end(serializeCancelRequest(processId, secretKey));
  });
}
