// Prometheus counters over totals something else keeps (failed exports, notification deliveries):
// at each scrape a counter advances by what its total grew since the last one. Totals must only
// grow; a smaller reading (a restarted component) is taken as a new start.
import { Counter, type Registry } from 'prom-client';

export function readingCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/** One counter, one label: `read` gives the total per label value (a fixed set of them). */
export function labelledReadingCounter<L extends string>(registry: Registry, name: string, help: string, label: L, read: () => Record<string, number>): Counter<L> {
  const seen = new Map<string, number>();
  return new Counter<L>({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, now] of Object.entries(read())) {
        const before = seen.get(value) ?? 0;
        // Every value shows, at 0 until it first grows: an absent series cannot be alerted on.
        this.inc({ [label]: value } as Partial<Record<L, string>>, Math.max(0, now - before));
        seen.set(value, now);
      }
    },
  });
}
