import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_CONNECT_ATTRS,
  CLIENT_CONNECT_WITH_DB,
  CLIENT_MYSQL,
  CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
  CLIENT_PROTOCOL_41,
  CLIENT_SECURE_CONNECTION,
  CLIENT_SSL,
  MARIADB_CLIENT_CACHE_METADATA,
  MARIADB_CLIENT_PROGRESS,
  hasFlag,
} from './capabilities.js';
import {
  isSslRequest,
  parseAuthMoreData,
  parseAuthSwitchRequest,
  parseHandshakeResponse41,
  parseHandshakeV10,
  parseSslRequest,
  serializeAuthMoreData,
  serializeAuthSwitchRequest,
  serializeHandshakeResponse41,
  serializeHandshakeV10,
  serializeSslRequest,
  type HandshakeResponse41,
} from './handshake-packets.js';
import { MalformedPacket } from './wire-reader.js';

// Captured from MariaDB 10.11 (Debian 12) on the test server, header stripped.
const MARIADB_GREETING = Buffer.from(
  '0a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275310058000000565735422c51375b00feff080200ff81150000000000001d000000483571594a47644465514649006d7973716c5f6e61746976655f70617373776f726400',
  'hex',
);
// The `mariadb` CLI (libmariadb 3.3) answering that greeting without TLS, header stripped.
const MARIADB_CLI_RESPONSE = Buffer.from(
  '8ca2bf000000100021000000000000000000000000000000000000001d00000073696465676174655f6e61746976650014edec9b1aa54dcdbc7b6eb3e550bdf3c82e84283b73696465676174655f74657374006d7973716c5f6e61746976655f70617373776f7264007f035f6f73054c696e75780c5f636c69656e745f6e616d650a6c69626d617269616462045f7069640532373738380f5f636c69656e745f76657273696f6e06332e332e3230095f706c6174666f726d067838365f36340c70726f6772616d5f6e616d65056d7973716c0c5f7365727665725f686f7374093132372e302e302e31',
  'hex',
);
// mysql2 3.25 answering the same greeting, header stripped.
const MYSQL2_RESPONSE = Buffer.from(
  'cef3ba0000000000e0000000000000000000000000000000000000000800000073696465676174655f6e61746976650014edec9b1aa54dcdbc7b6eb3e550bdf3c82e84283b73696465676174655f74657374006d7973716c5f6e61746976655f70617373776f726400310c5f636c69656e745f6e616d650c4e6f64652d4d7953514c2d320f5f636c69656e745f76657273696f6e06332e32352e30',
  'hex',
);

const malformed = (re: RegExp) => (err: unknown) => err instanceof MalformedPacket && re.test(err.message);

test('HandshakeV10: a real MariaDB greeting parses, with its extended capabilities, and re-serializes byte for byte', () => {
  const h = parseHandshakeV10(MARIADB_GREETING);
  assert.equal(h.protocolVersion, 10);
  assert.equal(h.serverVersion, '5.5.5-10.11.19-MariaDB-0+deb12u1');
  assert.equal(h.connectionId, 0x58);
  assert.equal(h.authPluginData.toString('latin1'), 'VW5B,Q7[H5qYJGdDeQFI');
  assert.equal(h.characterSet, 8);
  assert.equal(h.statusFlags, 2);
  assert.ok(!hasFlag(h.capabilities, CLIENT_MYSQL), 'MariaDB leaves CLIENT_MYSQL unset');
  assert.ok(hasFlag(h.capabilities, CLIENT_SSL));
  assert.ok(hasFlag(h.capabilities, CLIENT_PLUGIN_AUTH));
  assert.equal(h.mariaDbCapabilities, 0x1d);
  assert.ok(hasFlag(h.mariaDbCapabilities, MARIADB_CLIENT_PROGRESS));
  assert.ok(hasFlag(h.mariaDbCapabilities, MARIADB_CLIENT_CACHE_METADATA));
  assert.equal(h.authPluginName, 'mysql_native_password');
  assert.equal(serializeHandshakeV10(h).toString('hex'), MARIADB_GREETING.toString('hex'));
});

test('HandshakeV10: a MySQL-style greeting (CLIENT_MYSQL set) ignores the reserved bytes; truncations throw', () => {
  const h = parseHandshakeV10(MARIADB_GREETING);
  const mysqlStyle = { ...h, serverVersion: '8.0.36', capabilities: (h.capabilities | CLIENT_MYSQL) >>> 0, mariaDbCapabilities: 0x1d, authPluginName: 'caching_sha2_password' };
  const back = parseHandshakeV10(serializeHandshakeV10(mysqlStyle));
  assert.equal(back.mariaDbCapabilities, 0);
  assert.equal(back.authPluginName, 'caching_sha2_password');
  assert.deepEqual(back.authPluginData, h.authPluginData);
  for (const cut of [0, 1, 10, 40, 45, 60]) {
    assert.throws(() => parseHandshakeV10(MARIADB_GREETING.subarray(0, cut)), MalformedPacket, `cut at ${cut}`);
  }
  assert.throws(() => parseHandshakeV10(Buffer.from('ff15040000', 'hex')), malformed(/error instead of its greeting/));
  assert.throws(() => parseHandshakeV10(Buffer.from([9, 0x41, 0])), malformed(/protocol version 9/));
});

test('HandshakeResponse41: the mariadb CLI reply, with its connect attributes and MariaDB capabilities', () => {
  const r = parseHandshakeResponse41(MARIADB_CLI_RESPONSE);
  assert.equal(r.user, 'sidegate_native');
  assert.equal(r.database, 'sidegate_test');
  assert.equal(r.authPluginName, 'mysql_native_password');
  assert.equal(r.authResponse.toString('hex'), 'edec9b1aa54dcdbc7b6eb3e550bdf3c82e84283b');
  assert.equal(r.characterSet, 0x21);
  assert.equal(r.maxPacketSize, 0x100000);
  assert.equal(r.mariaDbCapabilities, 0x1d);
  assert.ok(hasFlag(r.capabilities, CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA));
  assert.deepEqual(Object.fromEntries(r.connectAttributes!), {
    _os: 'Linux', _client_name: 'libmariadb', _pid: '27788', _client_version: '3.3.20', _platform: 'x86_64', program_name: 'mysql', _server_host: '127.0.0.1',
  });
  assert.equal(serializeHandshakeResponse41(r).toString('hex'), MARIADB_CLI_RESPONSE.toString('hex'));
});

test('HandshakeResponse41: the mysql2 reply re-serializes byte for byte', () => {
  const r = parseHandshakeResponse41(MYSQL2_RESPONSE);
  assert.equal(r.user, 'sidegate_native');
  assert.equal(r.authResponse.length, 20);
  assert.deepEqual(r.connectAttributes, [['_client_name', 'Node-MySQL-2'], ['_client_version', '3.25.0']]);
  assert.equal(serializeHandshakeResponse41(r).toString('hex'), MYSQL2_RESPONSE.toString('hex'));
});

test('HandshakeResponse41: the three auth-response encodings round-trip, each chosen by the capabilities', () => {
  const base: HandshakeResponse41 = {
    capabilities: CLIENT_PROTOCOL_41 | CLIENT_MYSQL,
    maxPacketSize: 16777216,
    characterSet: 45,
    mariaDbCapabilities: 0,
    user: 'ci',
    authResponse: Buffer.from('token-bytes'),
    database: undefined,
    authPluginName: undefined,
    connectAttributes: undefined,
    zstdCompressionLevel: undefined,
  };
  const variants: Array<[number, Buffer]> = [
    [CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION, Buffer.alloc(300, 0x41)],
    [CLIENT_SECURE_CONNECTION, Buffer.from([1, 2, 0, 3])],
    [0, Buffer.from('clear-text-password')],
  ];
  for (const [flags, auth] of variants) {
    const h = { ...base, capabilities: (base.capabilities | flags | CLIENT_CONNECT_WITH_DB | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS) >>> 0, authResponse: auth, database: 'db', authPluginName: 'mysql_clear_password', connectAttributes: [['a', 'b']] as Array<[string, string]> };
    const bytes = serializeHandshakeResponse41(h);
    assert.deepEqual(parseHandshakeResponse41(bytes), h, `flags ${flags.toString(16)}`);
  }
  assert.throws(() => serializeHandshakeResponse41({ ...base, capabilities: CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION, authResponse: Buffer.alloc(256) }), RangeError);
});

test('HandshakeResponse41: malformed replies are refused with a clear message', () => {
  assert.throws(() => parseHandshakeResponse41(MARIADB_CLI_RESPONSE.subarray(0, 40)), malformed(/user name has no terminating NUL/));
  // the auth response announces 0x14 bytes but the packet ends first
  const cut = MARIADB_CLI_RESPONSE.subarray(0, 32 + 'sidegate_native'.length + 1 + 5);
  assert.throws(() => parseHandshakeResponse41(cut), malformed(/auth response needs 20 byte/));
  const old = Buffer.from(MARIADB_CLI_RESPONSE);
  old.writeUInt32LE(0x8000, 0);
  assert.throws(() => parseHandshakeResponse41(old), malformed(/CLIENT_PROTOCOL_41/));
  // attributes whose total length overruns the packet
  const attrs = Buffer.from(MARIADB_CLI_RESPONSE);
  const at = attrs.indexOf(Buffer.from('7f035f6f73', 'hex'));
  attrs[at] = 0xf0;
  assert.throws(() => parseHandshakeResponse41(attrs), malformed(/connection attributes needs 240 byte/));
});

test('SSLRequest: the 32-byte prefix of the response, with CLIENT_SSL', () => {
  const r = parseHandshakeResponse41(MARIADB_CLI_RESPONSE);
  const ssl = serializeSslRequest(r);
  assert.equal(ssl.length, 32);
  assert.ok(isSslRequest(ssl));
  assert.ok(!isSslRequest(MARIADB_CLI_RESPONSE));
  const parsed = parseSslRequest(ssl);
  assert.ok(hasFlag(parsed.capabilities, CLIENT_SSL));
  assert.equal(parsed.mariaDbCapabilities, 0x1d);
  assert.equal(parsed.characterSet, r.characterSet);
  // the full response with CLIENT_SSL starts with the same 32 bytes
  const full = serializeHandshakeResponse41({ ...r, capabilities: (r.capabilities | CLIENT_SSL) >>> 0 });
  assert.deepEqual(full.subarray(0, 32), ssl);
  assert.throws(() => parseSslRequest(MARIADB_CLI_RESPONSE.subarray(0, 32)), malformed(/without the CLIENT_SSL/));
  assert.throws(() => parseSslRequest(ssl.subarray(0, 31)), malformed(/must be 32 bytes/));
});

test('AuthSwitchRequest, AuthMoreData', () => {
  const sw = { pluginName: 'client_ed25519', pluginData: Buffer.concat([Buffer.alloc(32, 7), Buffer.from([0])]) };
  const bytes = serializeAuthSwitchRequest(sw);
  assert.equal(bytes[0], 0xfe);
  assert.deepEqual(parseAuthSwitchRequest(bytes), sw);
  assert.deepEqual(parseAuthSwitchRequest(Buffer.from([0xfe])), { pluginName: 'mysql_old_password', pluginData: Buffer.alloc(0) });
  assert.throws(() => parseAuthSwitchRequest(Buffer.from('fe6162', 'hex')), malformed(/auth plugin name has no terminating NUL/));
  assert.throws(() => parseAuthSwitchRequest(Buffer.from('00', 'hex')), malformed(/not an AuthSwitchRequest/));
  assert.deepEqual(parseAuthMoreData(serializeAuthMoreData(Buffer.from([3]))), Buffer.from([3]));
  assert.throws(() => parseAuthMoreData(Buffer.from([0xfe])), malformed(/not an AuthMoreData/));
});
