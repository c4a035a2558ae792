// The image installs `dependencies` only (npm ci --omit=dev) and drops dist/test. This reads every
// compiled-for-production source file and checks that what it imports at run time is there: a
// package in `dependencies`, never a dev dependency or a test helper. The one exception is the
// embedded demo target, whose PGlite stays out of the image and which only its loader imports,
// lazily, turning a missing package into a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repositoryRoot } from './repository-root.js';

const PRODUCTION_FOLDERS = ['core', 'cli', 'sidecar', 'webhook', 'broker', 'exchange', 'policies'];
const LAZY_DEV_ONLY = 'sidecar/local/embedded-demo-target.ts';
const LAZY_LOADER = 'sidecar/local/load-embedded-demo-target.ts';

const manifest = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function productionSources(): string[] {
  const files: string[] = [];
  for (const folder of PRODUCTION_FOLDERS) {
    for (const entry of readdirSync(join(repositoryRoot, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        files.push(relative(repositoryRoot, join(entry.parentPath, entry.name)));
      }
    }
  }
  return files;
}

interface ImportSite {
  specifier: string;
  lazy: boolean;
}

/** Imports that survive compilation: `import type` and `export type` are erased. */
export function runtimeImportsOf(source: string): ImportSite[] {
  const sites: ImportSite[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)) {
    if (m[1] === undefined) sites.push({ specifier: m[2]!, lazy: false });
  }
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) sites.push({ specifier: m[1]!, lazy: true });
  return sites;
}

const packageOf = (specifier: string) => /^(@[^/]+\/[^/]+|[^/]+)/.exec(specifier)![1]!;

test('the import reader sees value imports, skips type-only ones and tells lazy from static', () => {
  const source = [
    "import { a } from 'pkg-a';",
    "import type { B } from 'pkg-b';",
    "import {\n  c,\n  d,\n} from '@scope/pkg-c/sub.js';",
    "export { e } from './e.js';",
    "import 'side-effect';",
    "const f = await import('pkg-f');",
  ].join('\n');
  assert.deepEqual(runtimeImportsOf(source), [
    { specifier: 'pkg-a', lazy: false },
    { specifier: '@scope/pkg-c/sub.js', lazy: false },
    { specifier: './e.js', lazy: false },
    { specifier: 'side-effect', lazy: false },
    { specifier: 'pkg-f', lazy: true },
  ]);
});

test('production code imports only `dependencies` at run time, and nothing under test/', () => {
  const problems: string[] = [];
  for (const file of productionSources()) {
    for (const { specifier, lazy } of runtimeImportsOf(readFileSync(join(repositoryRoot, file), 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        if (/(^|\/)test\//.test(relative(repositoryRoot, join(repositoryRoot, file, '..', specifier)))) problems.push(`${file}: imports ${specifier}`);
        if (specifier.endsWith('/embedded-demo-target.js') && (file !== LAZY_LOADER || !lazy)) {
          problems.push(`${file}: imports the embedded demo target other than through its lazy loader`);
        }
        continue;
      }
      const name = packageOf(specifier);
      if (name in manifest.dependencies) continue;
      if (file === LAZY_DEV_ONLY && name in manifest.devDependencies) continue;
      problems.push(`${file}: imports ${name}, which the production image does not install`);
    }
  }
  assert.deepEqual(problems, []);
});

test("the embedded demo database's socket server is a dev dependency; PGlite itself is the broker's embedded store", () => {
  const socket = '@electric-sql/pglite-socket';
  assert.ok(socket in manifest.devDependencies && !(socket in manifest.dependencies), socket);
  assert.ok('@electric-sql/pglite' in manifest.dependencies);
});
