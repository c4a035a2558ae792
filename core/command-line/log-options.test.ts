import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logOptionsUsage, readLogSettings } from './log-options.js';

test('the flag wins over the environment, which wins over the default', () => {
  const env = { SIDEGATE_LOG_LEVEL: 'warn', SIDEGATE_LOG_FORMAT: 'pretty' };
  assert.deepEqual(readLogSettings({ 'log-level': 'debug', 'log-format': 'json' }, env), { level: 'debug', format: 'json' });
  assert.deepEqual(readLogSettings({}, env), { level: 'warn', format: 'pretty' });
  assert.deepEqual(readLogSettings({}, {}), { level: 'info', format: 'json' });
  assert.deepEqual(readLogSettings({}, { SIDEGATE_LOG_LEVEL: '' }, 'pretty'), { level: 'info', format: 'pretty' }, "local mode's default; an empty variable is unset");
});

test('a value that is not allowed is a problem naming where it came from, never a fallback', () => {
  assert.deepEqual(readLogSettings({ 'log-level': 'loud' }, {}), { problem: '--log-level must be one of debug, info, warn, error, got "loud"' });
  assert.deepEqual(readLogSettings({}, { SIDEGATE_LOG_FORMAT: 'xml\u001b' }), { problem: 'SIDEGATE_LOG_FORMAT must be one of json, pretty, got "xml?"' });
});

test('the usage lines line up with the command\'s option column', () => {
  const lines = logOptionsUsage(22, 'pretty').split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.match(line.slice(0, 22), /^  --log-[a-z]+ [A-Z]+ +$/);
    assert.notEqual(line[22], ' ');
  }
  assert.match(lines[1]!, /default pretty/);
});
