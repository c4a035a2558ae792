import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelRegistry } from './cancel-registry.js';
import type { TargetSpec } from '../../../core/vocabulary.js';

const target = { name: 'db', protocol: 'postgres', host: '127.0.0.1', port: 5432 } as unknown as TargetSpec;

test('a key finds its session (upstream key and hold hook); another key or an unregistered one finds nothing', () => {
  const registry = new CancelRegistry();
  let held = true;
  registry.register(7, 99, { target, processId: 1234, secretKey: 5678, cancelHold: () => held && !(held = false) });
  const entry = registry.lookup(7, 99);
  assert.equal(entry?.processId, 1234);
  assert.equal(entry?.cancelHold?.(), true, 'the hold in progress is cancelled');
  assert.equal(entry?.cancelHold?.(), false, 'nothing held any more: the cancel goes upstream');
  assert.equal(registry.lookup(7, 98), undefined);
  registry.unregister(7, 99);
  assert.equal(registry.lookup(7, 99), undefined);
  assert.equal(registry.size, 0);
});
