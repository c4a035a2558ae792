import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenFile } from './token-file.js';
import { FileReadError } from '../../core/files/reloading-file.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-token-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('reads the token trimmed and picks up an in-place rewrite', () =>
  withDir(async (dir) => {
    const path = join(dir, 'token');
    await writeFile(path, '  first.token.value\n');
    const file = new TokenFile(path);
    assert.equal(await file.read(), 'first.token.value');
    await writeFile(path, 'second.token.value\n');
    assert.equal(await file.read(), 'second.token.value');
  }));

test('follows a kubelet-style rotation (..data symlink swapped atomically)', () =>
  withDir(async (dir) => {
    // The projected volume layout: token -> ..data/token, ..data -> ..2026_11_22_v1
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'token'), 'token-v1');
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'token'), join(dir, 'token'));
    const file = new TokenFile(join(dir, 'token'));
    assert.equal(await file.read(), 'token-v1');

    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'token'), 'token-v2');
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    assert.equal(await file.read(), 'token-v2');
  }));

test('missing, empty and oversized files give errors naming the file, not the content', () =>
  withDir(async (dir) => {
    const path = join(dir, 'token');
    const file = new TokenFile(path);
    await assert.rejects(file.read(), (err: unknown) => err instanceof FileReadError && err.problem === 'missing' && err.message === `token file ${path} does not exist`);
    await writeFile(path, ' \n\t');
    await assert.rejects(file.read(), (err: unknown) => err instanceof FileReadError && err.problem === 'empty' && /is empty/.test(err.message));
    const big = 'x'.repeat(17 * 1024);
    await writeFile(path, big);
    await assert.rejects(file.read(), (err: unknown) => err instanceof FileReadError && err.problem === 'too-large' && !err.message.includes('xxxx'));
    await writeFile(path, 'good');
    assert.equal(await file.read(), 'good', 'recovers once the file is fixed');
    await assert.rejects(new TokenFile(dir).read(), (err: unknown) => err instanceof FileReadError && err.problem === 'not-a-file');
  }));
