import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundedFetch, ResponseTooLarge } from './bounded-fetch.js';

async function serve(listener: RequestListener): Promise<{ url: string; close: () => void }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const get = (signal = AbortSignal.timeout(5_000)) => ({ method: 'GET' as const, redirect: 'manual' as const, headers: new Headers({ accept: 'application/json' }), signal });

test('a body within the bound is returned with its status and headers; redirects are not followed', async () => {
  const server = await serve((req, res) => {
    if (req.url === '/moved') res.writeHead(302, { location: '/' }).end();
    else res.writeHead(200, { 'content-type': 'application/json', 'x-accept': req.headers.accept }).end('{"keys":[]}');
  });
  try {
    const response = await boundedFetch(64)(server.url, get());
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-accept'), 'application/json');
    assert.deepEqual(await response.json(), { keys: [] });
    assert.equal((await boundedFetch(64)(`${server.url}moved`, get())).status, 302);
  } finally {
    server.close();
  }
});

test('an oversized body is refused, declared or streamed', async () => {
  const server = await serve((req, res) => {
    if (req.url === '/declared') res.writeHead(200, { 'content-length': '100' }).end('x'.repeat(100));
    else {
      res.writeHead(200);
      res.write('x'.repeat(40));
      res.end('x'.repeat(40));
    }
  });
  try {
    await assert.rejects(boundedFetch(64)(`${server.url}declared`, get()), ResponseTooLarge);
    await assert.rejects(boundedFetch(64)(`${server.url}streamed`, get()), ResponseTooLarge);
  } finally {
    server.close();
  }
});

test('a timeout rejects with the signal reason, which jose reads as a timeout', async () => {
  const server = await serve(() => {
    /* never answers */
  });
  try {
    await assert.rejects(boundedFetch(64)(server.url, get(AbortSignal.timeout(100))), (err: Error) => err.name === 'TimeoutError');
  } finally {
    server.close();
  }
});

test('the authorization callback decides per URL', async () => {
  const seen: (string | undefined)[] = [];
  const server = await serve((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(204).end();
  });
  try {
    const fetcher = boundedFetch(64, { authorization: async (url) => (url.pathname === '/mine' ? 'Bearer t' : undefined) });
    await fetcher(`${server.url}mine`, get());
    await fetcher(`${server.url}other`, get());
    assert.deepEqual(seen, ['Bearer t', undefined]);
  } finally {
    server.close();
  }
});
