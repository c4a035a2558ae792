// Local mode's capture: one explicit TCP listener per target (the pod's transparent listener with
// SO_ORIGINAL_DST comes with the injection work). A listener knows its target; it hands every
// connection to that target's protocol adapter and tracks connections for a graceful stop.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ExplicitListener {
  address: { host: string; port: number };
  /** Stop accepting; existing connections keep running. */
  stopAccepting(): Promise<void>;
  /** Connections still open. */
  readonly open: number;
  destroyAll(): void;
}

export async function startExplicitListener(
  listen: { host: string; port: number },
  onConnection: (socket: net.Socket) => void,
): Promise<ExplicitListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    // Stops listening now. server.close's callback would wait for every open connection too, so a
    // session left open would hold a stop past its grace period.
    stopAccepting: async () => void server.close(),
    get open() {
      return sockets.size;
    },
    destroyAll() {
      for (const s of sockets) s.destroy();
    },
  };
}
