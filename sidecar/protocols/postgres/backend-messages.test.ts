import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parser } from 'pg-protocol/dist/parser.js';
import { MessageFramer, ProtocolError, type Frame } from './message-framer.js';
import {
  AuthCode,
  BackendCode,
  endsWithReadyForQuery,
  readAuthentication,
  readBackendKeyData,
  readCommandComplete,
  readDataRow,
  readErrorFields,
  readParameterDescription,
  readParameterStatus,
  readReadyForQuery,
  readRowDescription,
  readSASLMechanisms,
  serializeAuthenticationCleartextPassword,
  serializeAuthenticationMD5Password,
  serializeAuthenticationOk,
  serializeBackendKeyData,
  serializeBindComplete,
  serializeCloseComplete,
  serializeCommandComplete,
  serializeDataRow,
  serializeEmptyQueryResponse,
  serializeError,
  serializeNegotiateProtocolVersion,
  serializeNoData,
  serializeNotice,
  serializeParameterDescription,
  serializeParameterStatus,
  serializeParseComplete,
  serializePortalSuspended,
  serializeReadyForQuery,
  serializeRowDescription,
  type RowDescriptionField,
} from './backend-messages.js';

function frame(bytes: Buffer, code: number): Frame {
  const f = new MessageFramer();
  f.push(bytes);
  const out = f.next();
  assert.ok(out, 'a complete frame');
  assert.equal(out.code, code);
  assert.equal(f.next(), null);
  return out;
}

/** What node-postgres's own parser makes of our bytes. */
function pgParse(bytes: Buffer): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  new Parser().parse(bytes, (m) => out.push(m as unknown as Record<string, unknown>));
  return out;
}

const isProtocolError = (code: string) => (err: unknown) => err instanceof ProtocolError && err.code === code;

test('ErrorResponse: S and V, code, message, detail, hint; pg-protocol agrees', () => {
  const bytes = serializeError({ severity: 'ERROR', code: '42501', message: 'sidegate: denied by rule "no-drop"', detail: 'DROP TABLE', hint: 'ask a DBA' });
  const fields = readErrorFields(frame(bytes, BackendCode.ErrorResponse).body);
  assert.deepEqual({ ...fields }, { S: 'ERROR', V: 'ERROR', C: '42501', M: 'sidegate: denied by rule "no-drop"', D: 'DROP TABLE', H: 'ask a DBA' });
  const [m] = pgParse(bytes);
  assert.equal(m!['name'], 'error');
  assert.equal(m!['severity'], 'ERROR');
  assert.equal(m!['code'], '42501');
  assert.equal(m!['message'], 'sidegate: denied by rule "no-drop"');
  assert.equal(m!['hint'], 'ask a DBA');
  assert.throws(() => serializeError({ severity: 'ERROR', code: 'bad', message: 'x' }), isProtocolError('malformed'));
});

test('NoticeResponse', () => {
  const bytes = serializeNotice({ severity: 'NOTICE', code: '00000', message: 'held for approval a-1' });
  assert.equal(readErrorFields(frame(bytes, BackendCode.NoticeResponse).body)['M'], 'held for approval a-1');
  const [m] = pgParse(bytes);
  assert.equal(m!['name'], 'notice');
  assert.equal(m!['message'], 'held for approval a-1');
});

test('Authentication messages', () => {
  assert.deepEqual(readAuthentication(frame(serializeAuthenticationOk(), BackendCode.Authentication).body).code, AuthCode.Ok);
  assert.equal(pgParse(serializeAuthenticationOk())[0]!['name'], 'authenticationOk');
  assert.equal(readAuthentication(serializeAuthenticationCleartextPassword().subarray(5)).code, AuthCode.CleartextPassword);
  assert.equal(pgParse(serializeAuthenticationCleartextPassword())[0]!['name'], 'authenticationCleartextPassword');
  const md5 = serializeAuthenticationMD5Password(Buffer.from([1, 2, 3, 4]));
  const auth = readAuthentication(md5.subarray(5));
  assert.equal(auth.code, AuthCode.MD5Password);
  assert.deepEqual(auth.payload, Buffer.from([1, 2, 3, 4]));
  assert.deepEqual(pgParse(md5)[0]!['salt'], Buffer.from([1, 2, 3, 4]));
  assert.deepEqual(readSASLMechanisms(Buffer.from('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0')), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
});

test('ParameterStatus, BackendKeyData, ReadyForQuery', () => {
  const ps = serializeParameterStatus('server_version', '15.4');
  assert.deepEqual(readParameterStatus(frame(ps, BackendCode.ParameterStatus).body), { name: 'server_version', value: '15.4' });
  assert.equal(pgParse(ps)[0]!['parameterValue'], '15.4');
  const key = serializeBackendKeyData(1234, -99);
  assert.deepEqual(readBackendKeyData(frame(key, BackendCode.BackendKeyData).body), { processId: 1234, secretKey: -99 });
  assert.equal(pgParse(key)[0]!['processID'], 1234);
  for (const s of ['I', 'T', 'E'] as const) {
    assert.equal(readReadyForQuery(frame(serializeReadyForQuery(s), BackendCode.ReadyForQuery).body), s);
    assert.equal(pgParse(serializeReadyForQuery(s))[0]!['status'], s);
  }
  assert.throws(() => readReadyForQuery(Buffer.from('X')), isProtocolError('malformed'));
});

test('a chunk that ends a reply is told from one that stops mid-reply', () => {
  const rows = Buffer.concat([serializeDataRow([Buffer.from('1')]), serializeDataRow([Buffer.from('2')])]);
  const reply = Buffer.concat([rows, serializeCommandComplete('SELECT 2'), serializeReadyForQuery('I')]);
  assert.equal(endsWithReadyForQuery(reply), true);
  assert.equal(endsWithReadyForQuery(serializeReadyForQuery('T')), true);
  assert.equal(endsWithReadyForQuery(rows), false);
  assert.equal(endsWithReadyForQuery(reply.subarray(0, reply.length - 1)), false, 'cut inside the ReadyForQuery');
  assert.equal(endsWithReadyForQuery(reply.subarray(reply.length - 5)), false, 'too short to hold one');
  assert.equal(endsWithReadyForQuery(Buffer.alloc(0)), false);
});

test('RowDescription: all attributes round trip; pg-protocol agrees', () => {
  const fields: RowDescriptionField[] = [
    { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeMod: -1, format: 0 },
    { name: 'émail', tableOid: 0xfffffff0, columnAttr: 3, typeOid: 25, typeSize: -1, typeMod: -1, format: 1 },
  ];
  const bytes = serializeRowDescription(fields);
  assert.deepEqual(readRowDescription(frame(bytes, BackendCode.RowDescription).body), fields);
  const [m] = pgParse(bytes);
  const theirs = m!['fields'] as { name: string; tableID: number; dataTypeID: number }[];
  assert.equal(theirs[1]!.name, 'émail');
  assert.equal(theirs[0]!.tableID, 16384);
  assert.equal(theirs[1]!.dataTypeID, 25);
});

test('DataRow: views and nulls into a reused array; rebuilding gives the same bytes', () => {
  const values = [Buffer.from('1'), null, Buffer.from(''), Buffer.from('jane@example.com')];
  const bytes = serializeDataRow(values);
  const body = frame(bytes, BackendCode.DataRow).body;
  const out: (Buffer | null)[] = [Buffer.from('stale'), Buffer.from('stale'), null, null, Buffer.from('beyond')];
  assert.equal(readDataRow(body, out), 4);
  assert.deepEqual(out.slice(0, 4), values);
  assert.equal(out[3]!.buffer, bytes.buffer, 'value is a view into the message');
  assert.equal(out[4]!.toString(), 'beyond', 'entries past the count are untouched');
  assert.deepEqual(serializeDataRow(out.slice(0, 4)), bytes);
  const [m] = pgParse(bytes);
  assert.deepEqual(m!['fields'], ['1', null, '', 'jane@example.com']);
  assert.throws(() => readDataRow(body.subarray(0, body.length - 2), []), isProtocolError('truncated'));
  assert.throws(() => readDataRow(Buffer.concat([body, Buffer.from([0])]), []), isProtocolError('malformed'));
  assert.throws(() => readDataRow(Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xfe]), []), isProtocolError('truncated'));
});

test('CommandComplete and the empty-bodied responses', () => {
  const cc = serializeCommandComplete('SELECT 3');
  assert.equal(readCommandComplete(frame(cc, BackendCode.CommandComplete).body), 'SELECT 3');
  assert.equal(pgParse(cc)[0]!['text'], 'SELECT 3');
  const empties: [Buffer, number, string][] = [
    [serializeEmptyQueryResponse(), BackendCode.EmptyQueryResponse, 'emptyQuery'],
    [serializeParseComplete(), BackendCode.ParseComplete, 'parseComplete'],
    [serializeBindComplete(), BackendCode.BindComplete, 'bindComplete'],
    [serializeCloseComplete(), BackendCode.CloseComplete, 'closeComplete'],
    [serializeNoData(), BackendCode.NoData, 'noData'],
    [serializePortalSuspended(), BackendCode.PortalSuspended, 'portalSuspended'],
  ];
  for (const [bytes, code, name] of empties) {
    assert.equal(frame(bytes, code).body.length, 0);
    assert.equal(pgParse(bytes)[0]!['name'], name);
  }
});

test('ParameterDescription and NegotiateProtocolVersion', () => {
  const pd = serializeParameterDescription([23, 25, 0xfffffff0]);
  assert.deepEqual(readParameterDescription(frame(pd, BackendCode.ParameterDescription).body), [23, 25, 0xfffffff0]);
  assert.equal(pgParse(pd)[0]!['parameterCount'], 3);
  const nv = frame(serializeNegotiateProtocolVersion(0, ['_pq_.x']), BackendCode.NegotiateProtocolVersion).body;
  assert.equal(nv.readInt32BE(0), 0);
  assert.equal(nv.readInt32BE(4), 1);
  assert.equal(nv.subarray(8).toString(), '_pq_.x\0');
});

test('ErrorResponse decoder refuses a body without its terminator', () => {
  assert.throws(() => readErrorFields(Buffer.from('SERROR\0')), isProtocolError('truncated'));
});
