// sidegate logs in to the target with whatever method the target demands — SCRAM-SHA-256 (the
// other tests), md5 and cleartext here — and the client never learns which or with what.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startHarness, basePolicy, psql } from '../support/sidegate-harness.js';

for (const method of ['md5', 'plain'] as const) {
  test(`upstream login with ${method === 'plain' ? 'cleartext password' : 'md5'} authentication`, async () => {
    const h = await startHarness({ policy: (env) => basePolicy(env), targetUser: method });
    try {
      const r = await psql(h, await h.token(), 'SELECT current_user;\n', ['-tA']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), h.pg.users[method].user);
      assert.equal((r.stdout + r.stderr).includes(h.pg.users[method].password), false);
    } finally {
      await h.close();
    }
  });
}

test('a wrong target password is reported to the client without the password', async () => {
  const h = await startHarness({ policy: (env) => basePolicy(env), targetUser: 'scram' });
  try {
    // Replace the credentials file content with a wrong password; the file is re-read on change.
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(join(h.dir, 'credentials.yaml'), `targets:\n  pg: { username: ${h.pg.users.scram.user}, password: "definitely-wrong-pw-123" }\n`, { mode: 0o600 });
    const r = await psql(h, await h.token(), 'SELECT 1;\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot log in to target "pg"/);
    assert.equal(r.stderr.includes('definitely-wrong-pw-123'), false);
    const c = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: await h.token() });
    await assert.rejects(c.connect(), (err: Error & { code?: string }) => {
      assert.equal(err.code, '08004', 'not 28P01: the client\'s own credentials were fine');
      assert.equal(err.message.includes('definitely-wrong-pw-123'), false);
      return true;
    });
  } finally {
    await h.close();
  }
});
