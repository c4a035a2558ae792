import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_DEPRECATE_EOF,
  CLIENT_PROTOCOL_41,
  CLIENT_SESSION_TRACK,
  CLIENT_TRANSACTIONS,
  SERVER_SESSION_STATE_CHANGED,
  SERVER_STATUS_AUTOCOMMIT,
  SERVER_STATUS_NO_BACKSLASH_ESCAPES,
  SESSION_TRACK_SCHEMA,
  SESSION_TRACK_SYSTEM_VARIABLES,
} from './capabilities.js';
import {
  classifyResponse,
  classifyRowPacket,
  isEof,
  isErr,
  isOk,
  parseEof,
  parseErr,
  parseLocalInfileRequest,
  parseOk,
  parseRowsEnd,
  parseSchemaChange,
  parseSessionState,
  parseSystemVariableChange,
  serializeEof,
  serializeErr,
  serializeOk,
} from './response-packets.js';
import { MalformedPacket, lenencString } from './wire-reader.js';

const P41 = { capabilities: CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS };
const TRACK = { capabilities: CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SESSION_TRACK };
const DEPRECATE = { capabilities: CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF };
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('OK: the protocol documentation example, and round trips with and without session tracking', () => {
  const ok = parseOk(hex('00 00 00 02 00 00 00'), P41);
  assert.deepEqual({ ...ok, info: ok.info.toString() }, { header: 0, affectedRows: 0, lastInsertId: 0, statusFlags: 2, warnings: 0, info: '', sessionState: undefined });
  assert.equal(serializeOk(ok, P41).toString('hex'), '00000002000000');

  const withInfo = hex('00 01 fc 10 27 22 00 01 00') ;
  const parsed = parseOk(Buffer.concat([withInfo, Buffer.from('Rows matched: 1  Changed: 1  Warnings: 1')]), P41);
  assert.equal(parsed.affectedRows, 1);
  assert.equal(parsed.lastInsertId, 10000);
  assert.equal(parsed.statusFlags, 0x22);
  assert.equal(parsed.warnings, 1);
  assert.equal(parsed.info.toString(), 'Rows matched: 1  Changed: 1  Warnings: 1');

  // session tracking: USE other_db → schema change, SET NAMES gbk → system variable change
  const state = Buffer.concat([
    Buffer.from([SESSION_TRACK_SCHEMA]), lenencString(lenencString('other_db')),
    Buffer.from([SESSION_TRACK_SYSTEM_VARIABLES]), lenencString(Buffer.concat([lenencString('character_set_client'), lenencString('gbk')])),
  ]);
  const tracked = { header: 0, affectedRows: 0, lastInsertId: 0, statusFlags: SERVER_STATUS_AUTOCOMMIT | SERVER_SESSION_STATE_CHANGED, warnings: 0, info: Buffer.alloc(0), sessionState: state };
  const bytes = serializeOk(tracked, TRACK);
  const back = parseOk(bytes, TRACK);
  assert.deepEqual(back, tracked);
  const changes = parseSessionState(back.sessionState!);
  assert.equal(parseSchemaChange(changes[0]!), 'other_db');
  const v = parseSystemVariableChange(changes[1]!);
  assert.equal(v.name, 'character_set_client');
  assert.equal(v.value.toString(), 'gbk');
  assert.throws(() => parseSchemaChange(changes[1]!), MalformedPacket);

  // with session tracking but no state change, the empty info is omitted by the server
  assert.equal(serializeOk({ statusFlags: 2 }, TRACK).toString('hex'), '00000002000000');
  assert.equal(parseOk(hex('00 00 00 02 00 00 00'), TRACK).info.length, 0);
});

test('OK: malformed packets throw', () => {
  assert.throws(() => parseOk(hex('00 00'), P41), (e: unknown) => e instanceof MalformedPacket && /last insert id/.test(e.message));
  assert.throws(() => parseOk(hex('00 00 00 02 40 00 00 00 05 61'), TRACK), (e: unknown) => e instanceof MalformedPacket && /session state needs 5/.test(e.message));
  assert.throws(() => parseOk(hex('00 00 00 02 00 00 00 00 01'), TRACK), (e: unknown) => e instanceof MalformedPacket && /trailing/.test(e.message));
  assert.throws(() => parseOk(hex('ff 00 00'), P41), (e: unknown) => e instanceof MalformedPacket && /not an OK packet/.test(e.message));
});

test('ERR: with and without the SQLSTATE marker', () => {
  const doc = hex('ff 48 04 23 48 59 30 30 30 4e 6f 20 74 61 62 6c 65 73 20 75 73 65 64');
  const e = parseErr(doc);
  assert.equal(e.errorCode, 1096);
  assert.equal(e.sqlState, 'HY000');
  assert.equal(e.message.toString(), 'No tables used');
  assert.deepEqual(serializeErr(e), doc);
  const bare = parseErr(hex('ff 15 04 41 63 63 65 73 73'));
  assert.equal(bare.errorCode, 1045);
  assert.equal(bare.sqlState, undefined);
  assert.equal(bare.message.toString(), 'Access');
  const built = serializeErr({ errorCode: 1142, sqlState: '42000', message: 'denied by rule "no-drop"' });
  assert.deepEqual(parseErr(built), { errorCode: 1142, sqlState: '42000', message: Buffer.from('denied by rule "no-drop"') });
  assert.throws(() => serializeErr({ errorCode: 1, sqlState: '4200', message: '' }), RangeError);
  assert.throws(() => parseErr(hex('ff 15')), (e: unknown) => e instanceof MalformedPacket && /error code/.test(e.message));
});

test('EOF: parse and serialize; only short 0xFE packets are EOF', () => {
  const eof = hex('fe 00 00 02 00');
  assert.ok(isEof(eof));
  assert.deepEqual(parseEof(eof, P41), { warnings: 0, statusFlags: 2 });
  assert.deepEqual(serializeEof({ warnings: 3, statusFlags: SERVER_STATUS_NO_BACKSLASH_ESCAPES }, P41), hex('fe 03 00 00 02'));
  assert.ok(!isEof(Buffer.concat([hex('fe'), Buffer.alloc(8)])));
  assert.throws(() => parseEof(hex('fe 00'), P41), MalformedPacket);
});

test('classification respects the 0xFE ambiguity', () => {
  const okFe = serializeOk({ header: 0xfe, statusFlags: 2 }, DEPRECATE);
  assert.ok(isOk(okFe, DEPRECATE), 'a 0xFE-headed OK under DEPRECATE_EOF');
  assert.ok(!isOk(okFe, P41), 'but an EOF without it');
  assert.ok(isOk(hex('00 00 00 02 00 00 00'), P41));
  assert.ok(!isOk(hex('00 00'), P41));
  assert.ok(isErr(hex('ff 00 00')));
  assert.ok(!isErr(hex('00')));

  assert.equal(classifyRowPacket(hex('fe 00 00 02 00'), P41), 'end');
  assert.equal(classifyRowPacket(okFe, DEPRECATE), 'end');
  // a 0xFE-headed OK longer than an EOF, with info: an end only under DEPRECATE_EOF
  const longOk = serializeOk({ header: 0xfe, statusFlags: 2, info: Buffer.from('long enough info') }, DEPRECATE);
  assert.equal(classifyRowPacket(longOk, DEPRECATE), 'end');
  assert.equal(classifyRowPacket(longOk, P41), 'row');
  // a text row whose first value is the empty string, or NULL
  assert.equal(classifyRowPacket(hex('00 01 61'), P41), 'row');
  assert.equal(classifyRowPacket(hex('fb'), DEPRECATE), 'row');
  assert.equal(classifyRowPacket(hex('ff 10 04'), DEPRECATE), 'err');
  assert.throws(() => classifyRowPacket(Buffer.alloc(0), P41), MalformedPacket);

  assert.equal(parseRowsEnd(okFe, DEPRECATE).statusFlags, 2);
  assert.equal(parseRowsEnd(hex('fe 01 00 0a 00'), P41).warnings, 1);

  assert.equal(classifyResponse(hex('00 00 00 02 00 00 00')), 'ok');
  assert.equal(classifyResponse(hex('ff 00 00')), 'err');
  assert.equal(classifyResponse(hex('fb 2f 65 74 63')), 'local-infile');
  assert.equal(classifyResponse(hex('02')), 'result-set');
  assert.throws(() => classifyResponse(hex('fe 00 00 02 00')), MalformedPacket);
  assert.equal(parseLocalInfileRequest(hex('fb 2f 65 74 63')).filename.toString(), '/etc');
});
