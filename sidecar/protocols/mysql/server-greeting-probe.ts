// What a target's own greeting says (its version, whether it is MariaDB and offers extended
// column metadata), read once per target and process before sidegate greets the first client:
// the client is greeted before sidegate logs in upstream, and it should see the server it would
// have seen directly (mysql2 types JSON columns from MariaDB's extended metadata). The probe
// reads the greeting and closes; no credential is sent.
import net from 'node:net';
import type { TargetSpec } from '../../../core/vocabulary.js';
import { CLIENT_MYSQL, MARIADB_CLIENT_EXTENDED_METADATA, hasFlag } from './capabilities.js';
import { parseHandshakeV10 } from './handshake-packets.js';
import { PacketFramer } from './packet-framer.js';

export interface TargetGreeting {
  serverVersion: string;
  /** MariaDB with extended column metadata (MARIADB_CLIENT_EXTENDED_METADATA) on offer. */
  extendedMetadata: boolean;
}

/** The target's greeting, or null when it cannot be read in time (the client is greeted plainly). */
export function probeGreeting(target: Pick<TargetSpec, 'host' | 'port'>, timeoutMs = 2_000): Promise<TargetGreeting | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const framer = new PacketFramer({ maxPacketBytes: 64 * 1024 });
    let done = false;
    const finish = (value: TargetGreeting | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('data', (chunk: Buffer) => {
      try {
        const [first] = framer.push(chunk);
        if (!first) return;
        const hello = parseHandshakeV10(first.payload);
        finish({
          serverVersion: hello.serverVersion,
          extendedMetadata: !hasFlag(hello.capabilities, CLIENT_MYSQL) && hasFlag(hello.mariaDbCapabilities, MARIADB_CLIENT_EXTENDED_METADATA),
        });
      } catch {
        finish(null);
      }
    });
  });
}
