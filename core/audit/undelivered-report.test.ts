import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../logging/logger.js';
import { reportUndelivered } from './undelivered-report.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

test('the stop\'s last audit line: what was not delivered, counted and dated; or that everything was', () => {
  const lost = capture();
  reportUndelivered(lost.log, { spans: 7, oldestStartTimeUnixNano: '1733356800123456789', unwrittenBytes: 0 }, 'http://collector:4318/v1/traces');
  assert.deepEqual(
    [lost.lines[0]!['level'], lost.lines[0]!['msg'], lost.lines[0]!['undeliveredSpans'], lost.lines[0]!['oldestUndeliveredSpanStart'], lost.lines[0]!['unwrittenBytes']],
    ['error', 'audit: spans were not delivered before exit', 7, '2024-12-05T00:00:00.123Z', undefined],
  );
  const done = capture();
  reportUndelivered(done.log, { spans: 0, unwrittenBytes: 0 }, 'http://collector:4318/v1/traces');
  assert.deepEqual([done.lines[0]!['level'], done.lines[0]!['msg']], ['info', 'audit: every span was delivered before exit']);
  const file = capture();
  reportUndelivered(file.log, { spans: 0, unwrittenBytes: 0, localFile: '/var/run/sidegate/audit.otlp.jsonl' }, '/var/run/sidegate/audit.otlp.jsonl');
  assert.match(String(file.lines[0]!['msg']), /kept in the local file/);
});
