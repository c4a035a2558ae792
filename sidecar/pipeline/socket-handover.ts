// A logged-in upstream socket changes owner, from an adapter's login code to its session: pause it
// so no byte is emitted before the new owner listens, resume as soon as a 'data' listener is
// attached, and absorb errors the owner may not listen for (they are reported through 'close').
import type net from 'node:net';
import type tls from 'node:tls';

export function handOver(socket: net.Socket | tls.TLSSocket): void {
  socket.pause();
  const onNewListener = (event: string | symbol) => {
    if (event !== 'data') return;
    socket.off('newListener', onNewListener);
    process.nextTick(() => socket.resume());
  };
  socket.on('newListener', onNewListener);
  socket.on('error', () => {
    /* reported through 'close' */
  });
}
