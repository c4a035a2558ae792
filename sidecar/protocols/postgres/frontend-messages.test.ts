import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'pg-protocol';
import { MessageFramer, ProtocolError, readStartupPacket, type Frame } from './message-framer.js';
import {
  FrontendCode,
  readBind,
  readClose,
  readCopyData,
  readCopyFail,
  readDescribe,
  readExecute,
  readFunctionCall,
  readParse,
  readPasswordMessage,
  readQuery,
  readSASLInitialResponse,
  readSASLResponse,
  serializeBind,
  serializeCancelRequest,
  serializeClose,
  serializeCopyData,
  serializeCopyDone,
  serializeCopyFail,
  serializeDescribe,
  serializeExecute,
  serializeFlush,
  serializeParse,
  serializePasswordMessage,
  serializeQuery,
  serializeSASLInitialResponse,
  serializeSASLResponse,
  serializeSSLRequest,
  serializeStartupMessage,
  serializeSync,
  serializeTerminate,
} from './frontend-messages.js';

/** Frames one serialized message and checks it is exactly one whole frame of `code`. */
function frame(bytes: Buffer, code: number): Frame {
  const f = new MessageFramer();
  f.push(bytes);
  const out = f.next();
  assert.ok(out, 'a complete frame');
  assert.equal(out.code, code);
  assert.equal(f.next(), null);
  return out;
}

const isProtocolError = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

test('Query: round trip, same bytes as pg-protocol, NUL refused', () => {
  const bytes = serializeQuery('select ünïcode, 1');
  assert.deepEqual(bytes, serialize.query('select ünïcode, 1'));
  assert.equal(readQuery(frame(bytes, FrontendCode.Query).body), 'select ünïcode, 1');
  assert.throws(() => serializeQuery('select 1;\0drop table x'), isProtocolError('malformed'));
  assert.throws(() => readQuery(Buffer.from('no terminator')), isProtocolError('truncated'));
  assert.throws(() => readQuery(Buffer.from('a\0b\0')), isProtocolError('malformed'));
});

test('Parse: round trip and decoding of what pg-protocol builds', () => {
  const ours = readParse(frame(serializeParse('s1', 'select $1::int, $2', [23, 0]), FrontendCode.Parse).body);
  assert.deepEqual(ours, { name: 's1', sql: 'select $1::int, $2', paramTypes: [23, 0] });
  const theirs = readParse(frame(serialize.parse({ name: 'q', text: 'select 1', types: [25] }), FrontendCode.Parse).body);
  assert.deepEqual(theirs, { name: 'q', sql: 'select 1', paramTypes: [25] });
  // OIDs above 2^31 survive as unsigned
  assert.deepEqual(readParse(frame(serializeParse('', 'x', [0xfffffff0]), FrontendCode.Parse).body).paramTypes, [0xfffffff0]);
});

test('Bind: values are views, NULL is null, formats kept', () => {
  const bind = {
    portal: 'p1',
    statement: 's1',
    paramFormats: [0, 1],
    params: [Buffer.from('42'), null, Buffer.from([0, 1, 2])],
    resultFormats: [1],
  };
  const body = frame(serializeBind(bind), FrontendCode.Bind).body;
  const read = readBind(body);
  assert.deepEqual(read, bind);
  assert.equal(read.params[0]!.buffer, body.buffer, 'parameter is a view, not a copy');
  // pg-protocol's Bind (text values, a Buffer makes that parameter binary)
  const theirs = readBind(frame(serialize.bind({ portal: '', statement: 'st', values: ['a', null, Buffer.from('b')] }), FrontendCode.Bind).body);
  assert.equal(theirs.statement, 'st');
  assert.deepEqual(theirs.params, [Buffer.from('a'), null, Buffer.from('b')]);
  assert.deepEqual(theirs.paramFormats, [0, 0, 1]);
  assert.throws(() => readBind(body.subarray(0, body.length - 3)), isProtocolError('truncated'));
});

test('Describe / Close / Execute: round trip and pg-protocol agreement', () => {
  assert.deepEqual(readDescribe(frame(serializeDescribe('P', 'portal'), FrontendCode.Describe).body), { kind: 'P', name: 'portal' });
  assert.deepEqual(serializeDescribe('S', 'st'), serialize.describe({ type: 'S', name: 'st' }));
  assert.deepEqual(readClose(frame(serializeClose('S', 'st'), FrontendCode.Close).body), { kind: 'S', name: 'st' });
  assert.deepEqual(serializeClose('P', ''), serialize.close({ type: 'P', name: '' }));
  assert.deepEqual(readExecute(frame(serializeExecute('cur', 100), FrontendCode.Execute).body), { portal: 'cur', maxRows: 100 });
  assert.deepEqual(serializeExecute('cur', 100), serialize.execute({ portal: 'cur', rows: 100 }));
  assert.throws(() => readDescribe(Buffer.from('Xname\0')), isProtocolError('malformed'));
});

test('Sync, Flush, Terminate, CopyDone: empty bodies equal to pg-protocol', () => {
  assert.deepEqual(serializeSync(), serialize.sync());
  assert.deepEqual(serializeFlush(), serialize.flush());
  assert.deepEqual(serializeTerminate(), serialize.end());
  assert.deepEqual(serializeCopyDone(), serialize.copyDone());
  assert.equal(frame(serializeTerminate(), FrontendCode.Terminate).body.length, 0);
});

test('CopyData / CopyFail', () => {
  const data = Buffer.from('1\tjane@example.com\n');
  assert.deepEqual(serializeCopyData(data), serialize.copyData(data));
  assert.deepEqual(readCopyData(frame(serializeCopyData(data), FrontendCode.CopyData).body), data);
  assert.deepEqual(serializeCopyFail('client gave up'), serialize.copyFail('client gave up'));
  assert.equal(readCopyFail(frame(serializeCopyFail('client gave up'), FrontendCode.CopyFail).body), 'client gave up');
});

test('PasswordMessage, SASLInitialResponse, SASLResponse', () => {
  assert.equal(readPasswordMessage(frame(serializePasswordMessage('eyJ.token.sig'), FrontendCode.Password).body), 'eyJ.token.sig');
  assert.throws(() => serializePasswordMessage('pw\0x'), isProtocolError('malformed'));
  const initial = readSASLInitialResponse(frame(serializeSASLInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc'), FrontendCode.Password).body);
  assert.equal(initial.mechanism, 'SCRAM-SHA-256');
  assert.equal(initial.response?.toString(), 'n,,n=,r=abc');
  assert.equal(readSASLResponse(frame(serializeSASLResponse('c=biws,r=abc,p=xyz'), FrontendCode.Password).body).toString(), 'c=biws,r=abc,p=xyz');
});

test('FunctionCall: oid, arguments and result format', () => {
  // F: oid, 1 format (binary), 2 args (4 bytes, NULL), result format 1
  const body = Buffer.from([0, 0, 0x04, 0xd2, 0, 1, 0, 1, 0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 1]);
  const call = readFunctionCall(body);
  assert.equal(call.oid, 1234);
  assert.deepEqual(call.argFormats, [1]);
  assert.deepEqual(call.args, [Buffer.from([0, 0, 0, 7]), null]);
  assert.equal(call.resultFormat, 1);
});

test('StartupMessage: client parameters kept, no forced client_encoding, bounded', () => {
  const bytes = serializeStartupMessage({ user: 'u', database: 'd', client_encoding: 'LATIN1', application_name: 'ci' });
  const p = readStartupPacket(bytes);
  assert.ok(p && p.kind === 'startup');
  assert.equal(p.protocolVersion, 196608);
  assert.deepEqual({ ...p.params }, { user: 'u', database: 'd', client_encoding: 'LATIN1', application_name: 'ci' });
  assert.throws(() => serializeStartupMessage({ user: 'u', options: 'x'.repeat(20_000) }), isProtocolError('message-too-large'));
  assert.throws(() => serializeStartupMessage({ user: 'u\0database' }), isProtocolError('malformed'));
});

test('SSLRequest and CancelRequest are the startup-phase packets the server expects', () => {
  assert.deepEqual(readStartupPacket(serializeSSLRequest()), { kind: 'ssl-request' });
  assert.deepEqual(readStartupPacket(serializeCancelRequest(77, -123456)), { kind: 'cancel', processId: 77, secretKey: -123456 });
});

test('strings that are not valid UTF-8 are a protocol error, never a replacement character', () => {
  const invalid: Record<string, number[]> = {
    'lone continuation byte': [0x80],
    'SJIS 0x95 0x5C': [0x95, 0x5c],
    'overlong slash': [0xc0, 0xaf],
    'overlong NUL-free 3-byte': [0xe0, 0x80, 0xa7],
    'UTF-16 surrogate': [0xed, 0xa0, 0x80],
    'truncated 3-byte sequence': [0xe2, 0x82],
    'beyond U+10FFFF': [0xf4, 0x90, 0x80, 0x80],
    'invalid byte 0xff': [0xff],
  };
  for (const [what, bytes] of Object.entries(invalid)) {
    const sql = Buffer.concat([Buffer.from("SELECT '"), Buffer.from(bytes), Buffer.from("'"), Buffer.of(0)]);
    assert.throws(() => readQuery(sql), (e: unknown) => e instanceof ProtocolError && e.code === 'invalid-encoding', what);
    const parse = Buffer.concat([Buffer.of(0), sql, Buffer.of(0, 0)]);
    assert.throws(() => readParse(parse), (e: unknown) => e instanceof ProtocolError && e.code === 'invalid-encoding', what);
  }
  // Valid multibyte text, including an encoded U+FFFD, is read as is.
  assert.equal(readQuery(Buffer.from("SELECT 'é€😀\uFFFD'\0")), "SELECT 'é€😀\uFFFD'");
});

test('startup parameters that are not valid UTF-8 are a protocol error', () => {
  const body = Buffer.concat([Buffer.from('application_name\0'), Buffer.of(0x95, 0x5c, 0), Buffer.of(0)]);
  const packet = Buffer.alloc(8 + body.length);
  packet.writeInt32BE(packet.length, 0);
  packet.writeInt32BE(196608, 4);
  body.copy(packet, 8);
  assert.throws(() => readStartupPacket(packet), (e: unknown) => e instanceof ProtocolError && e.code === 'invalid-encoding');
});
