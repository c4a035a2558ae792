import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectMysqlReply } from './opening-detection.js';
import { serializeHandshakeResponse41, serializeSslRequest } from './handshake-packets.js';
import { framePacket } from './packet-framer.js';
import { CLIENT_PLUGIN_AUTH, CLIENT_PROTOCOL_41, CLIENT_SECURE_CONNECTION, CLIENT_SSL } from './capabilities.js';

const caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
const response = framePacket(1, serializeHandshakeResponse41({ capabilities: caps, maxPacketSize: 1 << 24, characterSet: 45, mariaDbCapabilities: 0, user: 'app', authResponse: Buffer.alloc(20, 1), database: undefined, authPluginName: 'mysql_native_password', connectAttributes: undefined, zstdCompressionLevel: undefined })).bytes;
const ssl = framePacket(1, serializeSslRequest({ capabilities: caps | CLIENT_SSL, maxPacketSize: 1 << 24, characterSet: 45, mariaDbCapabilities: 0 })).bytes;

test('a HandshakeResponse41 and an SSLRequest are MySQL; their prefixes ask for more', () => {
  assert.equal(detectMysqlReply(response), 'yes');
  assert.equal(detectMysqlReply(ssl), 'yes');
  assert.equal(detectMysqlReply(response.subarray(0, 10)), 'more');
  assert.equal(detectMysqlReply(response.subarray(0, 2)), 'more');
});

test('other protocols\' openings are not', () => {
  assert.equal(detectMysqlReply(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'no');
  assert.equal(detectMysqlReply(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), 'no');
  assert.equal(detectMysqlReply(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])), 'no', 'a TLS ClientHello');
  assert.equal(detectMysqlReply(Buffer.from([0, 0, 0, 0x54, 0, 3, 0, 0])), 'no', 'a PostgreSQL startup');
  const seq0 = Buffer.from(response);
  seq0[3] = 0;
  assert.equal(detectMysqlReply(seq0), 'no', 'a client never sends sequence 0 first');
  const pre41 = Buffer.from(response);
  pre41.writeUInt32LE(0, 4);
  assert.equal(detectMysqlReply(pre41), 'no');
});
