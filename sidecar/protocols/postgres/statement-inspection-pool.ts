// Large statements are inspected off the event loop: parsing a large statement on the grammar's
// WASM takes seconds, time in which no other session of the process would be served. Texts above
// OFF_THREAD_BYTES go to a worker thread (one, started on first use and stopped when idle, so an
// idle sidecar pays nothing). Memory bounds the size: a parse tree grows with the statement's
// tokens, many times the statement's own size, and a few MiB of SQL would take the process past
// the injected sidecar's memory limit (figures in docs/BENCHMARKS.md, Design measurements). So
// statement messages above the configured maximum (default 1 MiB) are refused outright, and so is
// a statement arriving while too many wait.
import { Worker } from 'node:worker_threads';
import type { InspectedStatement, InspectOptions } from './sql-inspector.js';
import type { StringModeResult } from './sql-string-mode.js';

/** Statement messages larger than this (bytes of the message body) are inspected in the worker. */
export const OFF_THREAD_BYTES = 64 * 1024;
/** Default bound on a statement message (SIDEGATE_MAX_STATEMENT_BYTES); larger ones are refused (54000), never forwarded. */
export const MAX_STATEMENT_BYTES = 1024 * 1024;
/** After a statement this large the worker is stopped once idle, giving back the WASM memory its parse grew. */
const RELEASE_AFTER_BYTES = 256 * 1024;
/** Statements waiting for the worker beyond which new ones are refused (53000). */
const MAX_QUEUED = 8;
/** The worker (and its copy of the grammar) is stopped after this long without work. */
const IDLE_MS = 30_000;
/**
 * The worker's JavaScript heap: a statement whose parse tree needs more (tiny tokens such as a long
 * `IN (1,1,1,…)` list are the worst case) is refused (54000) instead of taking the sidecar past its
 * memory limit.
 */
const WORKER_HEAP_MB = 96;

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
export function checkStatementSize(bodyBytes: number, max = MAX_STATEMENT_BYTES): void {
  if (bodyBytes > max) {
    throw new StatementRefused('54000', `sidegate: statement of ${bodyBytes} bytes exceeds the limit of ${max} bytes sidegate inspects; it was not run`);
  }
}

export class StatementInspectionPool {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly limits: { maxQueued?: number; idleMs?: number; heapMb?: number } = {}) {}

  get queued(): number {
    return this.waiting.size;
  }

  inspect(sql: string, opts: InspectOptions): Promise<OffThreadInspection> {
    if (this.waiting.size >= (this.limits.maxQueued ?? MAX_QUEUED)) {
      return Promise.reject(new StatementRefused('53000', 'sidegate: too many large statements are waiting for inspection; try again later'));
    }
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    // Kept alive only while a statement waits on it.
    worker.ref();
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
    const heap = this.limits.heapMb ?? WORKER_HEAP_MB;
    const w = new Worker(new URL('./inspect-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: heap, maxYoungGenerationSizeMb: Math.max(8, Math.floor(heap / 8)) },
    });
    w.on('message', (m: { id: number; inspected?: InspectedStatement[]; mode?: StringModeResult; error?: string }) => {
      const waiting = this.waiting.get(m.id);
      if (!waiting) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.inspected || !m.mode) waiting.reject(new Error(`statement inspection failed: ${m.error ?? 'no result'}`));
      else waiting.resolve({ sql: waiting.sql, inspected: m.inspected, mode: m.mode });
      this.scheduleIdleStop(waiting.sql.length >= RELEASE_AFTER_BYTES ? 0 : undefined);
    });
    const gone = (err: Error & { code?: string }) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      // Out of its heap: the statement is too complex to inspect within the bound.
      this.failAll(
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new StatementRefused('54000', 'sidegate: statement is too complex to inspect within the memory bound; it was not run')
          : err,
      );
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`statement inspection worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private scheduleIdleStop(afterMs = this.limits.idleMs ?? IDLE_MS): void {
    if (this.waiting.size > 0) return;
    this.worker?.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const w = this.worker;
      if (!w || this.waiting.size > 0) return;
      this.worker = undefined;
      void w.terminate();
    }, afterMs);
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
