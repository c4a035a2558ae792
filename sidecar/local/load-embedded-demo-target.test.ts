import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEmbeddedDemoTarget, missingPackageOf } from './load-embedded-demo-target.js';

// Specifiers in variables, so the compiler does not resolve them; Node's own resolver fails on them.
const absentPackage = '@electric-sql/pglite-not-installed';
const absentOwnFile = './no-such-module-of-ours.js';

test('a package the installation lacks: the error names it and says how to run without it', async () => {
  await assert.rejects(
    loadEmbeddedDemoTarget(() => import(absentPackage)),
    (error: Error) => {
      assert.match(error.message, /needs the package @electric-sql\/pglite-not-installed\b/);
      assert.match(error.message, /--policy FILE --credentials FILE --upstream HOST:PORT/);
      assert.doesNotMatch(error.message, /imported from|\n\s+at /, 'no resolver path or stack frame in the message');
      return true;
    },
  );
});

test('a module of our own that is missing is a bug, not a packaging choice: rethrown as it is', async () => {
  await assert.rejects(loadEmbeddedDemoTarget(() => import(absentOwnFile)), (error: Error) => {
    assert.match(error.message, /^Cannot find module .*no-such-module-of-ours\.js/);
    return true;
  });
  assert.equal(missingPackageOf(new Error("Cannot find package 'x'")), undefined, 'only the resolver error code counts');
});

test('with the development dependencies installed, the demo target loads', async () => {
  const start = await loadEmbeddedDemoTarget();
  assert.equal(typeof start, 'function');
});
