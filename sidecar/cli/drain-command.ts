// `sidegate drain`: the sidecar's preStop hook. Asks the running sidecar (admin port, localhost
// only) to stop accepting connections, let open sessions finish within its grace period and
// flush the audit trail; returns when it has.
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';

export async function runDrainCommand(args: string[], io: { stdout: Writable; stderr: Writable }): Promise<number> {
  const { values } = parseArgs({ args, options: { 'admin-port': { type: 'string', default: '16002' } } });
  try {
    const res = await fetch(`http://127.0.0.1:${Number(values['admin-port'])}/drain`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
    io.stdout.write(await res.text());
    return res.ok ? 0 : 1;
  } catch (err) {
    io.stderr.write(`sidegate drain: ${(err as Error).message}\n`);
    return 1;
  }
}
