// Transparent capture for real: a network namespace plays the pod, `sidegate init` installs the
// redirect rules there with the real iptables/ip6tables, the capture listener runs as uid 7331, and
// runner-like clients run as another uid against servers in a second namespace. Only addresses
// inside the two namespaces (and their loopback) are used; both are removed afterwards. Root only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createNamespacePair, inNamespace, letOtherUsersReach, mustRun, run, spawnInNamespace, type NamespacePair, type RunAs } from './network-namespaces.js';
import { watchJsonLines, type JsonLinesProcess } from './json-lines-process.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const SIDECAR: RunAs = { uid: 7331, gid: 7331 };
const RUNNER: RunAs = { uid: 65534, gid: 65534 };
const CAPTURE_PORT = 16001;

interface ProbeResult {
  localAddress: string;
  localPort: number;
  answer: { server: string; localPort: number; remoteAddress: string; remotePort: number; bytes: number };
}

function startupMessage(user: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0app\0\0`, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.writeUInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

describe('transparent capture in network namespaces', () => {
  let pair: NamespacePair;
  const processes: JsonLinesProcess[] = [];
  let sidecar: JsonLinesProcess;
  const natAfter: Array<{ v4: string; v6: string }> = [];
  const initOutputs: string[] = [];
  let tokenCounter = 0;

  const natTables = async (ns: string) => ({
    v4: withoutComments(await mustRun(inNamespace(ns, ['iptables-save', '-t', 'nat']))),
    v6: withoutComments(await mustRun(inNamespace(ns, ['ip6tables-save', '-t', 'nat']))),
  });

  const startJsonProcess = async (ns: string, argv: string[], as: RunAs | undefined, label: string) => {
    const p = watchJsonLines(spawnInNamespace(ns, argv, as), label);
    processes.push(p);
    await p.waitFor((e) => e.event === 'ready');
    return p;
  };

  async function probe(host: string, port: number, payload: Buffer, as: RunAs = RUNNER, source?: string): Promise<ProbeResult> {
    const argv = ['node', fixture('tcp-probe'), host, String(port), payload.toString('hex'), ...(source ? [source] : [])];
    const r = await run(inNamespace(pair.pod, argv, as));
    assert.equal(r.code, 0, `probe ${host}:${port} failed: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout.trim()) as ProbeResult;
  }

  /** A payload carrying a token that identifies this connection in the sidecar's events. */
  function tokenised(kind: 'postgres' | 'ssh' | 'http'): { token: string; payload: Buffer } {
    const token = `probe${++tokenCounter}x${process.pid}`;
    const payload =
      kind === 'postgres'
        ? startupMessage(token)
        : kind === 'ssh'
          ? Buffer.from(`SSH-2.0-${token}\r\n`)
          : Buffer.from(`GET /${token} HTTP/1.1\r\nHost: db\r\n\r\n`);
    return { token, payload };
  }

  const capturedWith = (token: string) => (e: Record<string, unknown>) =>
    e.event === 'captured' && Buffer.from(String(e.opening), 'base64').toString('latin1').includes(token);

  function assertDirect(result: ProbeResult, server: string) {
    assert.equal(result.answer.server, server);
    // Straight from the client: the server sees the client's own source port.
    assert.equal(result.answer.remotePort, result.localPort, 'connection went through the capture listener');
  }

  async function assertCaptured(result: ProbeResult, token: string, destination: { host: string; port: number; family: number }, protocol: string) {
    const event = await sidecar.waitFor(capturedWith(token));
    assert.deepEqual(event.destination, destination);
    assert.equal(event.protocol, protocol);
    assert.equal(result.answer.server, 'db', 'the forwarded connection reached the real server');
    // Through the sidecar: the server sees the forwarder's socket, not the client's.
    assert.notEqual(result.answer.remotePort, result.localPort);
    assert.equal((event.client as { port: number }).port, result.localPort);
    return event;
  }

  let restoreModes: (() => Promise<void>) | undefined;

  before(async () => {
    restoreModes = await letOtherUsersReach(fileURLToPath(new URL('../../', import.meta.url)));
    pair = await createNamespacePair();
    const dbListens = [5432, 22, 80, 3306, 9].flatMap((p) => [`0.0.0.0:${p}`, `[::]:${p}`]);
    await startJsonProcess(pair.db, ['node', fixture('tcp-echo-server'), 'db', ...dbListens], undefined, 'db server');
    await startJsonProcess(pair.pod, ['node', fixture('tcp-echo-server'), 'pod-loopback', '127.0.0.1:5432', '[::1]:5432'], RUNNER, 'pod loopback server');
    // dbOther stands for an excluded range (e.g. a cluster-internal CIDR).
    const initArgs = ['--capture-port', String(CAPTURE_PORT), '--uid', '7331', '--gid', '7331', '--include-ports', '5432,22,80,3306'];
    initArgs.push('--exclude-ports', '3306', '--exclude-cidrs', `${pair.v4.dbOther}/32,${pair.v6.dbOther}/128`);
    for (let i = 0; i < 2; i++) {
      const r = await run(inNamespace(pair.pod, ['node', fixture('init-entry'), ...initArgs]));
      assert.equal(r.code, 0, `sidegate init failed: ${r.stderr}`);
      initOutputs.push(r.stdout);
      natAfter.push(await natTables(pair.pod));
    }
    // The sidecar stand-in treats the IPv6 dbAlt address as a destination no policy names.
    const sidecarArgv = ['node', fixture('capture-sidecar'), String(CAPTURE_PORT), pair.v6.dbAlt];
    sidecar = await startJsonProcess(pair.pod, sidecarArgv, SIDECAR, 'capture sidecar');
  });

  after(async () => {
    for (const p of processes) await p.stop();
    await pair?.destroy();
    await restoreModes?.();
  });

  it('init installs both families, and a second run leaves the tables identical', async () => {
    for (const family of ['v4', 'v6'] as const) {
      assert.equal(natAfter[1]![family], natAfter[0]![family], `${family} nat table changed on re-apply`);
      const hooks = natAfter[0]![family].split('\n').filter((l) => l === '-A OUTPUT -p tcp -j SIDEGATE_OUTPUT');
      assert.equal(hooks.length, 1);
      assert.match(natAfter[0]![family], /-A SIDEGATE_OUTPUT -m owner --uid-owner 7331 -j RETURN/);
      assert.match(natAfter[0]![family], /-A SIDEGATE_REDIRECT -p tcp -j REDIRECT --to-ports 16001/);
    }
    assert.match(initOutputs[0]!, /^-A OUTPUT -p tcp -j SIDEGATE_OUTPUT$/m);
    assert.doesNotMatch(initOutputs[1]!, /^-A OUTPUT -p tcp -j SIDEGATE_OUTPUT$/m, 'second run must not append the hook again');
  });

  it('captures a runner connecting to the target over IPv4 and detects PostgreSQL', async () => {
    const { token, payload } = tokenised('postgres');
    const result = await probe(pair.v4.db, 5432, payload);
    const event = await assertCaptured(result, token, { host: pair.v4.db, port: 5432, family: 4 }, 'postgres');
    assert.equal(event.clientSilent, false);
  });

  it('captures the same over IPv6', async () => {
    const { token, payload } = tokenised('postgres');
    const result = await probe(pair.v6.db, 5432, payload);
    await assertCaptured(result, token, { host: pair.v6.db, port: 5432, family: 6 }, 'postgres');
  });

  it('captures other included ports and detects SSH and HTTP', async () => {
    const ssh = tokenised('ssh');
    await assertCaptured(await probe(pair.v4.db, 22, ssh.payload), ssh.token, { host: pair.v4.db, port: 22, family: 4 }, 'ssh');
    const http = tokenised('http');
    await assertCaptured(await probe(pair.v6.db, 80, http.payload), http.token, { host: pair.v6.db, port: 80, family: 6 }, 'http');
  });

  it('captures a runner that binds another source address', async () => {
    const v4 = tokenised('postgres');
    const r4 = await probe(pair.v4.db, 5432, v4.payload, RUNNER, pair.v4.podAlt);
    assert.equal(r4.localAddress, pair.v4.podAlt);
    const e4 = await assertCaptured(r4, v4.token, { host: pair.v4.db, port: 5432, family: 4 }, 'postgres');
    assert.equal((e4.client as { host: string }).host, pair.v4.podAlt);
    const v6 = tokenised('postgres');
    const r6 = await probe(pair.v6.db, 5432, v6.payload, RUNNER, pair.v6.podAlt);
    await assertCaptured(r6, v6.token, { host: pair.v6.db, port: 5432, family: 6 }, 'postgres');
  });

  it("captures connections to the target's second address (no per-address bypass)", async () => {
    const { token, payload } = tokenised('postgres');
    await assertCaptured(await probe(pair.v4.dbAlt, 5432, payload), token, { host: pair.v4.dbAlt, port: 5432, family: 4 }, 'postgres');
  });

  it("does not capture the sidecar uid's own connections", async () => {
    assertDirect(await probe(pair.v4.db, 5432, startupMessage('sidecar-own'), SIDECAR), 'db');
    assertDirect(await probe(pair.v6.db, 5432, startupMessage('sidecar-own'), SIDECAR), 'db');
  });

  it('does not capture loopback', async () => {
    assertDirect(await probe('127.0.0.1', 5432, startupMessage('loopback')), 'pod-loopback');
    assertDirect(await probe('::1', 5432, startupMessage('loopback')), 'pod-loopback');
  });

  it('does not capture an excluded port, even though it is also included', async () => {
    assertDirect(await probe(pair.v4.db, 3306, startupMessage('excluded')), 'db');
    assertDirect(await probe(pair.v6.db, 3306, startupMessage('excluded')), 'db');
  });

  it('does not capture ports outside the include list', async () => {
    assertDirect(await probe(pair.v4.db, 9, startupMessage('not-included')), 'db');
  });

  it('does not capture excluded address ranges', async () => {
    assertDirect(await probe(pair.v4.dbOther, 5432, startupMessage('excluded-cidr')), 'db');
    assertDirect(await probe(pair.v6.dbOther, 5432, startupMessage('excluded-cidr')), 'db');
  });

  it('closes and reports a captured connection to a destination no policy names', async () => {
    const r = await run(inNamespace(pair.pod, ['node', fixture('tcp-probe'), pair.v6.dbAlt, '5432', startupMessage('unnamed').toString('hex')], RUNNER));
    assert.notEqual(r.code, 0, 'the client must not reach the server');
    const event = await sidecar.waitFor((e) => e.event === 'refused' && e.reason === 'no-target');
    assert.deepEqual(event.destination, { host: pair.v6.dbAlt, port: 5432, family: 6 });
  });

  it('refuses and reports a direct connection to the capture port', async () => {
    const r = await run(inNamespace(pair.pod, ['node', fixture('tcp-probe'), pair.v4.pod, String(CAPTURE_PORT), startupMessage('direct').toString('hex')], RUNNER));
    assert.notEqual(r.code, 0, 'a direct connection must not be served');
    await sidecar.waitFor((e) => e.event === 'refused' && e.reason === 'not-redirected');
  });
});

function withoutComments(save: string): string {
  return save
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}
