// Runs a pod the way the kubelet would, without a cluster: the webhook's patch applied to a pod
// spec, its volumes materialised as directories, its containers run as processes inside a network
// namespace that plays the pod — the init container as root (it installs the redirect rules),
// the sidecar as its securityContext's uid, the runner as another uid, unchanged.
import { mkdir, writeFile, chown, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnInNamespace, run, type CommandResult } from '../netns/network-namespaces.js';

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  restartPolicy?: string;
}

export interface PodSpec {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { initContainers?: Container[]; containers: Container[]; volumes?: { name: string }[] };
}

/**
 * What each volume holds in this simulation: file name → content, or { content, mode, owner: 'root' }
 * for files the kubelet writes root-owned (Secret and ConfigMap volumes).
 */
export type VolumeContents = Record<string, Record<string, string | { content: string; mode: number; owner: 'root' }>>;

/** The pod's fields the downward API exposes (`metadata.uid`, `spec.nodeName`, …), by fieldPath. */
export type FieldValues = Record<string, string>;

export interface SimulatedContainer {
  container: Container;
  /** argv with every mount path replaced by the directory that stands in for it. */
  argv: string[];
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/**
 * Materialises the volumes a container mounts under `root` and rewrites its arguments so they
 * point there (the simulator has no mount namespace per container; path mapping is the honest
 * equivalent for a program that only reads the paths it is given).
 */
export async function prepareContainer(c: Container, root: string, contents: VolumeContents, entrypoint: string[], fieldValues: FieldValues = {}): Promise<SimulatedContainer> {
  const uid = c.securityContext?.runAsUser ?? 0;
  const gid = c.securityContext?.runAsGroup ?? uid;
  const mapping: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const dir = join(root, c.name, m.name);
    await mkdir(dir, { recursive: true });
    await chown(dir, uid, gid);
    await chmod(dir, 0o700);
    for (const [file, spec] of Object.entries(contents[m.name] ?? {})) {
      const path = join(dir, file);
      if (typeof spec === 'string') {
        await writeFile(path, spec, { mode: 0o600 });
        await chown(path, uid, gid);
      } else {
        await writeFile(path, spec.content);
        await chown(path, 0, 0);
        await chmod(path, spec.mode);
      }
    }
    mapping.push([m.mountPath, dir]);
  }
  // Longest mount path first, so /etc/sidegate/policy wins over /etc/sidegate.
  mapping.sort((a, b) => b[0].length - a[0].length);
  const rewrite = (arg: string) => {
    for (const [from, to] of mapping) if (arg === from || arg.startsWith(from + '/')) return to + arg.slice(from.length);
    return arg;
  };
  // Only what the pod spec says is rewritten; the image's entrypoint lives outside every mount.
  const argv = [...(c.command ? c.command.map(rewrite) : entrypoint), ...(c.args ?? []).map(rewrite)];
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = rewrite(e.value);
    // The downward API: what the kubelet would fill in from the pod object.
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field !== undefined && fieldValues[field] !== undefined) env[e.name] = fieldValues[field]!;
  }
  return { container: c, argv, uid, gid, env };
}

export function startContainer(ns: string, sc: SimulatedContainer): ChildProcess {
  const envArgs = Object.entries(sc.env).map(([k, v]) => `${k}=${v}`);
  return spawnInNamespace(ns, ['env', ...envArgs, ...sc.argv], sc.uid === 0 ? undefined : { uid: sc.uid, gid: sc.gid }, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function runContainer(ns: string, sc: SimulatedContainer): Promise<CommandResult> {
  const envArgs = Object.entries(sc.env).map(([k, v]) => `${k}=${v}`);
  const argv = ['ip', 'netns', 'exec', ns, ...(sc.uid === 0 ? [] : ['setpriv', `--reuid=${sc.uid}`, `--regid=${sc.gid}`, '--clear-groups']), 'env', ...envArgs, ...sc.argv];
  return run(argv, { timeoutMs: 60_000 });
}
