// What a `sysbench … run --histogram=on` printed, as figures: transactions and queries (counts
// and per second), errors, and latency percentiles from its histogram (sysbench itself prints
// one percentile per run; the histogram gives any). Latency is per event: one transaction.

export interface SysbenchFigures {
  transactions: number;
  transactionsPerSecond: number;
  queries: number;
  queriesPerSecond: number;
  ignoredErrors: number;
  latencyAvgMs: number;
  /** Percentiles from the histogram's buckets (sysbench's buckets are about 1.5% wide). */
  latencyP50Ms: number | undefined;
  latencyP95Ms: number | undefined;
  latencyP99Ms: number | undefined;
}

/** The histogram's rows `value |****   count`, in ascending order of value (ms). */
export function histogramOf(output: string): { valueMs: number; count: number }[] {
  const rows: { valueMs: number; count: number }[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*(\d+\.\d+)\s+\|\**\s+(\d+)\s*$/.exec(line);
    if (m) rows.push({ valueMs: Number(m[1]), count: Number(m[2]) });
  }
  return rows.sort((a, b) => a.valueMs - b.valueMs);
}

/**
 * The value below which a share `q` of the events fall: the event at index floor(n·q) of the
 * sorted events, the rule the pgbench rows use on their per-transaction logs.
 */
export function percentileOf(histogram: { valueMs: number; count: number }[], q: number): number | undefined {
  const n = histogram.reduce((sum, r) => sum + r.count, 0);
  if (n === 0) return undefined;
  const index = Math.min(n - 1, Math.floor(n * q));
  let seen = 0;
  for (const r of histogram) {
    seen += r.count;
    if (seen > index) return r.valueMs;
  }
  return histogram[histogram.length - 1]!.valueMs;
}

export function parseSysbenchRun(output: string): SysbenchFigures {
  const counted = (what: string) => {
    const m = new RegExp(`^\\s*${what}:\\s+(\\d+)\\s+\\(([0-9.]+) per sec\\.\\)`, 'm').exec(output);
    if (!m) throw new Error(`sysbench printed no "${what}" figure`);
    return [Number(m[1]), Number(m[2])] as const;
  };
  const [transactions, transactionsPerSecond] = counted('transactions');
  const [queries, queriesPerSecond] = counted('queries');
  const [ignoredErrors] = counted('ignored errors');
  const avg = /Latency \(ms\):[\s\S]*?avg:\s+([0-9.]+)/.exec(output);
  const histogram = histogramOf(output);
  return {
    transactions,
    transactionsPerSecond,
    queries,
    queriesPerSecond,
    ignoredErrors,
    latencyAvgMs: Number(avg?.[1]),
    latencyP50Ms: percentileOf(histogram, 0.5),
    latencyP95Ms: percentileOf(histogram, 0.95),
    latencyP99Ms: percentileOf(histogram, 0.99),
  };
}
