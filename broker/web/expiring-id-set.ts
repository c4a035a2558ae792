// A bounded set of ids, each remembered until a given time: the page's per-process memory of
// logins already answered. Defence in depth only: another replica does not share it, and when full
// the oldest entries are forgotten first. (Sign-outs must hold everywhere: they are in the store.)

export class ExpiringIdSet {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.until.size;
  }

  /** Remembers `id` until `expiresAt` (ms since the epoch). */
  add(id: string, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    this.until.delete(id);
    this.makeRoom();
    this.until.set(id, expiresAt);
  }

  has(id: string): boolean {
    const expiresAt = this.until.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.now()) return true;
    this.until.delete(id);
    return false;
  }

  private makeRoom(): void {
    if (this.until.size < this.max) return;
    const now = this.now();
    for (const [id, expiresAt] of this.until) if (expiresAt <= now) this.until.delete(id);
    // Map order is insertion order: the oldest go first.
    for (const id of this.until.keys()) {
      if (this.until.size < this.max) break;
      this.until.delete(id);
    }
  }
}
