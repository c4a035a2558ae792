// `sidegate drain`: the sidecar's preStop hook. Asks the running sidecar (admin port, localhost
// only) to stop accepting connections, let open sessions finish within its grace period and
// flush the audit trail; returns when it has.
import type { Writable } from 'node:stream';
import { parseCommandLine, usageError } from '../../core/command-line/command-line.js';

export const DRAIN_USAGE = `usage: sidegate drain [--admin-port PORT]

Asks the sidecar on this host (POST http://127.0.0.1:PORT/drain) to stop accepting connections,
let open sessions finish within its grace period and flush its audit trail; returns when it has.
The sidecar's preStop hook.

options:
  --admin-port PORT   the sidecar's admin port (default 16002)
  -h, --help          this text
`;

export async function runDrainCommand(args: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  const spec = { name: 'sidegate drain', usage: DRAIN_USAGE, options: { 'admin-port': { type: 'string', default: '16002' } } } as const;
  const parsed = parseCommandLine(args, spec, io);
  if (typeof parsed === 'number') return parsed;
  const port = parsed.values['admin-port'];
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return usageError(spec, `--admin-port must be a TCP port, got "${port}"`, io);
  try {
    const res = await fetch(`http://127.0.0.1:${Number(port)}/drain`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
    io.stdout.write(await res.text());
    return res.ok ? 0 : 1;
  } catch (err) {
    io.stderr.write(`sidegate drain: ${(err as Error).message}\n`);
    return 1;
  }
}
