// The listener's connection handling on loopback, with the original destination supplied by the
// test. The kernel path (REDIRECT + SO_ORIGINAL_DST) runs in test/netns/transparent-capture.test.ts.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startTransparentListener, type TransparentListener, type TransparentListenerOptions, type CaptureRejection, type CaptureDetection } from './transparent-listener.js';
import type { OriginalDestination } from './original-destination.js';

const DB: OriginalDestination = { host: '10.231.0.2', port: 5432, family: 4 };
const startup = (() => {
  const body = Buffer.from('user\0ci\0\0', 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.writeUInt32BE(196608, 4);
  return Buffer.concat([head, body]);
})();

interface Handover {
  destination: OriginalDestination;
  detection: CaptureDetection;
  initialBytes: Buffer;
  /** Everything the adapter's own 'data' listener received. */
  received: () => Buffer;
  socket: net.Socket;
}

let listener: TransparentListener | undefined;
afterEach(async () => {
  listener?.destroyAll();
  await listener?.stopAccepting();
  listener = undefined;
});

async function start(overrides: Partial<TransparentListenerOptions<OriginalDestination>> = {}) {
  const handovers: Handover[] = [];
  const rejections: CaptureRejection[] = [];
  const errors: Error[] = [];
  let notify = () => {};
  listener = await startTransparentListener<OriginalDestination>({
    hosts: ['127.0.0.1'],
    port: 0,
    serverFirstWaitMs: 60,
    // Stands in for the PostgreSQL adapter's detector (capture knows no protocol's opening).
    detectors: [{ protocol: 'postgres', detect: (d: Buffer) => (d.length < 8 ? 'more' : d.readUInt32BE(4) >>> 16 === 3 ? 'yes' : 'no') }],
    originalDestination: () => DB,
    resolveTarget: (d) => d,
    onConnection(socket, destination, detection, _target, initialBytes) {
      const chunks: Buffer[] = [];
      // Attached synchronously, as the protocol adapters do: must see the replayed bytes first.
      socket.on('data', (b: Buffer) => {
        chunks.push(b);
        notify();
      });
      handovers.push({ destination, detection, initialBytes, socket, received: () => Buffer.concat(chunks) });
      notify();
    },
    onUnknown(socket, rejection) {
      rejections.push(rejection);
      notify();
    },
    onError: (err) => errors.push(err),
    ...overrides,
  });
  const until = async (cond: () => boolean, ms = 2000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise<void>((r) => {
        notify = r;
        setTimeout(r, 20);
      });
    }
  };
  const connect = async () => {
    const s = net.connect(listener!.addresses[0]!.port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    return s;
  };
  return { handovers, rejections, errors, until, connect };
}

describe('startTransparentListener', () => {
  it('detects PostgreSQL and replays the peeked bytes to the adapter', async () => {
    const t = await start();
    const client = await t.connect();
    client.write(startup);
    await t.until(() => t.handovers.length === 1 && t.handovers[0]!.received().length >= startup.length);
    const h = t.handovers[0]!;
    assert.deepEqual(h.destination, DB);
    assert.deepEqual(h.detection, { protocol: 'postgres', needMore: false, clientSilent: false });
    assert.deepEqual(h.initialBytes, startup);
    assert.deepEqual(h.received(), startup, 'adapter must receive the opening exactly once');
    client.write('more');
    await t.until(() => h.received().length === startup.length + 4);
    client.destroy();
  });

  it('waits for an opening that arrives in pieces', async () => {
    const t = await start();
    const client = await t.connect();
    client.write('SSH-2');
    await new Promise((r) => setTimeout(r, 100)); // longer than serverFirstWaitMs: not silent
    client.write('.0-OpenSSH_9.2\r\n');
    await t.until(() => t.handovers.length === 1);
    assert.equal(t.handovers[0]!.detection.protocol, 'ssh');
    assert.equal(t.handovers[0]!.detection.clientSilent, false);
    await t.until(() => t.handovers[0]!.received().toString() === 'SSH-2.0-OpenSSH_9.2\r\n');
    client.destroy();
  });

  it('hands a silent client over as server-first after the wait', async () => {
    const t = await start({ serverFirstWaitMs: 80 });
    const started = Date.now();
    const client = await t.connect();
    await t.until(() => t.handovers.length === 1);
    assert.ok(Date.now() - started >= 70, 'decided too early');
    const h = t.handovers[0]!;
    assert.deepEqual(h.detection, { protocol: 'unknown', needMore: false, clientSilent: true });
    assert.equal(h.initialBytes.length, 0);
    client.write('late bytes');
    await t.until(() => h.received().toString() === 'late bytes');
    client.destroy();
  });

  it('hands a server-first destination over at once, without waiting for the client', async () => {
    const asked: OriginalDestination[] = [];
    const t = await start({ serverFirstWaitMs: 2000, serverFirst: (d) => (asked.push(d), 'mysql') });
    const started = Date.now();
    const client = await t.connect();
    await t.until(() => t.handovers.length === 1, 1000);
    assert.ok(Date.now() - started < 1000, 'waited for the client');
    assert.deepEqual(asked, [DB]);
    const h = t.handovers[0]!;
    assert.deepEqual(h.detection, { protocol: 'mysql', needMore: false, clientSilent: true });
    assert.equal(h.initialBytes.length, 0);
    client.write('handshake response');
    await t.until(() => h.received().toString() === 'handshake response');
    client.destroy();
  });

  it('a destination that is not server-first is still detected from its opening', async () => {
    const t = await start({ serverFirst: () => undefined });
    const client = await t.connect();
    client.write(startup);
    await t.until(() => t.handovers.length === 1);
    assert.equal(t.handovers[0]!.detection.protocol, 'postgres');
    client.destroy();
  });

  it('fails closed when the server-first lookup throws', async () => {
    const t = await start({
      serverFirst: () => {
        throw new Error('directory broken');
      },
    });
    const client = await t.connect();
    await t.until(() => t.rejections.length === 1);
    assert.equal(t.rejections[0]!.reason, 'resolve-failed');
    assert.equal(t.handovers.length, 0);
    client.destroy();
  });

  it('stops peeking at maxPeekBytes and still delivers everything', async () => {
    const t = await start({ maxPeekBytes: 1024 });
    const client = await t.connect();
    const long = Buffer.from(`GET /${'a'.repeat(4000)}`);
    client.write(long);
    await t.until(() => t.handovers.length === 1 && t.handovers[0]!.received().length === long.length);
    assert.equal(t.handovers[0]!.detection.protocol, 'unknown');
    assert.deepEqual(t.handovers[0]!.received(), long);
    client.destroy();
  });

  it('gives up on an unfinished opening after detectionTimeoutMs', async () => {
    const t = await start({ detectionTimeoutMs: 150 });
    const client = await t.connect();
    client.write('GET /slow');
    await t.until(() => t.handovers.length === 1);
    assert.deepEqual(t.handovers[0]!.detection, { protocol: 'unknown', needMore: false, clientSilent: false });
    await t.until(() => t.handovers[0]!.received().toString() === 'GET /slow');
    client.destroy();
  });

  it('closes and reports a destination no policy names; a synchronous error reply still reaches the client', async () => {
    const t = await start({
      resolveTarget: () => null,
      onUnknown(socket, rejection) {
        t.rejections.push(rejection);
        socket.write('refused\n');
      },
    });
    const client = await t.connect();
    let reply = '';
    client.on('data', (b: Buffer) => (reply += b.toString()));
    client.write(startup);
    await once(client, 'close');
    assert.equal(reply, 'refused\n');
    assert.equal(t.handovers.length, 0);
    assert.equal(t.rejections.length, 1);
    assert.equal(t.rejections[0]!.reason, 'no-target');
    assert.deepEqual(t.rejections[0]!.destination, DB);
    assert.equal(t.rejections[0]!.detection?.protocol, 'postgres');
    assert.match(t.rejections[0]!.message, /10\.231\.0\.2:5432 \(postgres\)/);
    assert.equal(t.rejections[0]!.client.host, '127.0.0.1');
  });

  it('fails closed when the original destination is missing or cannot be read', async () => {
    for (const originalDestination of [() => null, () => { throw new Error('koffi missing'); }]) {
      const t = await start({ originalDestination });
      const client = await t.connect();
      await once(client, 'close');
      assert.equal(t.handovers.length, 0);
      assert.equal(t.rejections[0]!.reason, 'no-original-destination');
      await listener!.stopAccepting();
    }
  });

  it('refuses a direct connection to the capture port', async () => {
    const t = await start({ originalDestination: (s) => ({ host: s.localAddress!, port: s.localPort!, family: 4 }) });
    const client = await t.connect();
    await once(client, 'close');
    assert.equal(t.rejections[0]!.reason, 'not-redirected');
    assert.equal(t.handovers.length, 0);
  });

  it('fails closed when resolveTarget throws', async () => {
    const t = await start({ resolveTarget: () => { throw new Error('policy not loaded'); } });
    const client = await t.connect();
    client.write(startup);
    await once(client, 'close');
    assert.equal(t.rejections[0]!.reason, 'resolve-failed');
    assert.equal(t.rejections[0]!.message, 'policy not loaded');
  });

  it('survives clients that reset during detection and adapters that throw', async () => {
    const t = await start({
      onConnection() {
        throw new Error('adapter bug');
      },
    });
    const reset = await t.connect();
    reset.write('SSH-');
    reset.resetAndDestroy();
    const half = await t.connect();
    half.end('GET /x'); // half-closes mid-opening: nothing can be replayed, dropped
    await once(half, 'close');
    const client = await t.connect();
    client.write(startup);
    await once(client, 'close');
    await t.until(() => t.errors.length === 1);
    assert.equal(t.errors[0]!.message, 'adapter bug');
    await t.until(() => listener!.open === 0);
  });

  it('binds every requested address', async () => {
    listener = await startTransparentListener({
      hosts: ['127.0.0.1', '::1'],
      port: 0,
      resolveTarget: () => null,
      onConnection: () => {},
    });
    assert.deepEqual(listener.addresses.map((a) => a.host), ['127.0.0.1', '::1']);
  });

  it('reports a port already in use and leaves nothing bound', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    await assert.rejects(
      startTransparentListener({ hosts: ['::1', '127.0.0.1'], port, resolveTarget: () => null, onConnection: () => {} }),
      /EADDRINUSE/,
    );
    // The IPv6 listener that did bind was closed again.
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host: '::1', ipv6Only: true }, resolve);
    });
    probe.close();
    blocker.close();
  });

  it('bounds the connections in detection: beyond it new ones are closed at once, and a slot frees when one is decided', async () => {
    const overloads: string[] = [];
    const t = await start({ maxDetecting: 2, detectionTimeoutMs: 5000, onOverload: (c) => overloads.push(c.host) });
    // Two clients stall inside an opening (a prefix of SSH's): both hold a detection slot.
    const a = await t.connect();
    a.write('SSH-2');
    const b = await t.connect();
    b.write('SSH-2');
    const c = await t.connect();
    await once(c, 'close');
    assert.deepEqual(overloads, ['127.0.0.1']);
    // One finishes its opening: its slot is free again, and a new client is served.
    a.write('.0-x\r\n');
    await t.until(() => t.handovers.length === 1);
    const d = await t.connect();
    d.write('SSH-2.0-y\r\n');
    await t.until(() => t.handovers.length === 2);
    assert.equal(overloads.length, 1);
    for (const s of [a, b, d]) s.destroy();
  });
});
