// Reading a /metrics answer in tests: Prometheus' own promtool checks the exposition (it parses
// with Prometheus' parser and lints names, types and HELP), and the samples are read into
// name + labels + value for asserting values.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repositoryRoot } from '../chart/repository-root.js';

let promtoolPath: string | undefined;

/** SIDEGATE_PROMTOOL, or the one test/support/get-promtool.sh provides (and caches). */
export function promtoolBinary(): string {
  promtoolPath ??=
    process.env['SIDEGATE_PROMTOOL'] ??
    execFileSync('bash', [join(repositoryRoot, 'test', 'support', 'get-promtool.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 }).trim();
  return promtoolPath;
}

/** `promtool check metrics` over the text: its exit status and every problem line it printed. */
export function promtoolCheck(text: string): { status: number; problems: string[] } {
  const r = spawnSync(promtoolBinary(), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  const problems = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  return { status: r.status ?? -1, problems };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

/** Every sample line of a text exposition (format 0.0.4); throws on a line that is none. */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** The names the exposition declares with `# HELP`. */
export function helpedNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]!));
}
