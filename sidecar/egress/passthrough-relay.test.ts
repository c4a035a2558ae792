import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { relayToDestination, type RelayResult } from './passthrough-relay.js';

/** Listens on 127.0.0.1 (port 0); closes with the test. */
async function listen(t: { after(fn: () => unknown): void }, onConnection: (s: net.Socket) => void, opts: net.ServerOpts = {}): Promise<number> {
  const server = net.createServer(opts, onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/**
 * Stands in for the capture listener: reads the first chunk, puts it back (as protocol detection
 * does) and relays; resolves with the relay's result.
 */
async function relayFront(t: { after(fn: () => unknown): void }, destPort: number, results: RelayResult[], keepOpeningBytes = 64): Promise<number> {
  return listen(t, (socket) => {
    socket.once('readable', () => {
      const first = socket.read() as Buffer | null;
      if (first) socket.unshift(first);
      relayToDestination(socket, { host: '127.0.0.1', port: destPort, connectTimeoutMs: 2000, keepOpeningBytes, onClosed: (r) => results.push(r) });
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function waitFor<T>(get: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('bytes go through untouched both ways, the peeked opening first; a half-close still gets the reply', async (t) => {
  // The server answers only after the client has finished sending (like `wc`): needs half-close.
  const dest = await listen(t, (s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      s.end(`${all.length} ${sha(all)} ${all.subarray(0, 12).toString('latin1')}`);
    });
  }, { allowHalfOpen: true });
  const results: RelayResult[] = [];
  const front = await relayFront(t, dest, results);
  const payload = Buffer.concat([Buffer.from('HELLO-OPENING'), Buffer.alloc(3 * 1024 * 1024, 0x61)]);
  const c = net.connect({ host: '127.0.0.1', port: front, allowHalfOpen: true });
  const reply: Buffer[] = [];
  c.on('data', (d) => reply.push(d));
  c.end(payload);
  await once(c, 'end');
  assert.equal(Buffer.concat(reply).toString(), `${payload.length} ${sha(payload)} HELLO-OPENIN`);
  c.destroy();
  const r = await waitFor(() => results[0]);
  assert.equal(r.connected, true);
  assert.equal(r.error, undefined);
  assert.equal(r.bytesToServer, payload.length);
  assert.equal(r.bytesToClient, Buffer.concat(reply).length);
  assert.equal(r.opening.toString(), payload.subarray(0, 64).toString(), 'the opening kept is bounded');
});

test('backpressure: a large download to a client that reads slowly arrives whole', async (t) => {
  const big = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  const dest = await listen(t, (s) => s.once('data', () => s.end(big)));
  const results: RelayResult[] = [];
  const front = await relayFront(t, dest, results);
  const c = net.connect({ host: '127.0.0.1', port: front });
  c.write('GET');
  c.pause();
  await new Promise((r) => setTimeout(r, 300)); // the relay must hold back, not buffer 16 MiB
  const got: Buffer[] = [];
  c.on('data', (d) => got.push(d));
  c.resume();
  await once(c, 'end');
  assert.equal(sha(Buffer.concat(got)), sha(big));
  const r = await waitFor(() => results[0]);
  assert.equal(r.bytesToClient, big.length);
  assert.equal(r.bytesToServer, 3);
});

test('a destination that refuses: the client is closed, the result says why', async (t) => {
  const closedPort = await listen(t, () => {});
  // Find a port nobody listens on: take one, release it.
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const free = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  assert.notEqual(free, closedPort);
  const results: RelayResult[] = [];
  const front = await relayFront(t, free, results);
  const c = net.connect({ host: '127.0.0.1', port: front });
  c.on('error', () => {});
  c.write('hello');
  await once(c, 'close');
  const r = await waitFor(() => results[0]);
  assert.equal(r.connected, false);
  assert.match(r.error ?? '', /ECONNREFUSED/);
  assert.equal(r.bytesToServer, 0);
});

test('a client reset closes the upstream connection too', async (t) => {
  let upstreamClosed = false;
  const dest = await listen(t, (s) => {
    s.on('error', () => {});
    s.resume();
    s.on('close', () => (upstreamClosed = true));
  });
  const results: RelayResult[] = [];
  const front = await relayFront(t, dest, results);
  const c = net.connect({ host: '127.0.0.1', port: front });
  c.write('hello');
  await new Promise((r) => setTimeout(r, 100));
  c.resetAndDestroy();
  const r = await waitFor(() => results[0]);
  assert.equal(r.connected, true);
  assert.ok(r.error, 'the abnormal end is recorded');
  await waitFor(() => (upstreamClosed ? true : undefined));
});

test('destroying the client (the sidecar draining) closes the upstream connection', async (t) => {
  let upstreamClosed = false;
  const dest = await listen(t, (s) => {
    s.resume();
    s.on('close', () => (upstreamClosed = true));
  });
  const results: RelayResult[] = [];
  let relayed: net.Socket | undefined;
  const front = await listen(t, (socket) => {
    relayed = socket;
    relayToDestination(socket, { host: '127.0.0.1', port: dest, connectTimeoutMs: 2000, onClosed: (r) => results.push(r) });
  });
  const c = net.connect({ host: '127.0.0.1', port: front });
  c.on('error', () => {});
  c.write('hello');
  await new Promise((r) => setTimeout(r, 100));
  relayed!.destroy();
  await waitFor(() => results[0]);
  await waitFor(() => (upstreamClosed ? true : undefined));
  c.destroy();
});

/** A front whose relay screens the client's opening; the destination records every byte it got. */
async function screenedFront(t: { after(fn: () => unknown): void }, screen: (opening: Buffer, final: boolean) => 'relay' | 'more' | 'refuse') {
  const got: Buffer[] = [];
  const results: RelayResult[] = [];
  const dest = await listen(t, (s) => {
    s.on('error', () => {}); // a refused relay drops its connection here, possibly with a reset
    s.write('greeting\n'); // server-first: reaches the client while its bytes are held
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => s.end());
  });
  const front = await listen(t, (socket) => relayToDestination(socket, { host: '127.0.0.1', port: dest, connectTimeoutMs: 2000, screen, onClosed: (r) => results.push(r) }));
  return { front, got, results };
}

test('screen: a refused opening never reaches the destination; the server-first greeting still reached the client', async (t) => {
  const { front, got, results } = await screenedFront(t, (opening) => (opening.includes('STARTUP') ? 'refuse' : 'more'));
  const c = net.connect(front, '127.0.0.1');
  const received: Buffer[] = [];
  c.on('data', (d: Buffer) => received.push(d));
  await once(c, 'connect');
  await waitFor(() => (Buffer.concat(received).length > 0 ? true : undefined));
  c.write('STAR');
  await new Promise((r) => setTimeout(r, 50));
  c.write('TUP and more');
  await once(c, 'close');
  const r = await waitFor(() => results[0]);
  assert.equal(r.refused, true);
  assert.equal(r.bytesToServer, 0);
  assert.equal(Buffer.concat(got).length, 0);
  assert.equal(Buffer.concat(received).toString(), 'greeting\n');
});

test('screen: a relayed opening goes first and in order; a client that ends mid-opening with "more" fails closed', async (t) => {
  const relay = await screenedFront(t, (opening) => (opening.length >= 4 ? 'relay' : 'more'));
  const c = net.connect(relay.front, '127.0.0.1');
  c.on('data', () => {});
  await once(c, 'connect');
  c.write('ab');
  c.write('cdef');
  c.end('gh');
  await once(c, 'close');
  const r = await waitFor(() => relay.results[0]);
  assert.equal(r.refused, false);
  assert.equal(Buffer.concat(relay.got).toString(), 'abcdefgh');
  assert.equal(r.bytesToServer, 8);

  const undecided = await screenedFront(t, () => 'more');
  const d = net.connect(undecided.front, '127.0.0.1');
  d.on('data', () => {});
  await once(d, 'connect');
  d.end('\x00\x00\x00');
  await once(d, 'close');
  const u = await waitFor(() => undecided.results[0]);
  assert.equal(u.refused, true);
  assert.equal(Buffer.concat(undecided.got).length, 0);
});
