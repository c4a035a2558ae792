// Large statements are inspected off the event loop. Parsing costs about 0.35 s per MiB of SQL on
// the grammar's WASM (measured: 8 MiB → 2.8 s, +130 MB), all of it time in which no other session
// of the process would be served. Texts above OFF_THREAD_BYTES go to a worker thread (one, started
// on first use and stopped when idle, so an idle sidecar pays nothing); texts above
// MAX_STATEMENT_BYTES are refused outright, and so is a statement arriving while too many wait.
import { Worker } from 'node:worker_threads';
import type { InspectedStatement, InspectOptions } from './sql-inspector.js';
import type { StringModeResult } from './sql-string-mode.js';

/** Statement messages larger than this (bytes of the message body) are inspected in the worker. */
export const OFF_THREAD_BYTES = 64 * 1024;
/** Statement messages larger than this are refused (54000) and never forwarded. */
export const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;
/** Statements waiting for the worker beyond which new ones are refused (53000). */
const MAX_QUEUED = 8;
/** The worker (and its copy of the grammar) is stopped after this long without work. */
const IDLE_MS = 30_000;

/** A statement sidegate will not inspect: the session ends with this SQLSTATE (never forwarded). */
export class StatementRefused extends Error {
  override readonly name = 'StatementRefused';
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
  }
}

export interface OffThreadInspection {
  sql: string;
  inspected: InspectedStatement[];
  mode: StringModeResult;
}

interface Waiting {
  resolve(r: OffThreadInspection): void;
  reject(err: Error): void;
  sql: string;
}

/** Throws StatementRefused when a statement message is too large to inspect at all. */
export function checkStatementSize(bodyBytes: number): void {
  if (bodyBytes > MAX_STATEMENT_BYTES) {
    throw new StatementRefused(
      '54000',
      `sidegate: statement of ${bodyBytes} bytes exceeds the limit of ${MAX_STATEMENT_BYTES} bytes sidegate inspects; it was not run`,
    );
  }
}

export class StatementInspectionPool {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly limits: { maxQueued?: number; idleMs?: number } = {}) {}

  get queued(): number {
    return this.waiting.size;
  }

  inspect(sql: string, opts: InspectOptions): Promise<OffThreadInspection> {
    if (this.waiting.size >= (this.limits.maxQueued ?? MAX_QUEUED)) {
      return Promise.reject(new StatementRefused('53000', 'sidegate: too many large statements are waiting for inspection; try again later'));
    }
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    return new Promise<OffThreadInspection>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, sql });
      worker.postMessage({ id, sql, opts });
    });
  }

  /** Stops the worker; statements still waiting fail. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    clearTimeout(this.idleTimer);
    this.failAll(new Error('statement inspection stopped'));
    await w?.terminate();
  }

  private ensureWorker(): Worker {
    clearTimeout(this.idleTimer);
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./inspect-worker.js', import.meta.url));
    // Never what keeps the process alive: the sessions waiting on it do that.
    w.unref();
    w.on('message', (m: { id: number; inspected?: InspectedStatement[]; mode?: StringModeResult; error?: string }) => {
      const waiting = this.waiting.get(m.id);
      if (!waiting) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.inspected || !m.mode) waiting.reject(new Error(`statement inspection failed: ${m.error ?? 'no result'}`));
      else waiting.resolve({ sql: waiting.sql, inspected: m.inspected, mode: m.mode });
      this.scheduleIdleStop();
    });
    const gone = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failAll(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`statement inspection worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private scheduleIdleStop(): void {
    if (this.waiting.size > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const w = this.worker;
      if (!w || this.waiting.size > 0) return;
      this.worker = undefined;
      void w.terminate();
    }, this.limits.idleMs ?? IDLE_MS);
    this.idleTimer.unref();
  }

  private failAll(err: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(err);
  }
}

/** The process's pool (statements from every session share one worker). */
export const statementInspectionPool = new StatementInspectionPool();
