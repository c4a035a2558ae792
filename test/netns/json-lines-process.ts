// A long-running child (fixture server, capture sidecar) that reports events as JSON lines on
// stdout. Tests wait for an event with a deadline instead of sleeping.
import type { ChildProcess } from 'node:child_process';

export interface JsonLinesProcess {
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the first event (already seen or future) that matches; rejects after timeoutMs. */
  waitFor(match: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export function watchJsonLines(child: ChildProcess, label: string): JsonLinesProcess {
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  let exited = false;
  child.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: 'unparsable', line });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const closed = new Promise<void>((resolve) =>
    child.once('close', () => {
      exited = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  return {
    events,
    waitFor(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) return done(() => resolve(found));
          if (exited) return done(() => reject(new Error(`${label} exited (${child.exitCode}) before the expected event; stderr: ${stderr.trim()}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${label}: no matching event within ${timeoutMs} ms; events: ${JSON.stringify(events)}; stderr: ${stderr.trim()}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}
