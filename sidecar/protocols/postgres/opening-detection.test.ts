import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectPostgresOpening } from './opening-detection.js';

function pgPacket(length: number, code: number, body = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(length, 0);
  head.writeUInt32BE(code, 4);
  return Buffer.concat([head, body]);
}
const startupBody = Buffer.from('user\0ci\0database\0app\0\0', 'latin1');
const startup = pgPacket(8 + startupBody.length, 196608, startupBody);

const cases: Array<[string, Buffer, 'yes' | 'no' | 'more']> = [
  ['nothing yet', Buffer.alloc(0), 'more'],
  ['SSLRequest', pgPacket(8, 80877103), 'yes'],
  ['GSSENCRequest', pgPacket(8, 80877104), 'yes'],
  ['CancelRequest', pgPacket(16, 80877102, Buffer.alloc(8)), 'yes'],
  ['StartupMessage 3.0', startup, 'yes'],
  ['StartupMessage 3.2', pgPacket(8 + startupBody.length, 196610, startupBody), 'yes'],
  ['half a StartupMessage header', startup.subarray(0, 5), 'more'],
  ['SSLRequest with a wrong length', pgPacket(12, 80877103), 'no'],
  ['protocol 2.0 startup', pgPacket(296, 131072), 'no'],
  ['oversized startup length', pgPacket(1_000_000, 196608), 'no'],
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), 'no'],
  ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]), 'no'],
];

for (const [name, bytes, expected] of cases) {
  test(`PostgreSQL opening: ${name}`, () => assert.equal(detectPostgresOpening(bytes), expected));
}
