// A bound on connections that have not authenticated yet, per process. Without it, thousands of
// half-open startups hold sockets and memory until the fd limit resets legitimate clients. At the
// bound, the new connection displaces the one that has waited longest for its own client (a
// stalled or hostile peer: a real client sends its startup and password within milliseconds);
// only when every slot is busy verifying a token is the new connection refused (53300).

export interface UnauthenticatedConnection {
  /** Still waiting for bytes from its client (startup packet or password). */
  waitingForClient(): boolean;
  /** Ends the connection: it lost its slot to a newer one. */
  evict(): void;
}

/** Default bound on unauthenticated connections per process. */
export const DEFAULT_MAX_UNAUTHENTICATED = 64;

export class UnauthenticatedSlots {
  /** Insertion order is age: the first entry has waited longest. */
  private readonly held = new Set<UnauthenticatedConnection>();

  constructor(readonly limit = DEFAULT_MAX_UNAUTHENTICATED) {}

  get size(): number {
    return this.held.size;
  }

  /** Takes a slot for `conn`, displacing the oldest connection still waiting for its client; false when none can be had. */
  acquire(conn: UnauthenticatedConnection): boolean {
    if (this.held.size >= this.limit) {
      let victim: UnauthenticatedConnection | undefined;
      for (const c of this.held) {
        if (c.waitingForClient()) {
          victim = c;
          break;
        }
      }
      if (!victim) return false;
      this.held.delete(victim);
      victim.evict();
    }
    this.held.add(conn);
    return true;
  }

  release(conn: UnauthenticatedConnection): void {
    this.held.delete(conn);
  }
}
