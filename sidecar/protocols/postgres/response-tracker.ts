// Which client request is the upstream answering right now?
//
// The proxy forwards client messages as they come (pipelining included) and must attribute every
// backend message to the request that caused it: to end the right audit span with the right row
// count, to know which row shape (and so which masking plan) applies to a DataRow, to swallow the
// answers to messages the proxy injected itself, and to rewrite the error a "poison" message
// provokes into the client-facing denial. PostgreSQL answers strictly in order, so a FIFO of
// expectations is enough; this file is that FIFO and nothing else (no I/O, no policy).
//
// Answers per request (protocol v3):
//   Parse → ParseComplete        Bind → BindComplete      Close → CloseComplete
//   Describe S → ParameterDescription, RowDescription | NoData
//   Describe P → RowDescription | NoData
//   Execute → DataRow*, CommandComplete | EmptyQueryResponse | PortalSuspended (or a COPY exchange)
//   Sync / Query / FunctionCall → … ReadyForQuery
// After an ErrorResponse the backend skips everything up to the next Sync, so on ReadyForQuery we
// retire every expectation up to and including the first sync point.

export type PendingKind = 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'sync' | 'query' | 'function-call';

export interface Pending<T = unknown> {
  kind: PendingKind;
  /** Injected by the proxy: its answers are not forwarded to the client. */
  injected?: boolean;
  /** A poison message standing in for a denied command: its ErrorResponse is rewritten. */
  poison?: boolean;
  /** Adapter data (span, statement, portal…). */
  data: T;
}

export class ResponseTracker<T = unknown> {
  private readonly items: Pending<T>[] = [];
  private head = 0;

  push(item: Pending<T>): void {
    this.items.push(item);
  }

  /** The request the next non-asynchronous backend message answers. */
  current(): Pending<T> | undefined {
    return this.items[this.head];
  }

  /** Retire the current request (it got its final answer). */
  shift(): Pending<T> | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head++;
    this.compact();
    return item;
  }

  /**
   * ReadyForQuery: retire everything up to and including the first sync point (Sync, Query or
   * FunctionCall). Returns the retired items in order; those before the sync point were skipped
   * by the backend (or already answered and left for this moment, like a Query).
   * `skippedToSync`: an extended-protocol message failed, so the backend skipped every message up
   * to the next Sync, a Query or FunctionCall among them: only a Sync ends this ReadyForQuery.
   */
  retireThroughSync(skippedToSync = false): Pending<T>[] {
    const retired: Pending<T>[] = [];
    while (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      retired.push(item);
      if (item.kind === 'sync' || (!skippedToSync && (item.kind === 'query' || item.kind === 'function-call'))) break;
    }
    this.compact();
    return retired;
  }

  /** Whether a request of this kind is still pending (a scan: for rare paths only). */
  has(kind: PendingKind): boolean {
    for (let i = this.head; i < this.items.length; i++) if (this.items[i]!.kind === kind) return true;
    return false;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Everything still pending (connection closing): the caller ends their spans as not executed. */
  drain(): Pending<T>[] {
    const rest = this.items.slice(this.head);
    this.items.length = 0;
    this.head = 0;
    return rest;
  }

  private compact(): void {
    // Amortised O(1): drop the consumed prefix once it dominates the array.
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
