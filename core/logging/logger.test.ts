import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, silentLogger, type LogFormat } from './logger.js';
import { REDACTION_CENSOR } from './log-redaction.js';

function capture(format: LogFormat = 'json', level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, format, sink: (line) => lines.push(line) }) };
}

test('JSON: one line per call with the level by name, an ISO time, the message and the fields', () => {
  const { lines, log } = capture();
  log.warn('command denied', { event: 'command.denied', rule: 'no-ddl', rows: 3, late: false, absent: undefined });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('\n'));
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line['level'], 'warn');
  assert.equal(line['msg'], 'command denied');
  assert.match(String(line['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual([line['event'], line['rule'], line['rows'], line['late']], ['command.denied', 'no-ddl', 3, false]);
  assert.ok(!('absent' in line), 'an undefined field is left out');
  assert.ok(!('pid' in line) && !('hostname' in line), 'no pino base fields: the platform names the pod');
});

test('lines below the level are not written', () => {
  const { lines, log } = capture('json', 'info');
  log.debug('detail');
  log.info('fact');
  log.error('failure');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['fact', 'failure']);
});

test("a child's fields are on every line it writes, and its children's", () => {
  const { lines, log } = capture();
  const session = log.child({ session: 's-1', target: 'pg', client: undefined });
  const identified = session.child({ traceId: 'a'.repeat(32), subject: 'ci' });
  session.info('before');
  identified.warn('after', { rule: 'r' });
  log.info('outside');
  const [before, after, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual([before!['session'], before!['target'], before!['traceId']], ['s-1', 'pg', undefined]);
  assert.ok(!('client' in before!));
  assert.deepEqual([after!['session'], after!['traceId'], after!['subject'], after!['rule']], ['s-1', 'a'.repeat(32), 'ci', 'r']);
  assert.equal(outside!['session'], undefined);
});

test('fields named like a secret are censored, in a line and in a child, in both formats', () => {
  for (const format of ['json', 'pretty'] as const) {
    const { lines, log } = capture(format);
    log.info('oops', { password: 'hunter2-canary', token: 'eyJ-canary', authorization: 'Bearer canary', clientSecret: 'cs-canary', user: 'ci' });
    log.child({ secret: 'child-canary', access_token: 'at-canary' }).info('child');
    const text = lines.join('\n');
    assert.doesNotMatch(text, /canary/, format);
    assert.ok(text.includes(REDACTION_CENSOR), format);
    assert.ok(text.includes('"user":"ci"') || text.includes('user'), format);
  }
});

test('pretty: one human line per call, no JSON document, no colour when writing to a sink', () => {
  const { lines, log } = capture('pretty');
  log.warn('login rejected', { event: 'login.rejected', reason: 'expired' });
  log.child({ session: 's-9' }).info('command held for approval', { approval: 'a-1' });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: login rejected \{"event":"login\.rejected","reason":"expired"\}$/);
  assert.match(lines[1]!, /INFO: command held for approval \{.*"session":"s-9".*"approval":"a-1".*\}$/);
  assert.ok(lines.every((l) => !l.includes('\x1b')), 'no escape sequences');
});

test('pretty: a field value cannot start a new line', () => {
  const { lines, log } = capture('pretty');
  log.info('protocol error', { error: 'first\nFAKE: second' });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('\n'));
});

test('the silent logger and its children write nothing', () => {
  silentLogger.child({ session: 'x' }).error('nothing');
});
