// How a long-running command ends: SIGTERM (Kubernetes, `npm start` stopped by its parent, kill)
// or SIGINT (Ctrl-C) runs its graceful stop and exits 0. A second signal, or a stop that overruns
// its bound, exits at once with a non-zero code, so an impatient operator or a stuck session
// cannot keep the process alive. What the stop does is the caller's to say: a sidecar finishes
// sessions, a broker or an exchange finishes requests, and only some of them keep an audit trail.
import type { Writable } from 'node:stream';

export interface StopOnSignalsOptions {
  name: string;
  stop: () => Promise<void>;
  boundMs: number;
  stderr: Pick<Writable, 'write'>;
  /** What stopping does, shown in parentheses (`finishing open sessions, flushing the audit trail`). */
  stopping?: string;
}

/** The line written when the first signal arrives. Pure. */
export function stoppingMessage(name: string, signal: string, stopping: string | undefined): string {
  return `${name}: ${signal}: stopping${stopping ? ` (${stopping})` : ''}…\n`;
}

export function stopOnSignals(opts: StopOnSignalsOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.stderr.write(`${opts.name}: ${signal} again; exiting without finishing the stop\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    opts.stderr.write(stoppingMessage(opts.name, signal, opts.stopping));
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
