// A start that fails part-way closes what it had already opened: no listener keeps accepting
// (and serving SQL), no port stays taken, and the error says which part could not start and why.
// Each case makes a different step fail after earlier steps opened something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { silentLogger } from '../../core/logging/logger.js';

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Occupies a port for the duration of `fn`. */
async function occupied<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  try {
    return await fn((s.address() as net.AddressInfo).port);
  } finally {
    await new Promise((r) => s.close(r));
  }
}

/** True when nothing listens there any more: a fresh listener can take the port. */
async function isFree(port: number): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

interface Setup {
  /** Listen ports of targets a and b. */
  listenA: number;
  listenB: number;
  adminPort: number;
  brokerPort: number;
  credentialsMode?: number;
  credentialsKey?: string;
  /** Protocol of target b (default postgres). */
  protocolB?: string;
}

async function attemptStart(setup: Setup): Promise<Error> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-failed-start-'));
  try {
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(
      policyFile,
      `version: 1
identities:
  - { name: dev, issuer: "https://issuer.test", audiences: [sidegate], jwks: { keys: [{ kty: EC, crv: P-256, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] } }
targets:
  - { name: a, protocol: postgres, address: "127.0.0.1:1", tls: { mode: disable }, credentials: { file: a }, listen: "127.0.0.1:${setup.listenA}" }
  - { name: b, protocol: ${setup.protocolB ?? 'postgres'}, address: "127.0.0.1:1", tls: { mode: disable }, credentials: { file: ${setup.credentialsKey ?? 'b'} }, listen: "127.0.0.1:${setup.listenB}" }
`,
    );
    const credentialsFile = join(dir, 'credentials.yaml');
    await writeFile(credentialsFile, 'targets:\n  a: { username: u, password: "p" }\n  b: { username: u, password: "p" }\n');
    await chmod(credentialsFile, setup.credentialsMode ?? 0o600);
    const err = await startSidecar({
      policyFile,
      credentialsFile,
      stateDir: join(dir, 'state'),
      broker: 'embedded',
      admin: { host: '127.0.0.1', port: setup.adminPort },
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', SIDEGATE_BROKER_PORT: String(setup.brokerPort) },
      log: silentLogger,
    }).then(
      async (running) => {
        await running.stop(100);
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(err, 'start-up must fail');
    return err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function assertAllFree(ports: number[]): Promise<void> {
  for (const port of ports) assert.ok(await isFree(port), `port ${port} is released after the failed start`);
}

test('a listen port in use: the error names target and address; the listener already opened and the broker are closed', async () => {
  const [listenA, adminPort, brokerPort] = [await freePort(), await freePort(), await freePort()];
  await occupied(async (listenB) => {
    const err = await attemptStart({ listenA, listenB, adminPort, brokerPort });
    assert.match(err.message, new RegExp(`^target b cannot listen on 127\\.0\\.0\\.1:${listenB}: address already in use`));
  });
  await assertAllFree([listenA, brokerPort, adminPort]);
});

test('the admin port in use (the last step): every listener and the broker are closed, nothing serves SQL', async () => {
  const [listenA, listenB, brokerPort] = [await freePort(), await freePort(), await freePort()];
  await occupied(async (adminPort) => {
    const err = await attemptStart({ listenA, listenB, adminPort, brokerPort });
    assert.match(err.message, new RegExp(`^the admin server cannot listen on 127\\.0\\.0\\.1:${adminPort}: address already in use`));
  });
  await assertAllFree([listenA, listenB, brokerPort]);
});

test('the broker port in use: the error says so and the audit trail opened before it is closed', async () => {
  const [listenA, listenB, adminPort] = [await freePort(), await freePort(), await freePort()];
  await occupied(async (brokerPort) => {
    const err = await attemptStart({ listenA, listenB, adminPort, brokerPort });
    assert.match(err.message, new RegExp(`^the approval broker cannot listen on 127\\.0\\.0\\.1:${brokerPort}: address already in use`));
  });
  await assertAllFree([listenA, listenB, adminPort]);
});

test('a credentials file others can read, or one without a target’s entry, is refused at start, before anything opens', async () => {
  const ports = { listenA: await freePort(), listenB: await freePort(), adminPort: await freePort(), brokerPort: await freePort() };
  const readable = await attemptStart({ ...ports, credentialsMode: 0o644 });
  assert.match(readable.message, /credentials file .*credentials\.yaml is accessible by group or others \(mode 0644\); make it readable by the sidecar only \(chmod 600\)/);
  const missing = await attemptStart({ ...ports, credentialsKey: 'billing' });
  assert.match(missing.message, /credentials file .* has no entry "billing" \(needed by target b\)/);
  await assertAllFree(Object.values(ports));
});

test('two targets on one listen address are refused before anything opens', async () => {
  const port = await freePort();
  const err = await attemptStart({ listenA: port, listenB: port, adminPort: await freePort(), brokerPort: await freePort() });
  assert.match(err.message, new RegExp(`targets a and b both listen on 127\\.0\\.0\\.1:${port}`));
});

test('a target of a protocol sidegate has no adapter for is refused before anything opens', async () => {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const err = await attemptStart({ listenA: ports[0]!, listenB: ports[1]!, adminPort: ports[2]!, brokerPort: ports[3]!, protocolB: 'ssh' });
  assert.match(err.message, /target b: sidegate has no adapter for protocol "ssh" yet/);
  await assertAllFree(ports);
});
