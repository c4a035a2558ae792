// The kernel path (getsockopt through koffi on a REDIRECTed socket) is exercised for real in
// test/netns/transparent-capture.test.ts; here: decoding what the kernel returns.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { endianness } from 'node:os';
import { parseSockaddr, formatIPv6, originalDestination } from './original-destination.js';

function sockaddrIn(a: number[], port: number): Buffer {
  const b = Buffer.alloc(16);
  if (endianness() === 'LE') b.writeUInt16LE(2, 0);
  else b.writeUInt16BE(2, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(a).copy(b, 4);
  return b;
}

function sockaddrIn6(address: string, port: number): Buffer {
  const b = Buffer.alloc(28);
  if (endianness() === 'LE') b.writeUInt16LE(10, 0);
  else b.writeUInt16BE(10, 0);
  b.writeUInt16BE(port, 2);
  const groups = new net.SocketAddress({ address, family: 'ipv6' }).address;
  expand(groups).copy(b, 8);
  return b;
}

/** 16 bytes of an IPv6 address, via node's parser-independent expansion of "::". */
function expand(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

describe('parseSockaddr', () => {
  it('decodes sockaddr_in (port in network order)', () => {
    assert.deepEqual(parseSockaddr(sockaddrIn([10, 231, 7, 2], 5432)), { host: '10.231.7.2', port: 5432, family: 4 });
    assert.deepEqual(parseSockaddr(sockaddrIn([255, 0, 0, 1], 65535)), { host: '255.0.0.1', port: 65535, family: 4 });
  });

  it('decodes sockaddr_in6', () => {
    assert.deepEqual(parseSockaddr(sockaddrIn6('fd00:231:0:7::2', 3306)), { host: 'fd00:231:0:7::2', port: 3306, family: 6 });
  });

  it('returns null for unknown families and short buffers', () => {
    const unknownFamily = sockaddrIn([1, 2, 3, 4], 80);
    unknownFamily.writeUInt16LE(1, 0);
    unknownFamily.writeUInt16BE(1, 0);
    assert.equal(parseSockaddr(unknownFamily), null);
    assert.equal(parseSockaddr(sockaddrIn6('::1', 80).subarray(0, 20)), null);
    assert.equal(parseSockaddr(Buffer.alloc(1)), null);
  });
});

describe('formatIPv6', () => {
  // Each address must come out exactly as node prints it in socket.remoteAddress.
  const cases = ['::1', '::', 'fd00:231:0:7::2', '2001:db8::1:0:0:1', '2001:db8:0:1:1:1:1:1', 'fe80::1:2', '1::', '1:0:0:2::3', '::ffff:10.1.2.3'];
  for (const address of cases) {
    it(address, () => {
      const expected = new net.SocketAddress({ address, family: 'ipv6' }).address;
      assert.equal(formatIPv6(expand(expected.startsWith('::ffff:') ? '::ffff:a01:203' : expected)), expected);
    });
  }
});

describe('originalDestination', () => {
  it('returns null for a socket without a file descriptor', () => {
    assert.equal(originalDestination(new net.Socket()), null);
  });
});
