import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planResultMasking } from '../../masking/index.js';
import { maskNoticeFields, maskNotification, maskParameterStatus, quotedEchoes, readFieldList, wholeEcho, type EchoContext } from './server-text-masking.js';
import { MessageBuilder } from './message-framer.js';

const detectors = planResultMasking([{ name: 'd', columns: [], detectors: [{ kind: 'builtin', name: 'email' }], strategy: 'redact' }], [{ name: '', textual: true }]);
const ctx = (statement?: string, columnRules = true): EchoContext => ({ detectors, columnRules, statement });

function notice(fields: [string, string][]): Buffer {
  const b = new MessageBuilder(null);
  for (const [t, v] of fields) b.byte(t.charCodeAt(0)).cstring(v);
  return b.byte(0).build().subarray(4);
}

test('a quoted echo the client did not send is redacted; one it sent is kept', () => {
  assert.deepEqual(quotedEchoes('invalid input syntax for type integer: "s3cret"', 'SELECT x::int FROM t', false), { text: 'invalid input syntax for type integer: "[REDACTED]"', masked: 1 });
  assert.deepEqual(quotedEchoes('relation "nosuch" does not exist', 'SELECT * FROM nosuch', false), { text: 'relation "nosuch" does not exist', masked: 0 });
  assert.equal(quotedEchoes('Failing row contains (1, Ada, (2, x)).', 'INSERT …', true).text, 'Failing row contains [REDACTED].'.replace('[REDACTED]', '([REDACTED])'));
  assert.equal(quotedEchoes('odd "quote', 'x', false).text, '[REDACTED]', 'an unmatched quote withholds everything');
  assert.equal(quotedEchoes('no quotes at all', undefined, true).masked, 0);
});

test('a whole echo is shown only when the statement holds it', () => {
  assert.deepEqual(wholeEcho('job-42', "SET application_name = 'job-42'"), { text: 'job-42', masked: 0 });
  assert.deepEqual(wholeEcho('Ada', 'SELECT set_config($1, name, false)'), { text: '[REDACTED]', masked: 1 });
  assert.deepEqual(wholeEcho('Ada', undefined), { text: '[REDACTED]', masked: 1 });
});

test('error fields: structural ones untouched, echoes and detections masked, RAISE text withheld whole', () => {
  const body = notice([
    ['S', 'ERROR'],
    ['C', '22P02'],
    ['M', 'invalid input syntax for type integer: "ada@example.com"'],
    ['P', '8'],
    ['F', 'numutils.c'],
  ]);
  const r = maskNoticeFields(0x45, body, ctx('SELECT email::int FROM customers'));
  assert.ok(r.rewritten);
  const fields = readFieldList(r.rewritten.message.subarray(5));
  assert.deepEqual(fields, [
    ['S', 'ERROR'],
    ['C', '22P02'],
    ['M', 'invalid input syntax for type integer: "[REDACTED]"'],
    ['P', '8'],
    ['F', 'numutils.c'],
  ]);
  const raised = notice([
    ['S', 'NOTICE'],
    ['C', '00000'],
    ['M', 'value Ada'],
    ['D', 'Bob'],
    ['W', 'PL/pgSQL function inline_code_block line 1 at RAISE'],
  ]);
  const m = maskNoticeFields(0x4e, raised, ctx('DO $$ … $$'));
  assert.deepEqual(m.fields.slice(2, 4), [
    ['M', '[REDACTED]'],
    ['D', '[REDACTED]'],
  ]);
  const own = notice([
    ['S', 'NOTICE'],
    ['M', 'plain words'],
    ['W', 'PL/pgSQL function inline_code_block line 1 at RAISE'],
  ]);
  const kept = maskNoticeFields(0x4e, own, ctx("DO $$ BEGIN RAISE NOTICE 'plain words'; END $$"));
  assert.deepEqual(kept.fields[1], ['M', 'plain words'], 'the client wrote it');
  assert.deepEqual(kept.fields[2], ['W', '[REDACTED]'], 'contexts quote values unmarked: whole echoes');
  const json = notice([
    ['M', 'invalid input syntax for type json'],
    ['D', 'Token "Ada" is invalid.'],
    ['W', 'JSON data, line 1: Ada'],
  ]);
  assert.deepEqual(maskNoticeFields(0x45, json, ctx('SELECT name::json FROM customers')).fields, [
    ['M', 'invalid input syntax for type json'],
    ['D', '[REDACTED]'],
    ['W', '[REDACTED]'],
  ]);
});

test('without column rules only detectors apply', () => {
  const body = notice([
    ['M', 'invalid input syntax for type integer: "Ada" and ada@example.com'],
  ]);
  const r = maskNoticeFields(0x45, body, ctx(undefined, false));
  assert.equal(r.fields[0]![1], 'invalid input syntax for type integer: "Ada" and [REDACTED:email]');
});

test('ParameterStatus and notifications are masked as whole echoes', () => {
  const status = (name: string, value: string) => new MessageBuilder(null).cstring(name).cstring(value).build().subarray(4);
  assert.equal(maskParameterStatus(status('client_encoding', 'UTF8'), ctx('SELECT 1')), null);
  const r = maskParameterStatus(status('application_name', 'Ada'), ctx("SELECT set_config('application_name', name, false)"));
  assert.ok(r);
  assert.ok(r.message.includes(Buffer.from('application_name\0[REDACTED]\0')));
  assert.equal(maskParameterStatus(status('application_name', 'job'), ctx("SET application_name = 'job'")), null);
  const note = new MessageBuilder(null).int32(7).cstring('chan').cstring('Ada').build().subarray(4);
  const n = maskNotification(note, ctx("LISTEN chan; SELECT pg_notify('chan', name) FROM customers"));
  assert.ok(n);
  assert.ok(n.message.includes(Buffer.from('chan\0[REDACTED]\0')));
  assert.equal(maskNotification(note, ctx("NOTIFY chan, 'Ada'")), null);
});
