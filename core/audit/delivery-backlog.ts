// How many records a sink holds that are not yet delivered, and since when the oldest waits: the
// audit trail's export lag for metrics and for what a drain reports. Records leave in the order
// they came (the spool and the file are FIFOs), so arrival times are kept as a queue of
// one-second buckets: memory grows with the length of an outage in seconds, not with its spans.

/** What the trail holds that the collector (or the file) does not have yet. */
export interface AuditBacklog {
  /** Records ended and not yet delivered (spooled or on their way to the spool or file). */
  records: number;
  /** Their size in bytes. */
  bytes: number;
  /** When the oldest of them was ended (ms since the epoch, to the second); undefined when none waits. */
  oldestUnixMs: number | undefined;
  /** Export attempts the collector refused or that failed since start (0 without a collector). */
  failedExports: number;
}

const BUCKET_MS = 1000;
/** Past this many buckets, new records join the newest one: only the newest times coarsen. */
const MAX_BUCKETS = 100_000;

export class DeliveryBacklog {
  private readonly buckets: { at: number; records: number }[] = [];
  private head = 0;
  private waiting = 0;

  /** `records` that a previous run left, waiting since `sinceUnixMs` at the latest. */
  constructor(carried?: { records: number; sinceUnixMs: number }) {
    if (carried && carried.records > 0) this.added(carried.records, carried.sinceUnixMs);
  }

  get records(): number {
    return this.waiting;
  }

  get oldestUnixMs(): number | undefined {
    return this.waiting > 0 ? this.buckets[this.head]?.at : undefined;
  }

  added(records = 1, at = Date.now()): void {
    if (records <= 0) return;
    this.waiting += records;
    const last = this.buckets.length > this.head ? this.buckets[this.buckets.length - 1]! : undefined;
    if (last && (at - last.at < BUCKET_MS || this.buckets.length - this.head >= MAX_BUCKETS)) last.records += records;
    else this.buckets.push({ at, records });
  }

  /** The oldest `records` were delivered (or otherwise left the queue for good). */
  delivered(records: number): void {
    let left = Math.min(records, this.waiting);
    this.waiting -= left;
    while (left > 0 && this.head < this.buckets.length) {
      const first = this.buckets[this.head]!;
      const take = Math.min(first.records, left);
      first.records -= take;
      left -= take;
      if (first.records === 0) this.head++;
    }
    if (this.head === this.buckets.length) {
      this.buckets.length = 0;
      this.head = 0;
    } else if (this.head > 4096) {
      this.buckets.splice(0, this.head);
      this.head = 0;
    }
  }
}
