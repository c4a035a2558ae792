// `sidegate approvals login` against a real OpenID provider: the device flow through openid-client,
// the user's half done as a browser would, the ID token cached 0600 and then sent as the bearer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOidcProvider } from '../../test/support/oidc-provider.js';
import { ApproverTokens } from '../identity/approver-tokens.js';
import { runApprovalsCommand } from './approvals-cli.js';
import { defaultApproverTokenFile } from './device-login.js';

test('login caches the approver ID token 0600; list then sends it as the bearer', async () => {
  const provider = await startOidcProvider({ accounts: [{ username: 'alice', groups: ['dba'] }] });
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-login-'));
  const seen: (string | undefined)[] = [];
  const broker = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"approvals":[]}');
  });
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  try {
    const env = { XDG_CONFIG_HOME: join(dir, 'config') };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d));
    // The approver opens the URL the CLI prints, as soon as it prints it.
    const signedIn = new Promise<void>((resolve, reject) => {
      stderr.on('data', (d: Buffer) => {
        const url = /Open (\S+) to sign in/.exec(String(d))?.[1];
        if (url) provider.completeDeviceLogin(url, 'alice').then(resolve, reject);
      });
    });
    const code = await runApprovalsCommand(['login', '--issuer', provider.issuer, '--client-id', provider.cliClientId], { stdout, stderr, env, cwd: dir });
    await signedIn;
    assert.equal(code, 0);
    const file = defaultApproverTokenFile(env);
    assert.match(out, new RegExp(`^signed in as alice until \\S+Z; token cached in ${file}\\n$`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const token = (await readFile(file, 'utf8')).trim();
    assert.ok(!out.includes(token));

    const approver = await new ApproverTokens([{ issuer: provider.issuer, clientIds: [provider.cliClientId] }]).verify(token);
    assert.deepEqual({ name: approver.name, groups: approver.groups }, { name: 'alice', groups: ['dba'] });

    const listed = await runApprovalsCommand(['list', '--broker', `http://127.0.0.1:${(broker.address() as AddressInfo).port}`], {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env,
      cwd: dir,
    });
    assert.equal(listed, 0);
    assert.deepEqual(seen, [`Bearer ${token}`]);
  } finally {
    broker.close();
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('login without an issuer or client id is a usage error', async () => {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d));
  assert.equal(await runApprovalsCommand(['login', '--issuer', 'https://idp.test'], { stdout: new PassThrough(), stderr, env: {} }), 2);
  assert.match(err, /login needs --issuer URL and --client-id ID/);
});
