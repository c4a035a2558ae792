import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetDirectory } from './target-directory.js';
import type { TargetSpec } from '../../core/vocabulary.js';

const target = (name: string, host: string, port = 5432): TargetSpec => ({
  name, protocol: 'postgres', host, port, tls: { mode: 'disable' }, credentials: { source: 'file', key: name },
});

test('targets are found by any address their host resolves to, and by literal IPs (v4-mapped too)', async () => {
  const dir = new TargetDirectory([target('a', 'db.internal'), target('b', '10.1.2.3'), target('c', 'fd00::5', 6543)], async (host) =>
    host === 'db.internal' ? ['10.9.9.9', 'fd00::9'] : [],
  );
  await dir.refresh();
  assert.equal(dir.lookup('10.9.9.9', 5432)?.name, 'a');
  assert.equal(dir.lookup('FD00::9', 5432)?.name, 'a');
  assert.equal(dir.lookup('::ffff:10.1.2.3', 5432)?.name, 'b');
  assert.equal(dir.lookup('fd00::5', 6543)?.name, 'c');
  assert.equal(dir.lookup('10.9.9.9', 5433), undefined, 'port matters');
  assert.equal(dir.lookup('10.0.0.1', 5432), undefined, 'unknown address');
});

test('a host that never resolved is absent, and its port is reported as unresolved', async () => {
  const dir = new TargetDirectory([target('a', 'nowhere.invalid'), target('b', '10.1.2.3', 6543)], async () => {
    throw new Error('NXDOMAIN');
  });
  await dir.refresh();
  assert.equal(dir.lookup('10.0.0.1', 5432), undefined);
  assert.deepEqual([...dir.unresolvedPorts()], [5432]);
});

test('a failed or empty re-resolution keeps the last known addresses', async () => {
  let answer: () => string[] = () => ['10.9.9.9'];
  const dir = new TargetDirectory([target('a', 'db.internal')], async () => answer());
  await dir.refresh();
  answer = () => {
    throw new Error('SERVFAIL');
  };
  await dir.refresh();
  assert.equal(dir.lookup('10.9.9.9', 5432)?.name, 'a', 'still the target after a failed lookup');
  answer = () => [];
  await dir.refresh();
  assert.equal(dir.lookup('10.9.9.9', 5432)?.name, 'a', 'still the target after an empty answer');
  assert.equal(dir.unresolvedPorts().size, 0);
  answer = () => ['10.8.8.8'];
  await dir.refresh();
  assert.equal(dir.lookup('10.8.8.8', 5432)?.name, 'a');
  assert.equal(dir.lookup('10.9.9.9', 5432), undefined, 'a successful answer replaces the old addresses');
});

test('an IPv6 target written in any spelling is recognised at the address the kernel reports', async () => {
  const dir = new TargetDirectory([
    target('long', 'FD00:0:0:0:0:0:0:2'),
    target('zeros', 'fd00:0:0::3'),
    target('mapped', '::FFFF:10.0.0.8'),
    target('mapped-hex', '::ffff:a00:7'),
  ]);
  await dir.refresh();
  assert.equal(dir.lookup('fd00::2', 5432)?.name, 'long');
  assert.equal(dir.lookup('fd00::3', 5432)?.name, 'zeros');
  assert.equal(dir.lookup('10.0.0.8', 5432)?.name, 'mapped');
  assert.equal(dir.lookup('::ffff:10.0.0.7', 5432)?.name, 'mapped-hex');
  assert.equal(dir.lookup('10.0.0.7', 5432)?.name, 'mapped-hex');
});
