// How a long-running command ends: SIGTERM (Kubernetes, `npm start` stopped by its parent, kill)
// or SIGINT (Ctrl-C) runs its graceful stop (stop accepting, let sessions finish, flush the audit
// trail) and exits 0. A second signal, or a stop that overruns its bound, exits at once with a
// non-zero code, so an impatient operator or a stuck session cannot keep the process alive.
import type { Writable } from 'node:stream';

export function stopOnSignals(opts: { name: string; stop: () => Promise<void>; boundMs: number; stderr: Pick<Writable, 'write'> }): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.stderr.write(`${opts.name}: ${signal} again; exiting without finishing the stop\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    opts.stderr.write(`${opts.name}: ${signal}: stopping (finishing open sessions, flushing the audit trail)…\n`);
    setTimeout(() => {
      opts.stderr.write(`${opts.name}: the stop did not finish within ${opts.boundMs} ms; exiting\n`);
      process.exit(1);
    }, opts.boundMs).unref();
    opts.stop().then(
      () => process.exit(0),
      (err: Error) => {
        opts.stderr.write(`${opts.name}: stopping failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
