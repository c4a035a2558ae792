import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Principal, TargetSpec } from '../../core/vocabulary.js';
import { CredentialsFile } from './credentials-file.js';
import { CredentialError, SecretCredential, TargetCredentials } from './credential-source.js';

const principal: Principal = { issuer: 'https://ci.test', subject: 's', claims: {}, identities: ['ci'] };

function target(key: string, name = 'orders'): TargetSpec {
  return { name, protocol: 'postgres', host: '127.0.0.1', port: 5432, tls: { mode: 'disable' }, credentials: { source: 'file', key } };
}

async function withFile(content: string, mode: number, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-creds-'));
  const path = join(dir, 'credentials.yaml');
  await writeFile(path, content, { mode });
  await chmod(path, mode);
  try {
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const isCredentialError = (code: CredentialError['code'], pattern: RegExp) => (err: unknown) =>
  err instanceof CredentialError && err.code === code && pattern.test(err.message) && !err.message.includes('s3cret');

test('YAML and JSON files yield the login for the target key', async () => {
  await withFile('targets:\n  orders-db: { username: app, password: s3cret }\n', 0o600, async (path) => {
    const login = await new CredentialsFile(path).credentialsFor(target('orders-db'), principal);
    assert.equal(login.username, 'app');
    assert.equal(login.password, 's3cret');
  });
  await withFile(JSON.stringify({ targets: { 'orders-db': { username: 'app', password: 's3cret' } } }), 0o400, async (path) => {
    assert.equal((await new CredentialsFile(path).credentialsFor(target('orders-db'), principal)).password, 's3cret');
  });
});

test('a file readable by group or others is refused unless explicitly allowed', async () => {
  await withFile('targets:\n  orders-db: { username: app, password: s3cret }\n', 0o640, async (path) => {
    await assert.rejects(new CredentialsFile(path).credentialsFor(target('orders-db'), principal), isCredentialError('insecure-file', /mode 0640.*chmod 600/));
    assert.equal((await new CredentialsFile(path, { allowInsecureMode: true }).credentialsFor(target('orders-db'), principal)).username, 'app');
    // Tightening the mode is picked up without a restart.
    const file = new CredentialsFile(path);
    await assert.rejects(file.check(), isCredentialError('insecure-file', /group or others/));
    await chmod(path, 0o600);
    await file.check();
    await chmod(path, 0o604);
    await assert.rejects(file.credentialsFor(target('orders-db'), principal), isCredentialError('insecure-file', /0604/));
  });
});

test('the file is reloaded when it changes', async () => {
  await withFile('targets:\n  orders-db: { username: app, password: s3cret }\n', 0o600, async (path) => {
    const file = new CredentialsFile(path);
    assert.equal((await file.credentialsFor(target('orders-db'), principal)).password, 's3cret');
    await writeFile(path, 'targets:\n  orders-db: { username: app, password: rotated }\n  billing: { username: b, password: "123" }\n');
    assert.equal((await file.credentialsFor(target('orders-db'), principal)).password, 'rotated');
    assert.equal((await file.credentialsFor(target('billing'), principal)).password, '123');
  });
});

test('a missing key names the key, the target and the file, never a password', async () => {
  await withFile('targets:\n  orders-db: { username: app, password: s3cret }\n', 0o600, async (path) => {
    await assert.rejects(
      new CredentialsFile(path).credentialsFor(target('billing-db', 'billing'), principal),
      isCredentialError('missing-key', new RegExp(`^credentials file ${path} has no entry "billing-db" \\(needed by target billing\\)$`)),
    );
  });
});

test('invalid files are refused without quoting their content', async () => {
  const cases: [string, RegExp][] = [
    ['targets:\n  orders-db: { username: app, password: s3cret: oops }\n', /syntax error at line 2/],
    ['targets:\n  a: { username: app, password: s3cret }\n  a: { username: b, password: s3cret }\n', /duplicate key at line 3/],
    ['targets:\n  orders-db: { username: app, pasword: s3cret }\n', /targets\.orders-db has an unknown field "pasword"/],
    ['targets:\n  orders-db: { username: app, password: 12345 }\n', /targets\.orders-db\.password must be a string/],
    ['- s3cret\n', /top-level "targets" map/],
  ];
  for (const [content, pattern] of cases) {
    await withFile(content, 0o600, async (path) => {
      await assert.rejects(new CredentialsFile(path).check(), isCredentialError('invalid', pattern));
    });
  }
  await assert.rejects(new CredentialsFile('/nonexistent/creds.yaml').check(), isCredentialError('unavailable', /\/nonexistent\/creds\.yaml does not exist/));
});

test('a credential never shows its password when serialised or inspected', async () => {
  await withFile('targets:\n  orders-db: { username: app, password: s3cret }\n', 0o600, async (path) => {
    const login = await new CredentialsFile(path).credentialsFor(target('orders-db'), principal);
    for (const rendered of [
      JSON.stringify(login),
      JSON.stringify({ nested: { login } }),
      inspect(login),
      inspect({ nested: [login] }, { depth: 10 }),
      `${login}`,
      JSON.stringify({ ...login }),
      Object.keys(login).join(','),
    ]) {
      assert.ok(!rendered.includes('s3cret'), rendered);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(login)), { username: 'app', password: '[REDACTED]' });
    assert.match(inspect(login), /username: "app", password: '\[REDACTED\]'/);
  });
});

test('each target is served by the source its policy names, never another', async () => {
  const file = new CredentialsFile('/unused');
  const ref = { source: 'exchange' } as const;
  const onlyFile = new TargetCredentials({ file });
  await assert.rejects(onlyFile.credentialsFor({ ...target('x'), credentials: ref }, principal), isCredentialError('unsupported-source', /"exchange" is not configured in this sidecar; start the sidecar with --exchange-url/));
  const onlyExchange = new TargetCredentials({ exchange: { credentialsFor: async (_t, _p) => new SecretCredential('x', 'y') } });
  await assert.rejects(onlyExchange.credentialsFor({ ...target('x'), credentials: { source: 'file', key: 'k' } }, principal), isCredentialError('unsupported-source', /--credentials FILE/));
  assert.equal((await onlyExchange.credentialsFor({ ...target('x'), credentials: ref }, principal)).username, 'x');
  await assert.rejects(file.credentialsFor({ ...target('x'), credentials: ref }, principal), isCredentialError('unsupported-source', /not configured/));
});
