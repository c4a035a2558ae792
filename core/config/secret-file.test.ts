import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecretFile } from './secret-file.js';

class MyError extends Error {}
const fail = (m: string) => new MyError(m);

test('a secret file is read trimmed; empty, oversize, missing or a directory is the caller\'s error, never its content', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-secret-'));
  try {
    await writeFile(join(dir, 'ok'), '  s3cret-value\n');
    assert.equal(await readSecretFile(join(dir, 'ok'), 64, fail), 's3cret-value');
    await writeFile(join(dir, 'empty'), ' \n');
    await writeFile(join(dir, 'big'), 'x'.repeat(65));
    for (const [name, why] of [['empty', /: empty$/], ['big', /larger than 64 bytes/], ['missing', /cannot be read \(ENOENT\)/], ['.', /not a regular file/]] as const) {
      await assert.rejects(readSecretFile(join(dir, name), 64, fail), (err: Error) => err instanceof MyError && why.test(err.message) && !err.message.includes('xxxx'));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
