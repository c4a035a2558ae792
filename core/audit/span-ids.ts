// Trace and span ids, and span timestamps, for audit spans. Ids are random (W3C trace context
// asks for randomness, and ids must not reveal anything); they are cut from a pool refilled by
// the CSPRNG, so a command does not pay one getrandom call per id. Times are the wall clock at
// start-up plus a monotonic clock, so a span never ends before it starts, in decimal nanoseconds
// as OTLP/JSON writes them.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const hex = pool.toString('hex', used, used + bytes);
    used += bytes;
    if (!/^0+$/.test(hex)) return hex; // all-zero ids are invalid
  }
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now, in nanoseconds since the epoch, as a decimal string. */
export function nowUnixNano(): string {
  return (epochOffsetNs + process.hrtime.bigint()).toString();
}
