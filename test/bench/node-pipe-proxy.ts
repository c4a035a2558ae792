// The floor of any PostgreSQL proxy written for Node.js, as a benchmark path: it accepts a
// client in plaintext, opens TLS to PostgreSQL (SSLRequest, then verify-full) and pipes bytes
// both ways, understanding nothing. Whatever sidegate costs beyond this path is its own; what this
// path costs (against direct) is what Node.js's sockets and TLS cost on this machine.
//
//   node dist/test/bench/node-pipe-proxy.js <listen port> <target host> <target port> <ca file>
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

const [listenPort, host, port, caFile] = process.argv.slice(2);
const ca = readFileSync(caFile!);
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

const server = net.createServer((client) => {
  client.setNoDelay(true);
  client.pause();
  client.on('error', () => client.destroy());
  const raw = net.connect(Number(port), host!, () => raw.write(SSL_REQUEST));
  raw.on('error', () => client.destroy());
  raw.once('data', (answer) => {
    if (answer[0] !== 0x53 /* S */) {
      client.destroy();
      raw.destroy();
      return;
    }
    const upstream = tls.connect({ socket: raw, ca, servername: 'localhost' }, () => {
      upstream.setNoDelay?.(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
