// The repository root, found by walking up from this file: the tests run compiled from
// dist/test/chart/ but read the chart and the Dockerfile from the source tree.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepositoryRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'charts', 'sidegate', 'Chart.yaml')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root (charts/sidegate/Chart.yaml) above ${start}`);
  }
}

export const repositoryRoot = findRepositoryRoot(dirname(fileURLToPath(import.meta.url)));
export const chartDirectory = join(repositoryRoot, 'charts', 'sidegate');
