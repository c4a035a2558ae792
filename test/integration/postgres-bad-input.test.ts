// Bad input closes that one connection with an ErrorResponse where the protocol allows, and
// never the process: other sessions keep working throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { startHarness, basePolicy, type Harness } from '../support/sidegate-harness.js';

let h: Harness;
let bystander: pg.Client;

before(async () => {
  h = await startHarness({ policy: (env) => basePolicy(env) });
  bystander = new pg.Client({ host: '127.0.0.1', port: h.port, user: 'ci', database: h.pg.database, password: await h.token() });
  await bystander.connect();
});

after(async () => {
  await bystander?.end();
  await h?.close();
});

/** Sends raw bytes, collects everything the proxy answers until it closes the connection. */
function exchange(chunks: Buffer[], waitMs = 3000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = net.connect(h.port, '127.0.0.1', async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setTimeout(r, 30));
      }
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data: Buffer.concat(got), closed: false });
    }, waitMs);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(got), closed: true });
    });
    s.on('error', () => {});
  });
}

function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function errorCode(data: Buffer): string | undefined {
  // Find an ErrorResponse and its C field.
  for (let i = 0; i < data.length; ) {
    const type = String.fromCharCode(data[i]!);
    if (i + 5 > data.length) break;
    const len = data.readInt32BE(i + 1);
    if (type === 'E') {
      const body = data.subarray(i + 5, i + 1 + len);
      for (let j = 0; j < body.length && body[j] !== 0; ) {
        const field = String.fromCharCode(body[j]!);
        const end = body.indexOf(0, j + 1);
        if (field === 'C') return body.subarray(j + 1, end).toString();
        j = end + 1;
      }
    }
    i += 1 + len;
  }
  return undefined;
}

async function bystanderStillWorks() {
  const r = await bystander.query('SELECT 1 AS ok');
  assert.equal(r.rows[0].ok, 1);
}

test('a startup packet with an impossible length is refused and only that connection closes', async () => {
  const bad = Buffer.alloc(8);
  bad.writeInt32BE(3, 0);
  bad.writeInt32BE(196608, 4);
  const r = await exchange([bad]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

test('an oversized startup packet is refused', async () => {
  const big = Buffer.alloc(20_000);
  big.writeInt32BE(20_000, 0);
  big.writeInt32BE(196608, 4);
  const r = await exchange([big]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

test('an unsupported protocol version is refused', async () => {
  const v2 = Buffer.alloc(8);
  v2.writeInt32BE(8, 0);
  v2.writeInt32BE(131072, 4);
  const r = await exchange([v2]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
});

test('GSSENCRequest is answered N and the connection can go on to a plain startup', async () => {
  const gss = Buffer.alloc(8);
  gss.writeInt32BE(8, 0);
  gss.writeInt32BE(80877104, 4);
  const r = await exchange([gss, startup({ user: 'ci', database: h.pg.database })], 800);
  assert.equal(String.fromCharCode(r.data[0]!), 'N');
  // Then the proxy asks for the password (AuthenticationCleartextPassword, code 3).
  assert.equal(String.fromCharCode(r.data[1]!), 'R');
  assert.equal(r.data.readInt32BE(6), 3);
});

test('a truncated startup followed by a hang-up does not disturb anyone', async () => {
  const r = await exchange([startup({ user: 'ci', database: h.pg.database }).subarray(0, 10)], 500);
  assert.equal(r.data.length, 0);
  await bystanderStillWorks();
});

test('a query before authentication completes is a protocol violation', async () => {
  const r = await exchange([startup({ user: 'ci', database: h.pg.database }), message('Q', Buffer.from('SELECT 1\0'))]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

async function authenticated(): Promise<Buffer[]> {
  const token = await h.token();
  return [startup({ user: 'ci', database: h.pg.database }), message('p', Buffer.from(token + '\0'))];
}

test('an unknown message type after login gets an ErrorResponse and a close', async () => {
  const r = await exchange([...(await authenticated()), message('~', Buffer.from('junk'))]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

test('a message claiming more than the size bound is refused without buffering it', async () => {
  const head = Buffer.alloc(5);
  head.write('Q', 0, 'latin1');
  head.writeInt32BE(0x7ffffff0, 1);
  const r = await exchange([...(await authenticated()), head]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

test('a Query whose text is not NUL-terminated is refused', async () => {
  const r = await exchange([...(await authenticated()), message('Q', Buffer.from('SELECT 1'))]);
  assert.equal(r.closed, true);
  assert.equal(errorCode(r.data), '08P01');
  await bystanderStillWorks();
});

test('out-of-order: Execute of a portal that was never bound is refused by sidegate, session survives', async () => {
  const r = await exchange([...(await authenticated()), message('E', Buffer.concat([Buffer.from('nope\0'), Buffer.alloc(4)])), message('S', Buffer.alloc(0))]);
  // No decided statement stands behind the portal: refused, never forwarded (proxy-session.ts onExecute).
  assert.equal(errorCode(r.data), '42501');
  assert.match(r.data.toString('latin1'), /sidegate: denied by rule "unattributed-portal"/);
  assert.equal(r.closed, false, 'the session stays open');
  await bystanderStillWorks();
});
