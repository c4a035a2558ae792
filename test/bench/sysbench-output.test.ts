import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramOf, parseSysbenchRun, percentileOf } from './sysbench-output.js';

// The shape sysbench 1.0.20 prints for `oltp_read_only … --histogram=on run` (trimmed).
const OUTPUT = `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Threads started!

Latency histogram (values are in milliseconds)
       value  ------------- distribution ------------- count
       0.597 |*                                        1
       0.608 |*****                                    9
       0.619 |**************************************** 40
       0.654 |*********************                    36
       1.470 |****                                     8
       5.570 |*                                        6
 
SQL statistics:
    queries performed:
        read:                            1400
        write:                           0
        other:                           200
        total:                           1600
    transactions:                        100    (1913.52 per sec.)
    queries:                             1600   (30616.31 per sec.)
    ignored errors:                      2      (0.04 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          1.0040s
    total number of events:              100

Latency (ms):
         min:                                    0.60
         avg:                                    1.04
         max:                                    5.57
         95th percentile:                        1.47
         sum:                                 1996.66
`;

test('the figures of a run: counts, rates, errors and the average latency', () => {
  const f = parseSysbenchRun(OUTPUT);
  assert.deepEqual(
    [f.transactions, f.transactionsPerSecond, f.queries, f.queriesPerSecond, f.ignoredErrors, f.latencyAvgMs],
    [100, 1913.52, 1600, 30616.31, 2, 1.04],
  );
});

test('percentiles come from the histogram: the event at floor(n·q) of the sorted events', () => {
  const h = histogramOf(OUTPUT);
  assert.equal(h.length, 6, 'every row, the full 40-star bar too');
  assert.equal(h.reduce((n, r) => n + r.count, 0), 100);
  const f = parseSysbenchRun(OUTPUT);
  // Events 0..9 at ≤ 0.608, 10..49 at 0.619, 50..85 at 0.654, 86..93 at 1.470, 94..99 at 5.570.
  assert.equal(f.latencyP50Ms, 0.654);
  assert.equal(f.latencyP95Ms, 5.57);
  assert.equal(percentileOf(h, 0.49), 0.619);
  assert.equal(percentileOf(h, 0.9), 1.47);
  assert.equal(percentileOf([], 0.5), undefined);
});

test('a run that printed no statistics (sysbench failed) is an error, not zeros', () => {
  assert.throws(() => parseSysbenchRun('FATAL: unable to connect to MySQL server'), /no "transactions" figure/);
});
