import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyReader, type ReplyPacket, type ReplyShape } from './response-reader.js';
import { CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41, SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_CURSOR_EXISTS } from './capabilities.js';
import { serializeEof, serializeErr, serializeOk } from './response-packets.js';
import { serializeColumnCount, serializeColumnDefinition41, serializeStmtPrepareOk, serializeTextRow } from './result-packets.js';
import { MalformedPacket } from './wire-reader.js';

const CLASSIC = { capabilities: CLIENT_PROTOCOL_41 };
const DEPRECATE = { capabilities: CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF };

const column = (name: string) =>
  serializeColumnDefinition41({ catalog: 'def', schema: 's', table: 't', orgTable: 't', name, orgName: name, characterSet: 45, columnLength: 40, type: 253, flags: 0, decimals: 0 });
const row = (...v: string[]) => serializeTextRow(v.map((x) => Buffer.from(x)));
const eof = (status = SERVER_STATUS_AUTOCOMMIT) => serializeEof({ warnings: 0, statusFlags: status }, CLASSIC);
const ok = (status = SERVER_STATUS_AUTOCOMMIT, opts = CLASSIC) => serializeOk({ statusFlags: status, affectedRows: 1 }, opts);
const okEnd = (status = SERVER_STATUS_AUTOCOMMIT) => Buffer.concat([Buffer.from([0xfe]), ok(status, DEPRECATE).subarray(1)]);
const err = () => serializeErr({ errorCode: 1146, sqlState: '42S02', message: "Table 'x' doesn't exist" });

function read(shape: ReplyShape, opts: { capabilities: number }, packets: Buffer[]): { kinds: string[]; reader: ReplyReader } {
  const reader = new ReplyReader(shape, opts);
  const kinds = packets.map((p) => {
    const e: ReplyPacket = reader.next(p);
    return e.kind;
  });
  return { kinds, reader };
}

test('a text result set without CLIENT_DEPRECATE_EOF: count, definitions, EOF, rows, EOF', () => {
  const { kinds, reader } = read('results', CLASSIC, [serializeColumnCount(2), column('a'), column('b'), eof(), row('1', 'x'), row('2', 'y'), eof()]);
  assert.deepEqual(kinds, ['column-count', 'column', 'column', 'columns-end', 'row', 'row', 'rows-end']);
  assert.equal(reader.done, true);
});

test('with CLIENT_DEPRECATE_EOF: no EOF after the definitions, a 0xFE OK ends the rows; the last definition says so', () => {
  const reader = new ReplyReader('results', DEPRECATE);
  assert.equal(reader.next(serializeColumnCount(1)).kind, 'column-count');
  assert.deepEqual(reader.next(column('a')), { kind: 'column', index: 0, last: true });
  assert.equal(reader.next(row('1')).kind, 'row');
  assert.equal(reader.next(okEnd()).kind, 'rows-end');
  assert.equal(reader.done, true);
});

test('multiple results: each result ends with MORE_RESULTS until the last', () => {
  const more = SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS;
  const { kinds, reader } = read('results', CLASSIC, [ok(more), serializeColumnCount(1), column('a'), eof(more), row('1'), eof(more), ok()]);
  assert.deepEqual(kinds, ['ok', 'column-count', 'column', 'columns-end', 'row', 'rows-end', 'ok']);
  assert.equal(reader.done, true);
});

test('an error ends the reply, even in the middle of rows, and nothing may follow it', () => {
  const { kinds, reader } = read('results', CLASSIC, [serializeColumnCount(1), column('a'), eof(), row('1'), err()]);
  assert.deepEqual(kinds, ['column-count', 'column', 'columns-end', 'row', 'error']);
  assert.equal(reader.done, true);
  assert.throws(() => reader.next(row('2')), MalformedPacket);
});

test('a LOCAL INFILE request is recognised (the session refuses it)', () => {
  const { kinds } = read('results', CLASSIC, [Buffer.concat([Buffer.from([0xfb]), Buffer.from('/etc/passwd')])]);
  assert.deepEqual(kinds, ['local-infile']);
});

test('PREPARE_OK: parameter and column definitions, each followed by an EOF without DEPRECATE_EOF', () => {
  const prep = serializeStmtPrepareOk({ statementId: 7, columnCount: 1, paramCount: 2, warnings: 0, metadataFollows: undefined });
  const { kinds, reader } = read('prepare', CLASSIC, [prep, column('?'), column('?'), eof(), column('a'), eof()]);
  assert.deepEqual(kinds, ['prepare-ok', 'param', 'param', 'params-end', 'column', 'columns-end']);
  assert.equal(reader.done, true);
  const none = read('prepare', DEPRECATE, [serializeStmtPrepareOk({ statementId: 8, columnCount: 0, paramCount: 0, warnings: 0, metadataFollows: undefined })]);
  assert.deepEqual(none.kinds, ['prepare-ok']);
  assert.equal(none.reader.done, true);
});

test('an execute that opens a cursor ends after its definitions, flagged', () => {
  const { kinds, reader } = read('results', CLASSIC, [serializeColumnCount(1), column('a'), eof(SERVER_STATUS_AUTOCOMMIT | SERVER_STATUS_CURSOR_EXISTS)]);
  assert.deepEqual(kinds, ['column-count', 'column', 'columns-end']);
  assert.equal(reader.done, true);
  assert.equal(reader.cursorOpened, true);
});

test('status replies: an OK, or the EOF COM_SET_OPTION answers with; fetch and field list end at their terminator', () => {
  assert.deepEqual(read('status', CLASSIC, [ok()]).kinds, ['ok']);
  assert.deepEqual(read('status', CLASSIC, [eof()]).kinds, ['ok']);
  assert.deepEqual(read('status', CLASSIC, [Buffer.from([0xfe])]).kinds, ['ok'], "MariaDB's bare EOF to COM_SET_OPTION");
  assert.throws(() => read('status', CLASSIC, [row('x')]), MalformedPacket);
  assert.deepEqual(read('fetch', CLASSIC, [Buffer.from([0, 0, 1]), eof()]).kinds, ['row', 'rows-end']);
  assert.deepEqual(read('field-list', CLASSIC, [column('a'), column('b'), eof()]).kinds, ['column', 'column', 'rows-end']);
});

test('malformed replies are refused, never guessed', () => {
  assert.throws(() => read('results', CLASSIC, [Buffer.alloc(0)]), MalformedPacket);
  assert.throws(() => read('results', CLASSIC, [serializeColumnCount(1), column('a'), row('1')]), /EOF/);
  assert.throws(() => read('prepare', CLASSIC, [ok()]), MalformedPacket);
});
