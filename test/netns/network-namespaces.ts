// Network namespaces for capture tests: a "pod" namespace and a "db" namespace joined by a veth
// pair, with IPv4 and IPv6 addresses that exist only inside them. Needs root (CI runs as root).
// Every namespace is removed in destroy(), and names carry a random suffix so parallel runs and
// leftovers from a killed run never collide.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export interface NamespacePair {
  pod: string;
  db: string;
  /** Addresses inside the pair: pod side, a second pod address (for source binding), db side, two more db addresses. */
  v4: NamespaceAddresses;
  v6: NamespaceAddresses;
  destroy(): Promise<void>;
}

export interface NamespaceAddresses {
  pod: string;
  podAlt: string;
  db: string;
  dbAlt: string;
  dbOther: string;
}

export interface RunAs {
  uid: number;
  gid: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function createNamespacePair(): Promise<NamespacePair> {
  const suffix = randomBytes(3).toString('hex');
  const pod = `sg-pod-${suffix}`;
  const db = `sg-db-${suffix}`;
  const vethPod = `sgp${suffix}`;
  const vethDb = `sgd${suffix}`;
  const subnet = randomInt(0, 256);
  const v4base = `10.231.${subnet}`;
  const v6base = `fd00:231:0:${subnet.toString(16)}`;
  const v4 = { pod: `${v4base}.1`, podAlt: `${v4base}.3`, db: `${v4base}.2`, dbAlt: `${v4base}.4`, dbOther: `${v4base}.5` };
  const v6 = { pod: `${v6base}::1`, podAlt: `${v6base}::3`, db: `${v6base}::2`, dbAlt: `${v6base}::4`, dbOther: `${v6base}::5` };
  const created: string[] = [];
  const destroy = async () => {
    // Deleting a namespace deletes the veth end inside it, and with it its peer.
    for (const ns of created.reverse()) await run(['ip', 'netns', 'del', ns]);
  };
  try {
    for (const ns of [pod, db]) {
      await mustRun(['ip', 'netns', 'add', ns]);
      created.push(ns);
      await mustRun(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await mustRun(['ip', 'link', 'add', vethPod, 'netns', pod, 'type', 'veth', 'peer', 'name', vethDb, 'netns', db]);
    const sides: Array<[string, string, string[], string[]]> = [
      [pod, vethPod, [v4.pod, v4.podAlt], [v6.pod, v6.podAlt]],
      [db, vethDb, [v4.db, v4.dbAlt, v4.dbOther], [v6.db, v6.dbAlt, v6.dbOther]],
    ];
    for (const [ns, dev, addrs4, addrs6] of sides) {
      for (const a of addrs4) await mustRun(['ip', '-n', ns, 'addr', 'add', `${a}/29`, 'dev', dev]);
      // nodad: usable at once instead of after duplicate address detection (~2 s).
      for (const a of addrs6) await mustRun(['ip', '-n', ns, 'addr', 'add', `${a}/64`, 'dev', dev, 'nodad']);
      await mustRun(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { pod, db, v4, v6, destroy };
}

/** argv prefixed so it runs inside `ns`, optionally as another uid/gid with no supplementary groups. */
export function inNamespace(ns: string, argv: string[], as?: RunAs): string[] {
  const user = as ? ['setpriv', `--reuid=${as.uid}`, `--regid=${as.gid}`, '--clear-groups', '--'] : [];
  return ['ip', 'netns', 'exec', ns, ...user, ...argv];
}

export function spawnInNamespace(ns: string, argv: string[], as?: RunAs, opts: SpawnOptions = {}): ChildProcess {
  const [cmd, ...args] = inNamespace(ns, argv, as);
  return spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

/** Runs a command to completion (bounded), never throwing on a non-zero exit. */
export function run(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin!.on('error', () => {});
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

export async function mustRun(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Processes these tests start as other uids (the sidecar's 7331, a runner's 65534) must reach the
 * compiled code and node_modules under the repository. A checkout can sit below a directory only
 * its owner may enter (`mktemp -d` makes 0700), so every ancestor of `path` lacking search
 * permission for others gets it (search only, never read) until the returned function restores
 * the original modes.
 */
export async function letOtherUsersReach(path: string): Promise<() => Promise<void>> {
  const { stat, chmod } = await import('node:fs/promises');
  const { dirname, resolve } = await import('node:path');
  const changed: { dir: string; mode: number }[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      changed.push({ dir, mode });
    }
    if (dirname(dir) === dir) break;
  }
  return async () => {
    for (const { dir, mode } of changed.reverse()) await chmod(dir, mode).catch(() => {});
  };
}
