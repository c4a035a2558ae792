import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Closers } from './closers.js';

test('closers run last-opened first, and one that fails or hangs does not stop the others', async () => {
  const closed: string[] = [];
  const closers = new Closers(50);
  closers.push('audit', () => void closed.push('audit'));
  closers.push('broker', async () => {
    throw new Error('already closed');
  });
  closers.push('listener', () => new Promise(() => closed.push('listener (hangs)')));
  closers.push('admin', async () => void closed.push('admin'));
  const failures = await closers.closeAll();
  assert.deepEqual(closed, ['admin', 'listener (hangs)', 'audit']);
  assert.deepEqual(failures, ['listener: did not close within 50 ms', 'broker: already closed']);
  assert.deepEqual(await closers.closeAll(), [], 'each closer runs once');
});
