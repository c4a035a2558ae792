// Identity is verified before anything reaches the target; the target's password and the
// client's token appear nowhere: not in spans, logs or anything a client sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestIssuer } from '../support/token-issuer.js';
import { startHarness, basePolicy, psql, run, type Harness } from '../support/sidegate-harness.js';

let h: Harness;
const clientVisible: string[] = [];

before(async () => {
  h = await startHarness({ policy: (env) => basePolicy(env) });
});

after(async () => {
  await h?.close();
});

async function loginError(password: string): Promise<{ code?: string; message: string }> {
  const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password });
  try {
    await c.connect();
    await c.end();
    return { message: 'connected' };
  } catch (err) {
    const e = err as { code?: string; message: string };
    clientVisible.push(e.message);
    return e;
  }
}

test('expired token → 28000 saying it expired', async () => {
  const token = await h.token({}, { expiresIn: -120 });
  const e = await loginError(token);
  assert.equal(e.code, '28000');
  assert.match(e.message, /expired/);
});

test('wrong audience → 28000', async () => {
  const e = await loginError(await h.token({}, { audience: 'someone-else' }));
  assert.equal(e.code, '28000');
  assert.match(e.message, /audience/i);
});

test('unknown issuer → 28000 naming the issuer', async () => {
  const stranger = await startTestIssuer({ issuer: 'https://stranger.example' });
  try {
    const e = await loginError(await stranger.sign({ sub: 'x', project_path: 'acme/api' }, { audience: 'sidegate' }));
    assert.equal(e.code, '28000');
    assert.match(e.message, /stranger\.example/);
  } finally {
    await stranger.close();
  }
});

test('bad signature → 28000', async () => {
  const token = await h.token();
  const [head, body, sig] = token.split('.');
  const flipped = sig!.slice(0, -2) + (sig!.endsWith('AA') ? 'BB' : 'AA');
  const e = await loginError(`${head}.${body}.${flipped}`);
  assert.equal(e.code, '28000');
});

test('a plain password instead of a token → 28P01 telling what to present', async () => {
  const e = await loginError('hunter2');
  assert.equal(e.code, '28P01');
  assert.match(e.message, /token/);
});

test('psql shows the identity error in its own words and exits non-zero', async () => {
  const r = await psql(h, 'not-a-token', 'SELECT 1;\n');
  clientVisible.push(r.stdout, r.stderr);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /28P01|token/);
});

test('no identity: claims that match no identity get the default deny on every statement', async () => {
  const token = await h.token({ project_path: 'other-org/tool' });
  const r = await psql(h, token, 'SELECT 1;\n');
  clientVisible.push(r.stdout, r.stderr);
  assert.match(r.stderr, /42501/);
});

test('secrets never leak into spans, logs or client output', async () => {
  const token = await h.token();
  const ok = await psql(h, token, "SELECT current_user; SELECT 'x' FROM nonexistent_table;\n");
  clientVisible.push(ok.stdout, ok.stderr);
  assert.match(ok.stdout, /sidegate_scram/, 'the target saw its own login, not the client token');
  const again = await run('psql', ['-X', '-h', '127.0.0.1', '-p', String(h.port), '-U', 'ci', '-d', h.pg.database, '-c', 'SELECT 42'], {
    PGPASSWORD: token,
    PGSSLMODE: 'disable',
  });
  clientVisible.push(again.stdout, again.stderr);
  await h.sidecar.audit.flush();
  const spans = JSON.stringify(h.receiver.spans());
  const logs = h.logs.join('\n');
  const everything = [spans, logs, ...clientVisible].join('\n');
  const secrets = [h.pg.users.scram.password, token, token.split('.')[2]!];
  for (const secret of secrets) {
    assert.equal(everything.includes(secret), false, 'a secret appeared in spans, logs or client output');
  }
  assert.ok(spans.length > 1000, 'spans were collected');
});
