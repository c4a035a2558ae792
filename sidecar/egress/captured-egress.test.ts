import { test } from 'node:test';
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
