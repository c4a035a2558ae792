// One sidegate process for a benchmark path: the `sidecar` subcommand of a build under a policy,
// timed from spawn to /readyz. A process that exits before it is ready (a policy it refuses, a
// protocol it has no adapter for) fails the start at once with its own message, not a timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** This build's CLI; SIDEGATE_BENCH_BASELINE_CLI names another build's for the baseline path. */
export const SIDEGATE_CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface SidegateProcessOptions {
  /** The path's name, for log lines and messages. */
  name: string;
  cli: string;
  policyFile: string;
  credentialsFile: string;
  stateDir: string;
  adminPort: number;
  inspection: 'on' | 'off';
  /** The pod's identity, for clients that present an empty password. */
  tokenFile?: string;
  otlpEndpoint: string;
  log: (s: string) => void;
}

export interface SidegateProcess {
  child: ChildProcess;
  pid: number;
  readyMs: number;
}

export async function startSidegateProcess(o: SidegateProcessOptions): Promise<SidegateProcess> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...(process.env['SIDEGATE_BENCH_NODE_OPTIONS']?.split(' ').filter(Boolean) ?? []),
      o.cli, 'sidecar', '--policy', o.policyFile, '--credentials', o.credentialsFile, '--state-dir', o.stateDir, '--admin-port', String(o.adminPort),
      ...(o.tokenFile ? ['--token-file', o.tokenFile] : []),
      ...(o.inspection === 'off' ? ['--inspection', 'off'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: o.otlpEndpoint, SIDEGATE_LOG_LEVEL: 'warn' } },
  );
  let said = '';
  child.stderr!.on('data', (d: Buffer) => {
    said = (said + d.toString()).slice(-2000);
    o.log(`[${o.name}] ${d.toString().trim()}`);
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited (${signal ?? `code ${code}`})`));
  child.on('error', (err) => (exited = `could not start: ${err.message}`));
  for (;;) {
    if (exited) {
      // Let the last of its stderr arrive before quoting it.
      await new Promise((r) => setTimeout(r, 50));
      throw new Error(`${o.name}: sidegate ${exited} before it was ready: ${said.trim() || '(nothing on stderr)'}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${o.adminPort}/readyz`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (performance.now() - t0 > 30_000) {
      child.kill('SIGTERM');
      throw new Error(`${o.name}: sidegate did not become ready within 30 s: ${said.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, pid: child.pid!, readyMs: performance.now() - t0 };
}
