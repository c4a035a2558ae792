import { test } from 'node:test';
import net from 'node:net';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { CapturedEgress } from './captured-egress.js';
import { silentLogger } from '../../core/logging/logger.js';
import type { CaptureDetection } from '../capture/transparent-listener.js';

const tls: CaptureDetection = { protocol: 'tls', sni: 'x.example', needMore: false, clientSilent: false };
const dest = (host: string, port: number) => ({ host, port, family: host.includes(':') ? (6 as const) : (4 as const) });

function egress(unresolved: number[] = []) {
  return new CapturedEgress({
    // A rule that would relay everything: the built-in refusals must still come first.
    policy: { defaultAction: 'refuse', rules: [{ name: 'everything', action: 'passthrough' }] },
    audit: { startSession: () => assert.fail('decide() records nothing') },
    log: silentLogger,
    ownPorts: () => [16001, 16002],
    unresolvedTargetPorts: () => new Set(unresolved),
    refuse: () => {},
    localAddresses: () => ['10.0.0.7'],
  });
}

test('loops are refused before any rule: loopback, and the sidecar ports on the pod address', () => {
  assert.deepEqual(egress().decide(dest('127.0.0.1', 443), tls), { action: 'refuse', rule: 'egress-loop' });
  assert.deepEqual(egress().decide(dest('10.0.0.7', 16002), tls), { action: 'refuse', rule: 'egress-loop' });
});

test("a port of a target whose address is unknown is refused before any rule", () => {
  assert.deepEqual(egress([5432]).decide(dest('192.0.2.9', 5432), tls), { action: 'refuse', rule: 'target-unresolved' });
  assert.deepEqual(egress([5432]).decide(dest('192.0.2.9', 443), tls), { action: 'passthrough', rule: 'everything' });
});

test('otherwise the policy rules decide', () => {
  assert.deepEqual(egress().decide(dest('10.0.0.7', 8080), tls), { action: 'passthrough', rule: 'everything' });
});

test('a guarded protocol to an unnamed address is refused by default; only a rule naming it relays it', () => {
  const pg: CaptureDetection = { protocol: 'postgres', needMore: false, clientSilent: false };
  const make = (rules: { name: string; action: 'passthrough' | 'refuse'; protocols?: ('postgres' | 'tls')[] }[]) =>
    new CapturedEgress({
      policy: { defaultAction: 'passthrough', rules },
      audit: { startSession: () => assert.fail('decide() records nothing') },
      log: silentLogger,
      ownPorts: () => [16001],
      unresolvedTargetPorts: () => new Set(),
      guardedProtocols: new Set(['postgres']),
      refuse: () => {},
      localAddresses: () => ['10.0.0.7'],
    });
  assert.deepEqual(make([]).decide(dest('192.0.2.9', 5432), pg), { action: 'refuse', rule: 'egress-guarded-protocol' });
  assert.deepEqual(make([]).decide(dest('192.0.2.9', 443), tls), { action: 'passthrough', rule: 'egress-default' }, 'other protocols follow the default');
  assert.deepEqual(make([{ name: 'other-db', protocols: ['postgres'], action: 'passthrough' }]).decide(dest('192.0.2.9', 5432), pg), { action: 'passthrough', rule: 'other-db' });
});

test('relays beyond the cap are refused (egress-capacity); a closed relay frees its place', async () => {
  const echo = net.createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const spans: { attrs: Record<string, unknown>; ended: boolean }[] = [];
  const relay = new CapturedEgress({
    policy: { defaultAction: 'passthrough', rules: [] },
    audit: {
      startSession: (attrs) => {
        const span = { attrs: { ...attrs } as Record<string, unknown>, ended: false };
        spans.push(span);
        return { setAttributes: (a: object) => void Object.assign(span.attrs, a), end: () => void (span.ended = true), addEvent: () => {} } as never;
      },
    },
    log: silentLogger,
    ownPorts: () => [],
    unresolvedTargetPorts: () => new Set(),
    refuse: () => {},
    maxRelays: 1,
  });
  const destination = { host: '127.0.0.1', port: (echo.address() as { port: number }).port, family: 4 as const };
  const unknown: CaptureDetection = { protocol: 'unknown', needMore: false, clientSilent: false };
  const front = net.createServer((s) => relay.handle(s, destination, unknown, { action: 'passthrough', rule: 'egress-default' }, Buffer.alloc(0)));
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  const port = (front.address() as { port: number }).port;
  const echoed = async (s: net.Socket) => {
    s.write('ping');
    const [data] = await once(s, 'data');
    return String(data);
  };
  const first = net.connect(port, '127.0.0.1');
  assert.equal(await echoed(first), 'ping');
  const second = net.connect(port, '127.0.0.1');
  second.resume();
  await once(second, 'close');
  assert.equal(spans[1]!.attrs['sidegate.rule'], 'egress-capacity');
  assert.equal(spans[1]!.attrs['sidegate.decision'], 'deny');
  first.destroy();
  for (let i = 0; i < 100 && !spans[0]!.ended; i++) await new Promise((r) => setTimeout(r, 10));
  const third = net.connect(port, '127.0.0.1');
  assert.equal(await echoed(third), 'ping', 'the place the first relay held is free again');
  third.destroy();
  front.close();
  echo.close();
});
