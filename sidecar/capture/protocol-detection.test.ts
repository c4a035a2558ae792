import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { alpnFromClientHello, detectProtocol, serverNameFromClientHello, type ProtocolDetection } from './protocol-detection.js';

/** The first flight of a real node TLS client, captured by a plain TCP server on loopback. */
async function realClientHello(servername?: string, alpn?: string[]): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const captured = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (b: Buffer) => {
        chunks.push(b);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          resolve(all);
          s.destroy();
        }
      });
    }),
  );
  const client = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ...(alpn ? { ALPNProtocols: alpn } : {}) });
  client.on('error', () => {});
  const hello = await captured;
  client.destroy();
  server.close();
  return hello;
}

/** Re-frames one handshake record's body into two records, as a large ClientHello would arrive. */
function splitIntoTwoRecords(record: Buffer, at: number): Buffer {
  const body = record.subarray(5);
  const frame = (part: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([frame(body.subarray(0, at)), frame(body.subarray(at))]);
}

describe('detectProtocol', () => {
  let helloWithSni: Buffer;
  let helloWithoutSni: Buffer;
  before(async () => {
    helloWithSni = await realClientHello('DB.Example.com');
    helloWithoutSni = await realClientHello();
  });

  const table: Array<[string, () => Buffer, ProtocolDetection]> = [
    ['nothing yet', () => Buffer.alloc(0), { protocol: 'unknown', needMore: true }],
    ['a PostgreSQL StartupMessage, no adapter asked', () => Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]), { protocol: 'unknown', needMore: false }],
    ['SSH banner', () => Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'), { protocol: 'ssh', needMore: false }],
    ['SSH 1.99 banner', () => Buffer.from('SSH-1.99-legacy\r\n'), { protocol: 'ssh', needMore: false }],
    ['SSH banner prefix', () => Buffer.from('SSH-2'), { protocol: 'unknown', needMore: true }],
    ['SSH-1.5 (unsupported)', () => Buffer.from('SSH-1.5-old\r\n'), { protocol: 'unknown', needMore: false }],
    ['HTTP GET', () => Buffer.from('GET /v1/items?id=1 HTTP/1.1\r\nHost: api\r\n\r\n'), { protocol: 'http', needMore: false }],
    ['HTTP POST, line only', () => Buffer.from('POST /upload HTTP/1.0\n'), { protocol: 'http', needMore: false }],
    ['HTTP CONNECT', () => Buffer.from('CONNECT db:5432 HTTP/1.1\r\n'), { protocol: 'http', needMore: false }],
    ['HTTP/2 prior knowledge', () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), { protocol: 'http', needMore: false }],
    ['method prefix', () => Buffer.from('DEL'), { protocol: 'unknown', needMore: true }],
    ['request line not finished', () => Buffer.from('GET /very/long/path'), { protocol: 'unknown', needMore: true }],
    ['unknown method', () => Buffer.from('FETCH / HTTP/1.1\r\n'), { protocol: 'unknown', needMore: false }],
    ['HTTP/3 version', () => Buffer.from('GET / HTTP/3\r\n'), { protocol: 'unknown', needMore: false }],
    ['request line too long', () => Buffer.from(`GET /${'a'.repeat(9000)}`), { protocol: 'unknown', needMore: false }],
    ['TLS ClientHello with SNI', () => helloWithSni, { protocol: 'tls', sni: 'db.example.com', needMore: false }],
    ['TLS ClientHello without SNI', () => helloWithoutSni, { protocol: 'tls', needMore: false }],
    ['ClientHello split across two records', () => splitIntoTwoRecords(helloWithSni, 40), { protocol: 'tls', sni: 'db.example.com', needMore: false }],
    ['first of two records only', () => { const two = splitIntoTwoRecords(helloWithSni, 40); return two.subarray(0, 5 + 40 + 3); }, { protocol: 'unknown', needMore: true }],
    ['ClientHello truncated', () => helloWithSni.subarray(0, 60), { protocol: 'unknown', needMore: true }],
    ['TLS record header only', () => helloWithSni.subarray(0, 3), { protocol: 'unknown', needMore: true }],
    ['TLS alert record', () => Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), { protocol: 'unknown', needMore: false }],
    ['TLS handshake but ServerHello', () => Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]), { protocol: 'unknown', needMore: false }],
    ['SSLv3-ish bad version byte', () => Buffer.from([0x16, 0x03, 0x09, 0x00, 0x04]), { protocol: 'unknown', needMore: false }],
    ['binary noise', () => Buffer.from([0xff, 0x00, 0x13, 0x37]), { protocol: 'unknown', needMore: false }],
    ['MySQL-style client packet', () => Buffer.from([0x20, 0x00, 0x00, 0x01, 0x85]), { protocol: 'unknown', needMore: false }],
  ];

  for (const [name, bytes, expected] of table) {
    it(name, () => assert.deepEqual(detectProtocol(bytes()), expected));
  }

  it("asks the adapters' detectors first; one that needs more keeps the capture waiting", () => {
    const zeroFirst = { protocol: 'postgres' as const, detect: (d: Buffer) => (d[0] !== 0 ? ('no' as const) : d.length < 4 ? ('more' as const) : ('yes' as const)) };
    assert.deepEqual(detectProtocol(Buffer.from([0, 0]), [zeroFirst]), { protocol: 'unknown', needMore: true });
    assert.deepEqual(detectProtocol(Buffer.from([0, 0, 0, 8]), [zeroFirst]), { protocol: 'postgres', needMore: false });
    assert.deepEqual(detectProtocol(Buffer.from([0, 0, 0, 8])), { protocol: 'unknown', needMore: false }, 'without the adapter nobody claims it');
    // An adapter that claims an HTTP opening wins over egress's reading of it.
    const claimsAll = { protocol: 'http' as const, detect: () => 'yes' as const };
    assert.deepEqual(detectProtocol(Buffer.from('SSH-2.0-x\r\n'), [claimsAll]), { protocol: 'http', needMore: false });
  });

  it('asks for more on every proper prefix of a ClientHello, and decides on the whole', () => {
    for (let n = 0; n < helloWithSni.length; n++) {
      assert.deepEqual(detectProtocol(helloWithSni.subarray(0, n)), { protocol: 'unknown', needMore: true }, `prefix of ${n} bytes`);
    }
    assert.deepEqual(detectProtocol(helloWithSni), { protocol: 'tls', sni: 'db.example.com', needMore: false });
  });

  it('SNI from a real ClientHello: every truncation and random corruption answers without throwing', () => {
    const body = helloWithSni.subarray(9); // after the record header (5) and handshake header (4)
    assert.equal(serverNameFromClientHello(body), 'db.example.com');
    for (let n = 0; n < body.length; n++) {
      const sni = serverNameFromClientHello(body.subarray(0, n));
      assert.ok(sni === undefined || sni === 'db.example.com', `prefix ${n}`);
    }
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const corrupt = Buffer.from(body);
      for (let j = 0; j < 4; j++) corrupt[rand() % corrupt.length] = rand() & 0xff;
      const sni = serverNameFromClientHello(corrupt);
      assert.ok(sni === undefined || /^[a-z0-9_.-]+$/.test(sni), JSON.stringify(sni));
      const d = detectProtocol(Buffer.concat([helloWithSni.subarray(0, 9), corrupt]));
      assert.ok(['tls', 'unknown'].includes(d.protocol));
    }
  });

  it('survives corrupted ClientHello bodies without throwing', () => {
    for (let i = 9; i < helloWithSni.length; i += 7) {
      const corrupt = Buffer.from(helloWithSni);
      corrupt[i] = 0xff;
      const d = detectProtocol(corrupt);
      assert.ok(['tls', 'unknown'].includes(d.protocol));
    }
  });
});

describe('serverNameFromClientHello', () => {
  it('rejects names that are not DNS host names', () => {
    const hello = (name: string) => {
      const n = Buffer.from(name, 'latin1');
      const entry = Buffer.concat([Buffer.from([0, n.length >> 8, n.length & 0xff]), n]);
      const list = Buffer.concat([Buffer.from([entry.length >> 8, entry.length & 0xff]), entry]);
      const ext = Buffer.concat([Buffer.from([0, 0, list.length >> 8, list.length & 0xff]), list]);
      const exts = Buffer.concat([Buffer.from([ext.length >> 8, ext.length & 0xff]), ext]);
      // version, random, empty session id, one cipher suite, one compression method, extensions
      return Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0]), exts]);
    };
    assert.equal(serverNameFromClientHello(hello('api.internal')), 'api.internal');
    assert.equal(serverNameFromClientHello(hello('bad name')), undefined);
    assert.equal(serverNameFromClientHello(hello('trailing.dot.')), undefined);
    assert.equal(serverNameFromClientHello(hello('x'.repeat(64) + '.com')), undefined);
    assert.equal(serverNameFromClientHello(hello('\u00e9.example')), undefined);
    assert.equal(serverNameFromClientHello(hello('api.internal').subarray(0, 50)), undefined);
  });
});

describe('direct TLS to a guarded protocol (ALPN)', () => {
  const postgres = { protocol: 'postgres' as const, tlsAlpn: ['postgresql'], detect: (b: Buffer) => (b[0] === 0 ? ('more' as const) : ('no' as const)) };

  it('reads the ALPN ids a real ClientHello offers', async () => {
    const hello = await realClientHello('db.internal', ['h2', 'http/1.1']);
    assert.deepEqual(alpnFromClientHello(hello.subarray(9)), ['h2', 'http/1.1']);
    assert.equal(alpnFromClientHello((await realClientHello('db.internal')).subarray(9)), undefined);
  });

  it('a ClientHello offering an adapter\'s ALPN id is that protocol over TLS (PostgreSQL 17 sslnegotiation=direct)', async () => {
    const hello = await realClientHello('db.internal', ['postgresql']);
    assert.deepEqual(detectProtocol(hello, [postgres]), { protocol: 'tls', sni: 'db.internal', needMore: false, tlsFor: 'postgres' });
    // Without the adapter asked, or with other ids, it is plain TLS.
    assert.deepEqual(detectProtocol(hello), { protocol: 'tls', sni: 'db.internal', needMore: false });
    assert.deepEqual(detectProtocol(await realClientHello('db.internal', ['h2']), [postgres]), { protocol: 'tls', sni: 'db.internal', needMore: false });
  });
});
