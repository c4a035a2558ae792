// The server-side names a session defines (prepared statements, portals and cursors), as the
// server holds them: a change the client asked for becomes the state only when the server's reply
// to it arrives, in order (ParseComplete, BindComplete, CloseComplete, a CommandComplete of
// DECLARE/CLOSE/DEALLOCATE); an ErrorResponse or a message the server skipped leaves the
// previous state. Until then the change is pending, and what a later message refers to is:
//   - the pending value, when that message is in the same batch (up to the next Sync/Query) as
//     the change: if the change fails the server skips the rest of the batch, so the later message
//     never runs against the old value;
//   - UNCERTAIN, when the change is in an earlier batch still unanswered: it may have failed and
//     left the old value, so the caller waits for the reply (or refuses) rather than guess.
// No I/O and no policy here; proxy-session.ts says which message changes what.

export const UNCERTAIN: unique symbol = Symbol('sidegate.uncertain');
export type Lookup<V> = V | undefined | typeof UNCERTAIN;

/** A value knows the batch whose message defined it. */
export interface Versioned {
  readonly batch: number;
}

/** A pending removal (Close, CLOSE, DEALLOCATE of one name). */
export class Removal implements Versioned {
  constructor(readonly batch: number) {}
}

/** A pending removal of every name (DEALLOCATE ALL, DISCARD ALL, CLOSE ALL). */
export class Clearing implements Versioned {
  constructor(readonly batch: number) {}
}

export class NameTable<V extends Versioned> {
  private readonly committedValues = new Map<string, V>();
  private readonly pending = new Map<string, V | Removal>();
  private clearing: Clearing | null = null;

  /** The client's message will make `name` this value once the server confirms it. */
  define(name: string, value: V): void {
    this.pending.set(name, value);
  }

  /** The client's message will remove `name` once the server confirms it. */
  remove(name: string, batch: number): Removal {
    const r = new Removal(batch);
    this.pending.set(name, r);
    return r;
  }

  /** The client's message will remove every name once the server confirms it. */
  clearAll(batch: number): Clearing {
    const c = new Clearing(batch);
    this.clearing = c;
    // Pending definitions before the clearing are wiped by it on the server; their replies still
    // arrive first and settle (in order) before the clearing does.
    this.pending.clear();
    return c;
  }

  /** What `name` refers to for a message of `batch` (see the file comment). */
  lookup(name: string, batch: number): Lookup<V> {
    const p = this.pending.get(name);
    if (p !== undefined) {
      if (p.batch !== batch) return UNCERTAIN;
      return p instanceof Removal ? undefined : p;
    }
    const c = this.clearing;
    if (c !== null) return c.batch === batch ? undefined : UNCERTAIN;
    return this.committedValues.get(name);
  }

  /** The server answered (applied) or skipped/refused (not applied) a change, in order. */
  settle(name: string, change: V | Removal, applied: boolean): void {
    if (applied) {
      if (change instanceof Removal) this.committedValues.delete(name);
      else this.committedValues.set(name, change);
    }
    if (this.pending.get(name) === change) this.pending.delete(name);
  }

  settleClearing(clearing: Clearing, applied: boolean): void {
    if (applied) this.committedValues.clear();
    if (this.clearing === clearing) this.clearing = null;
  }

  /** The confirmed value of `name`. */
  committed(name: string): V | undefined {
    return this.committedValues.get(name);
  }

  /** The server dropped `name` on its own (unnamed statement replaced, portal at transaction end). */
  forget(name: string): void {
    this.committedValues.delete(name);
  }

  /** Forgets every confirmed value (pending changes stay pending). */
  forgetAll(): void {
    this.committedValues.clear();
  }

  /** Keeps only the confirmed values `keep` accepts. */
  retain(keep: (value: V) => boolean): void {
    for (const [name, value] of this.committedValues) if (!keep(value)) this.committedValues.delete(name);
  }

  /** Confirmed values (for removals that follow another one: portals of a closed statement). */
  get size(): number {
    return this.committedValues.size;
  }
}
