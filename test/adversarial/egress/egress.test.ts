// Attacker cases against the egress path: a runner in the pod tries to reach the guarded PostgreSQL
// through the passthrough relay (uninspected, with credentials of its own) or to loop the relay back
// into the pod. A real sidegate with its capture listener; the kernel's NAT record is replaced by
// a table keyed by the client's loopback source address (no network namespace needed), so every
// other part — detection, target lookup, egress decision, relay, audit — is the product's own.
//
// The database is also reachable at a second address no target names: a plain TCP forwarder on
// the pod's non-loopback address in front of the test PostgreSQL (the "Service IP" of the
// caveat in docs/POLICY.md). Each case checks the decision the client saw, what reached that
// forwarder (nothing, when refused), and the span.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { startHarness, basePolicy, pgInfo, type Harness } from '../../support/sidegate-harness.js';
import type { OriginalDestination } from '../../../sidecar/capture/original-destination.js';
import type { ReceivedSpan } from '../../support/otlp-receiver.js';

/** A non-loopback address of this machine: the forwarder listens there, and the loop guard knows it. */
function podAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return undefined;
}

interface Forwarder {
  port: number;
  /** Bytes each accepted connection sent toward PostgreSQL. */
  connections: { bytesFromClient: number }[];
  close(): Promise<void>;
}

async function startForwarder(host: string, to: { host: string; port: number }): Promise<Forwarder> {
  const connections: Forwarder['connections'] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    const record = { bytesFromClient: 0 };
    connections.push(record);
    const up = net.connect(to);
    for (const x of [s, up]) {
      sockets.add(x);
      x.on('error', () => {});
      x.once('close', () => sockets.delete(x));
    }
    s.on('data', (d: Buffer) => (record.bytesFromClient += d.length));
    s.pipe(up);
    up.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function startupMessage(user: string, database: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.writeUInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

/** A TLS 1.3-style ClientHello with server_name and ALPN, as libpq 17 sends for sslnegotiation=direct. */
function clientHello(opts: { sni?: string; alpn?: string[] }): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
  const extensions: Buffer[] = [];
  if (opts.sni) {
    const name = Buffer.from(opts.sni, 'latin1');
    extensions.push(Buffer.concat([u16(0), vec16(vec16(Buffer.concat([Buffer.from([0]), vec16(name)])))]));
  }
  if (opts.alpn) {
    const list = Buffer.concat(opts.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
    extensions.push(Buffer.concat([u16(16), vec16(vec16(list))]));
  }
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7), // random
    Buffer.from([0]), // session id
    vec16(Buffer.from([0x13, 0x01])), // TLS_AES_128_GCM_SHA256
    Buffer.from([1, 0]), // compression: null
    vec16(Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(handshake.length), handshake]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Exchange {
  /** Everything the client received until the connection closed (or the wait ran out). */
  received: Buffer;
  closed: boolean;
  /** The client's source address and port: the span of this connection records them. */
  client: { address: string; port: number };
}

describe('adversarial: egress relay', () => {
  const pod = podAddress();
  let h: Harness;
  let forwarder: Forwarder;
  const destinations = new Map<string, OriginalDestination>();
  let nextSource = 10;

  before(async () => {
    if (!pod) return;
    h = await startHarness({
      policy: (env) => `${basePolicy(env)}\negress:\n  default: passthrough\n`,
      capture: { originalDestination: (socket) => destinations.get(socket.remoteAddress ?? '') ?? null },
    });
    forwarder = await startForwarder(pod, { host: h.pg.host, port: h.pg.port });
  });
  after(async () => {
    await forwarder?.close();
    await h?.close();
  });

  /**
   * Connects to the capture port as if dialling `destination`, then plays `script` (bytes to send,
   * or a pause in ms); returns what came back by the time the server closed or `waitMs` passed.
   */
  async function exchange(destination: OriginalDestination, script: Array<Buffer | number>, waitMs = 1500): Promise<Exchange> {
    const source = `127.0.0.${nextSource++}`;
    destinations.set(source, destination);
    const socket = net.connect({ host: '127.0.0.1', port: h.capturePort!, localAddress: source });
    let localPort = 0;
    socket.once('connect', () => (localPort = socket.localPort ?? 0));
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    const gone = new Promise<void>((r) => socket.once('close', () => ((closed = true), r())));
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    for (const step of script) {
      if (closed) break;
      if (typeof step === 'number') await sleep(step);
      else socket.write(step);
    }
    await Promise.race([gone, sleep(waitMs)]);
    const client = { address: source, port: localPort };
    socket.destroy();
    return { received: Buffer.concat(chunks), closed, client };
  }

  /** The span of one connection (egress or refused), by the client's source address and port. */
  const spanOf = (r: Exchange) =>
    h.receiver.waitForSpans((spans) => spans.find((s) => s.attributes['client.address'] === r.client.address && s.attributes['client.port'] === r.client.port));

  /** The log line of a span's connection (each names its span's trace): its event and rule. */
  const logOf = (span: { traceId: string }) =>
    h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['traceId'] === span.traceId && typeof l['event'] === 'string');

  /** PostgreSQL answered the startup with an authentication request: the client was talking to the database itself. */
  const reachedPostgres = (r: Exchange) => r.received.length > 0 && r.received[0] === 0x52; /* 'R' */
  const refusedInPostgresTerms = (r: Exchange) => r.received.length > 0 && r.received[0] === 0x45 && r.received.includes(Buffer.from('28000'));

  const plain = () => startupMessage('sidegate_plain', 'sidegate_test');

  it('baseline: a PostgreSQL startup to the database\'s second address is refused (egress-guarded-protocol)', { skip: !pod }, async () => {
    const before = forwarder.connections.length;
    const r = await exchange({ host: pod!, port: forwarder.port, family: 4 }, [plain()]);
    assert.ok(refusedInPostgresTerms(r), `expected FATAL 28000, got ${r.received.toString('latin1')}`);
    assert.equal(forwarder.connections.length, before, 'nothing was relayed');
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.decision'], 'deny');
    assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
    assert.deepEqual([logOf(span)?.['event'], logOf(span)?.['rule'], logOf(span)?.['level']], ['egress.refused', 'egress-guarded-protocol', 'warn']);
  });

  it('attacker: a client that stays silent past the server-first wait, then sends a PostgreSQL startup, never reaches the database', { skip: !pod }, async () => {
    const before = forwarder.connections.length;
    const r = await exchange({ host: pod!, port: forwarder.port, family: 4 }, [400, plain()]);
    assert.ok(!reachedPostgres(r), 'the startup was relayed to PostgreSQL uninspected');
    assert.ok(refusedInPostgresTerms(r), `expected FATAL 28000, got ${JSON.stringify(r.received.toString('latin1'))}`);
    assert.ok(forwarder.connections.slice(before).every((c) => c.bytesFromClient === 0), 'no client byte reached the database');
    const span = await spanOf(r);
    assertLateRefusal(span);
  });

  it('attacker: a PostgreSQL startup cut short until detection times out, then completed, never reaches the database', { skip: !pod }, async () => {
    const before = forwarder.connections.length;
    const startup = plain();
    // Five bytes: a prefix the PostgreSQL detector answers "more" to; detection gives up after 5 s.
    const r = await exchange({ host: pod!, port: forwarder.port, family: 4 }, [startup.subarray(0, 5), 5600, startup.subarray(5)]);
    assert.ok(!reachedPostgres(r), 'the startup was relayed to PostgreSQL uninspected');
    assert.ok(forwarder.connections.slice(before).every((c) => c.bytesFromClient === 0), 'no client byte reached the database');
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.decision'], 'deny');
    assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
  });

  it('attacker: PostgreSQL 17 direct TLS (ALPN "postgresql") to the database\'s second address is refused, not relayed as TLS', { skip: !pod }, async () => {
    const before = forwarder.connections.length;
    const r = await exchange({ host: pod!, port: forwarder.port, family: 4 }, [clientHello({ sni: 'localhost', alpn: ['postgresql'] })]);
    assert.equal(forwarder.connections.length, before, 'the TLS connection was relayed to the database');
    assert.ok(r.closed);
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.decision'], 'deny');
    assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
    assert.equal(span.attributes['tls.client.server_name'], 'localhost', 'the SNI is recorded');
  });

  it('holds: TLS with another ALPN and a lying SNI (the target\'s name) is relayed by the default, SNI recorded only', { skip: !pod }, async () => {
    const before = forwarder.connections.length;
    const r = await exchange({ host: pod!, port: forwarder.port, family: 4 }, [clientHello({ sni: 'localhost', alpn: ['h2'] })], 800);
    // PostgreSQL 15 answers garbage with a close; what matters is the decision and its record.
    assert.equal(forwarder.connections.length, before + 1);
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.decision'], 'passthrough');
    assert.equal(span.attributes['sidegate.rule'], 'egress-default');
    assert.equal(span.attributes['server.address'], pod);
    assert.equal(span.attributes['tls.client.server_name'], 'localhost');
    assert.deepEqual([logOf(span)?.['event'], logOf(span)?.['rule'], logOf(span)?.['sni']], ['egress.relayed', 'egress-default', 'localhost']);
  });

  it('holds: TLS to the target\'s own address and port is refused as protocol-mismatch, never relayed', { skip: !pod }, async () => {
    const r = await exchange({ host: h.pg.host, port: h.pg.port, family: 4 }, [clientHello({ sni: 'localhost', alpn: ['postgresql'] })]);
    assert.ok(r.closed);
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.rule'], 'protocol-mismatch');
    assert.deepEqual([logOf(span)?.['event'], logOf(span)?.['rule']], ['connection.refused', 'protocol-mismatch']);
  });

  it('holds: a silent client to the target\'s own address is refused, not relayed', { skip: !pod }, async () => {
    const r = await exchange({ host: h.pg.host, port: h.pg.port, family: 4 }, [400, plain()]);
    assert.ok(!reachedPostgres(r));
    const span = await spanOf(r);
    assert.equal(span.attributes['sidegate.rule'], 'protocol-mismatch');
  });

  it('holds: the target as an IPv4-mapped IPv6 destination goes to the adapter, not to egress', { skip: !pod }, async () => {
    const r = await exchange({ host: `::ffff:${h.pg.host}`, port: h.pg.port, family: 6 }, [plain()]);
    // The adapter asks the client for its token (cleartext password request), it is not PostgreSQL's own challenge.
    assert.equal(r.received[0], 0x52);
    assert.equal(r.received.readUInt32BE(5), 3, 'AuthenticationCleartextPassword from sidegate');
  });

  it('holds: a silent client of a server-first service still gets its greeting and is relayed both ways', { skip: !pod }, async () => {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.write('220 greeting\r\n');
      s.on('data', (d: Buffer) => s.end(`echo ${d.toString('latin1')}`));
    });
    await new Promise<void>((r) => server.listen(0, pod, () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await exchange({ host: pod!, port, family: 4 }, [400, Buffer.from('HELO runner\r\n')]);
      assert.equal(r.received.toString('latin1'), '220 greeting\r\necho HELO runner\r\n');
      const span = await spanOf(r);
      assert.equal(span.attributes['sidegate.decision'], 'passthrough');
      assert.equal(span.attributes['sidegate.protocol'], 'unknown');
      assert.equal(span.attributes['sidegate.egress.bytes_to_server'], 13);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  for (const [label, destination] of [
    ['the pod\'s address and the capture port', () => ({ host: pod!, port: h.capturePort!, family: 4 as const })],
    ['the pod\'s address and the target listener', () => ({ host: pod!, port: h.port, family: 4 as const })],
    // Not the target's port: 127.0.0.1:55432 *is* the target, which the adapter takes.
    ['loopback, another port', () => ({ host: '127.0.0.1', port: forwarder.port, family: 4 as const })],
    ['IPv4-mapped loopback', () => ({ host: '::ffff:127.0.0.1', port: forwarder.port, family: 6 as const })],
    ['IPv6 loopback and the database port', () => ({ host: '::1', port: h.pg.port, family: 6 as const })],
    ['the unspecified address', () => ({ host: '0.0.0.0', port: h.pg.port, family: 4 as const })],
  ] as const) {
    it(`holds: a loop through the relay (${label}) is refused (egress-loop)`, { skip: !pod }, async () => {
        const d = destination();
      const r = await exchange(d, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
      assert.ok(r.closed);
      assert.ok(!r.received.includes(Buffer.from('HTTP/1.')), 'nothing answered through the relay');
      const span = await spanOf(r);
      assert.equal(span.attributes['sidegate.decision'], 'deny');
      assert.equal(span.attributes['sidegate.rule'], 'egress-loop');
    });
  }
});

describe('adversarial: egress relay and a target written as a non-canonical IPv6 address', () => {
  const pod6 = podAddress6();
  let h: Harness;
  let forwarder: Forwarder;
  const destinations = new Map<string, OriginalDestination>();

  before(async () => {
    if (!pod6) return;
    const pg = await pgInfo();
    forwarder = await startForwarder(pod6, { host: pg.host, port: pg.port });
    // The same address the kernel reports as e.g. fd00::2, written out in full; and an operator rule
    // that relays PostgreSQL to other databases in the range (which the guarded target sits in).
    const spelled = expandIPv6(pod6).toUpperCase();
    h = await startHarness({
      policy: (env) =>
        basePolicy(env).replace(`address: ${env.pg.host}:${env.pg.port}`, `address: "[${spelled}]:${forwarder.port}"`).replace(/    tls: \{[^}]*\}\n/, '    tls: { mode: disable }\n') +
        `\negress:\n  default: passthrough\n  rules:\n    - { name: other-databases, destinations: ["${pod6}/64"], protocols: [postgres], action: passthrough }\n`,
      capture: { originalDestination: (socket) => destinations.get(socket.remoteAddress ?? '') ?? null },
    });
  });
  after(async () => {
    await h?.close();
    await forwarder?.close();
  });

  it('attacker: a PostgreSQL startup to the target\'s address goes to the adapter, never through the relay', { skip: !pod6 }, async () => {
    destinations.set('127.0.0.200', { host: pod6!, port: forwarder.port, family: 6 });
    const socket = net.connect({ host: '127.0.0.1', port: h.capturePort!, localAddress: '127.0.0.200' });
    socket.on('error', () => {});
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(startupMessage('sidegate_plain', 'sidegate_test'));
    await sleep(800);
    socket.destroy();
    const answer = Buffer.concat(received);
    assert.equal(answer[0], 0x52, `expected an authentication request, got ${JSON.stringify(answer.toString('latin1'))}`);
    // sidegate's adapter asks the client for its token and connects upstream only after verifying
    // it: nothing reached the database. Through the relay, PostgreSQL itself would be asking.
    assert.equal(forwarder.connections.length, 0, 'the client\'s own startup was relayed to PostgreSQL');
    assert.ok(!h.logs.some((l) => l.includes('security: egress passthrough')));
  });
});

function podAddress6(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv6' && !i.internal && !i.address.startsWith('fe80')) return i.address;
  }
  return undefined;
}

/** fd00::2 → fd00:0:0:0:0:0:0:2: the same address, spelled as a policy author might. */
function expandIPv6(address: string): string {
  const [head, tail] = address.split('::') as [string, string | undefined];
  if (tail === undefined) return address;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].join(':');
}

function assertLateRefusal(span: ReceivedSpan): void {
  assert.equal(span.attributes['sidegate.decision'], 'deny');
  assert.equal(span.attributes['sidegate.rule'], 'egress-guarded-protocol');
  assert.equal(span.attributes['sidegate.protocol'], 'postgres');
}
