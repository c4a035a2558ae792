// The `sidegate` command behaves like a well-made CLI, checked on the real binary: every command
// answers --help and -h with its usage on stdout and exit 0; a usage error prints one line naming
// the problem and the usage on stderr and exits 2; --version prints the package's version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../support/sidegate-harness.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const sidegate = (...args: string[]) => run(process.execPath, [CLI, ...args], {}, undefined, 30_000);

const COMMANDS: string[][] = [
  [],
  ['local'],
  ['sidecar'],
  ['token'],
  ['policy'],
  ['policy', 'check'],
  ['policy', 'test'],
  ['approvals'],
  ['audit'],
  ['audit', 'show'],
  ['audit', 'verify'],
  ['webhook'],
  ['exchange'],
  ['drain'],
  ['init'],
];

test('every command answers --help and -h with its usage on stdout and exit 0', async () => {
  for (const command of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await sidegate(...command, flag);
      const name = ['sidegate', ...command].join(' ');
      assert.equal(r.code, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: sidegate ${command[0] ?? '<command>'}`), `${name} ${flag}`);
      assert.equal(r.stderr, '', `${name} ${flag} writes nothing on stderr`);
    }
  }
});

test('an unknown option is one line naming it, then the usage, on stderr; exit 2', async () => {
  for (const command of COMMANDS) {
    const r = await sidegate(...command, '--bogus');
    const name = ['sidegate', ...command].join(' ');
    assert.equal(r.code, 2, `${name} --bogus: ${r.stdout}${r.stderr}`);
    const [first, second] = r.stderr.split('\n');
    // `sidegate policy --bogus` names the subcommand it expected instead of the option.
    assert.match(first!, /^sidegate( [a-z]+)*: (unknown option '--bogus'|unknown subcommand "--bogus")$/, name);
    assert.match(second!, /^usage: sidegate/, name);
    assert.equal(r.stdout, '', name);
  }
});

test('missing arguments, unknown commands and subcommands are usage errors (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [[], /^sidegate: missing command$/],
    [['frobnicate'], /^sidegate: unknown command "frobnicate"$/],
    [['policy'], /^sidegate policy: missing subcommand \(check or test\)$/],
    [['policy', 'lint', 'x.yaml'], /^sidegate policy: unknown subcommand "lint"$/],
    [['policy', 'check'], /^sidegate policy check: missing argument FILE$/],
    [['policy', 'test', 'p.yaml'], /^sidegate policy test: missing argument CASES$/],
    [['policy', 'check', 'a.yaml', 'b.yaml'], /^sidegate policy check: unexpected argument "b\.yaml"$/],
    [['audit', 'replay'], /^sidegate audit: unknown subcommand "replay"$/],
    [['approvals', 'approve'], /^sidegate approvals: missing argument ID$/],
    [['approvals', 'frob'], /^sidegate approvals: unknown subcommand "frob"$/],
    [['sidecar', '--policy', 'p.yaml'], /^sidegate sidecar: missing option --credentials FILE or --exchange-url URL$/],
    [['local', '--policy'], /^sidegate local: option '--policy <value>' argument missing$/],
    [['local', '--upstream', 'db'], /^sidegate local: --upstream expects \[TARGET=\]HOST:PORT/],
    [['local', '--admin-port', 'x'], /^sidegate local: --admin-port must be a TCP port, got "x"$/],
    [['init', '--uid', 'root'], /^sidegate init: --uid: "root" is not a number$/],
    [['drain', 'now'], /^sidegate drain: unexpected argument "now"$/],
    [['exchange', '--tls-cert', 'c', '--tls-key', 'k'], /^sidegate exchange: --config is required$/],
    [['exchange', '--config', 'x.yaml'], /^sidegate exchange: --tls-cert and --tls-key are required/],
  ];
  for (const [args, line] of cases) {
    const r = await sidegate(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, line, args.join(' '));
    assert.match(r.stderr, /\nusage: sidegate/, `${args.join(' ')}: the usage follows`);
  }
});

test('--version, -V and `sidegate help COMMAND`', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await sidegate(flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `sidegate ${VERSION}\n`);
  }
  const help = await sidegate('help', 'local');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: sidegate local/);
  assert.match(help.stdout, /--upstream \[TARGET=\]HOST:PORT/);
});

/** Every long-running command, with what it needs before it reads --log-level/--log-format. */
const LONG_RUNNING: string[][] = [
  ['local'],
  ['sidecar', '--policy', 'p.yaml', '--credentials', 'c.yaml'],
  ['webhook', '--tls-cert', 'c', '--tls-key', 'k'],
  ['broker', '--config', 'b.yaml', '--tls-cert', 'c', '--tls-key', 'k'],
  ['exchange', '--config', 'e.yaml', '--tls-cert', 'c', '--tls-key', 'k'],
];

test('every long-running command takes --log-level and --log-format, and refuses other values (exit 2)', async () => {
  for (const command of LONG_RUNNING) {
    const name = `sidegate ${command[0]}`;
    const help = await sidegate(command[0]!, '--help');
    assert.match(help.stdout, /--log-level LEVEL +debug\|info\|warn\|error/, name);
    assert.match(help.stdout, /--log-format FORMAT +json\|pretty/, name);
    const level = await sidegate(...command, '--log-level', 'loud');
    assert.equal(level.code, 2, `${name}: ${level.stderr}`);
    assert.equal(level.stderr.split('\n')[0], `${name}: --log-level must be one of debug, info, warn, error, got "loud"`);
    const format = await run(process.execPath, [CLI, ...command], { SIDEGATE_LOG_FORMAT: 'xml' }, undefined, 30_000);
    assert.equal(format.code, 2, `${name}: ${format.stderr}`);
    assert.equal(format.stderr.split('\n')[0], `${name}: SIDEGATE_LOG_FORMAT must be one of json, pretty, got "xml"`);
  }
});

test('the sidecar logs in the format asked for: a policy it cannot read is a policy.refused line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-cli-log-'));
  try {
    const args = ['sidecar', '--policy', join(dir, 'missing.yaml'), '--credentials', join(dir, 'c.yaml'), '--state-dir', join(dir, 'state')];
    const json = await sidegate(...args);
    assert.equal(json.code, 1, json.stderr);
    const line = json.stderr.split('\n').find((l) => l.startsWith('{'));
    const refused = JSON.parse(line!) as Record<string, unknown>;
    assert.deepEqual([refused['event'], refused['level'], refused['policy']], ['policy.refused', 'error', join(dir, 'missing.yaml')]);
    const pretty = await sidegate(...args, '--log-format', 'pretty', '--log-level', 'warn');
    assert.equal(pretty.code, 1, pretty.stderr);
    assert.match(pretty.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR: policy refused \{.*"event":"policy\.refused"/m);
    const quiet = await run(process.execPath, [CLI, ...args], { SIDEGATE_LOG_LEVEL: 'error' }, undefined, 30_000);
    assert.match(quiet.stderr, /"event":"policy\.refused"/, 'an error is written at level error');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
