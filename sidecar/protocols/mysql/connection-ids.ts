// The connection ids sidegate gives MySQL clients in its greeting, and what a `KILL QUERY n` naming
// one should reach: the session's hold (a statement waiting for approval is cancelled here, never
// left for a later approval) or the upstream's own thread. The greeting cannot carry the upstream's
// id — the client is greeted before sidegate logs in upstream — so ids are ours, unique in the
// process, and only the same identity may use one (a KILL is otherwise a way to end another
// pipeline's statement).
import { randomInt } from 'node:crypto';

export interface KillEntry {
  /** Who owns the connection: `issuer sub`. */
  owner: string;
  /** The upstream thread id once logged in. */
  upstreamThreadId?: number;
  /** Cancels the session's hold if one is in progress; true if it did. */
  cancelHold(): boolean;
}

/** Connection ids are 32-bit; clients print them signed or unsigned, so stay below 2^31. */
const MAX_ID = 0x7fff_ffff;

export class ConnectionIds {
  private readonly entries = new Map<number, KillEntry | null>();
  private next = randomInt(1, MAX_ID);

  /** A fresh id for a new connection; its entry is filled once the client is identified. */
  allocate(): number {
    for (;;) {
      const id = this.next;
      this.next = this.next >= MAX_ID ? 1 : this.next + 1;
      if (!this.entries.has(id)) {
        this.entries.set(id, null);
        return id;
      }
    }
  }

  register(id: number, entry: KillEntry): void {
    this.entries.set(id, entry);
  }

  /** The entry for `id` if `owner` owns it; another identity's connection is as good as unknown. */
  lookup(id: number, owner: string): KillEntry | undefined {
    const entry = this.entries.get(id);
    return entry && entry.owner === owner ? entry : undefined;
  }

  release(id: number): void {
    this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
