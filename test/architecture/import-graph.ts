// The repository's import graph as the compiler reads it: every relative import (static, dynamic,
// `export … from`) of every TypeScript file, as repository-relative paths of .ts files.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  from: string;
  to: string;
}

const SOURCE_ROOTS = ['core', 'cli', 'policies', 'sidecar', 'webhook', 'broker', 'exchange', 'test'];

function listTypeScript(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listTypeScript(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
}

export function importGraph(root: string): ImportEdge[] {
  const files: string[] = [];
  for (const top of SOURCE_ROOTS) {
    try {
      listTypeScript(join(root, top), files);
    } catch {
      /* a top-level folder this checkout does not have */
    }
  }
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), ref.fileName.replace(/\.js$/, '.ts'));
      edges.push({ from: relative(root, file), to: relative(root, target) });
    }
  }
  return edges;
}
