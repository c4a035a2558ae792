import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../core/logging/logger.js';
import { makeSelfSignedCertificate } from '../../test/support/self-signed-certificate.js';
import { httpsRequest } from '../../test/support/https-json-client.js';
import { runWebhookCommand, startWebhookFromArgs } from './webhook-command.js';

function io(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  return { io: { stdout, stderr, env, log: silentLogger }, out: () => out, err: () => err };
}

test('without TLS files, with a bad config or outside a cluster: exit 2 and the reason', async () => {
  const cert = makeSelfSignedCertificate();
  const noTls = io();
  assert.equal(await runWebhookCommand([], noTls.io), 2);
  assert.match(noTls.err(), /--tls-cert and --tls-key are required/);

  const badConfig = join(cert.dir, 'bad.yaml');
  writeFileSync(badConfig, 'sidecarMode: sometimes\n');
  const bad = io();
  assert.equal(await runWebhookCommand(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--config', badConfig], bad.io), 2);
  assert.match(bad.err(), /bad\.yaml: invalid webhook configuration: sidecarMode/);

  const outside = io({});
  assert.equal(await runWebhookCommand(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile], outside.io), 2);
  assert.match(outside.err(), /not running in a cluster/);

  const unknown = io();
  assert.equal(await runWebhookCommand(['--tls-crt', 'x'], unknown.io), 2);
});

test('with a namespaces file it serves AdmissionReviews using the configuration file', async () => {
  const cert = makeSelfSignedCertificate();
  const config = join(cert.dir, 'webhook.yaml');
  writeFileSync(config, 'sidecarMode: classic\n');
  const namespaces = join(cert.dir, 'namespaces.yaml');
  writeFileSync(namespaces, 'ci: { sidegate.dev/inject: enabled }\n');
  const run = io();
  const server = await startWebhookFromArgs(
    ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--config', config, '--namespaces-file', namespaces, '--host', '127.0.0.1', '--port', '0'],
    run.io,
  );
  assert.notEqual(typeof server, 'number');
  if (typeof server === 'number') return;
  try {
    assert.match(run.out(), /listening on https:\/\/127\.0\.0\.1:\d+ \(sidecar mode classic/);
    const reply = await httpsRequest(`https://localhost:${server.port}/mutate`, {
      ca: cert.cert,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'ci', operation: 'CREATE', object: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
      }),
    });
    const patch = JSON.parse(Buffer.from(reply.json.response.patch, 'base64').toString('utf8')) as Array<{ path: string }>;
    assert.ok(patch.some((op) => op.path === '/spec/containers/0'), 'classic mode from the config file');
  } finally {
    await server.close();
  }
});
