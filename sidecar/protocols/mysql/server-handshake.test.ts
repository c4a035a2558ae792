import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptClient, greeting, presentedToken, OFFERED_CAPABILITIES, TOKEN_PLUGIN } from './server-handshake.js';
import { CLIENT_COMPRESS, CLIENT_LOCAL_FILES, CLIENT_MYSQL, CLIENT_PROTOCOL_41, CLIENT_SESSION_TRACK, CLIENT_SSL, MARIADB_CLIENT_EXTENDED_METADATA, hasFlag } from './capabilities.js';
import type { HandshakeResponse41 } from './handshake-packets.js';

const response = (over: Partial<HandshakeResponse41> = {}): HandshakeResponse41 => ({
  capabilities: OFFERED_CAPABILITIES | CLIENT_LOCAL_FILES | CLIENT_SESSION_TRACK,
  maxPacketSize: 1 << 24,
  characterSet: 45,
  mariaDbCapabilities: 0,
  user: 'ci',
  authResponse: Buffer.alloc(0),
  database: undefined,
  authPluginName: 'mysql_native_password',
  connectAttributes: undefined,
  zstdCompressionLevel: undefined,
  ...over,
});

test('the greeting asks for the token in clear; TLS and MariaDB extended metadata only when offered', () => {
  const plain = greeting({ connectionId: 7, scramble: Buffer.alloc(20, 0x41), serverVersion: '8.0.0', tls: false });
  assert.equal(plain.authPluginName, TOKEN_PLUGIN);
  assert.equal(hasFlag(plain.capabilities, CLIENT_SSL), false);
  assert.equal(hasFlag(plain.capabilities, CLIENT_COMPRESS) || hasFlag(plain.capabilities, CLIENT_LOCAL_FILES), false);
  assert.equal(hasFlag(plain.capabilities, CLIENT_MYSQL), true);
  assert.equal(plain.mariaDbCapabilities, 0);
  const maria = greeting({ connectionId: 7, scramble: Buffer.alloc(20, 0x41), serverVersion: '5.5.5-10.11.19-MariaDB', tls: true, extendedMetadata: true });
  assert.equal(hasFlag(maria.capabilities, CLIENT_SSL), true);
  assert.equal(hasFlag(maria.capabilities, CLIENT_MYSQL), false, 'MariaDB signals extended capabilities by clearing CLIENT_MYSQL');
  assert.equal(maria.mariaDbCapabilities, MARIADB_CLIENT_EXTENDED_METADATA);
});

test('what a client asks for beyond the offer (LOCAL INFILE, session tracking) never goes upstream', () => {
  const a = acceptClient(response());
  assert.ok(a.ok);
  assert.equal(hasFlag(a.upstreamCapabilities, CLIENT_LOCAL_FILES), false);
  assert.equal(hasFlag(a.upstreamCapabilities, CLIENT_SESSION_TRACK), false);
  assert.equal(hasFlag(a.upstreamCapabilities, CLIENT_PROTOCOL_41), true);
});

test('refused: pre-4.1 clients, compression, character sets sidegate cannot read as the server does', () => {
  const old = acceptClient(response({ capabilities: OFFERED_CAPABILITIES & ~CLIENT_PROTOCOL_41 }));
  assert.ok(!old.ok && old.errorCode === 1043);
  const zip = acceptClient(response({ capabilities: OFFERED_CAPABILITIES | CLIENT_COMPRESS }));
  assert.ok(!zip.ok && /compress/.test(zip.message));
  const gbk = acceptClient(response({ characterSet: 28 }));
  assert.ok(!gbk.ok && gbk.errorCode === 1115 && gbk.sqlState === '42000' && /gbk/.test(gbk.message) && gbk.rule === 'client-charset');
});

test('the token: an empty answer is no token; the clear-text plugin\'s answer is the token; any other plugin is switched', () => {
  assert.equal(presentedToken(response()), '');
  assert.equal(presentedToken(response({ authPluginName: TOKEN_PLUGIN, authResponse: Buffer.from('\0') })), '');
  assert.equal(presentedToken(response({ authPluginName: TOKEN_PLUGIN, authResponse: Buffer.from('eyJ.tok\0') })), 'eyJ.tok');
  assert.equal(presentedToken(response({ authResponse: Buffer.alloc(20, 7) })), undefined);
});
