import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startExplicitListener } from './explicit-listener.js';

test('stopAccepting stops listening at once, even with a session open; the open one is the caller\'s to end', async () => {
  const listener = await startExplicitListener({ host: '127.0.0.1', port: 0 }, () => {});
  const client = net.connect(listener.address.port, '127.0.0.1');
  await once(client, 'connect');
  while (listener.open === 0) await new Promise((r) => setTimeout(r, 5));
  const stopped = await Promise.race([listener.stopAccepting().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 1000))]);
  assert.equal(stopped, 'stopped');
  assert.equal(listener.open, 1);
  const refused = net.connect(listener.address.port, '127.0.0.1');
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  listener.destroyAll();
  await once(client, 'close');
});
