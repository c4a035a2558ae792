// The image recipe. Docker cannot run on the test machines, so this parses /Dockerfile with a real
// Dockerfile parser (dockerfile-ast, the one behind the VS Code Docker language server), lints it
// with dockerfile-utils, and checks the properties the chart and the injected pods rely on:
// multi-stage, production dependencies only, iptables for `init`, `sidegate` on PATH as the
// entrypoint, non-root uid 7331 by default. It also runs the compiled CLI the image starts, to
// check that the subcommands the chart and the patch use exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DockerfileParser, type Copy, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { repositoryRoot } from './repository-root.js';

const dockerfileText = readFileSync(join(repositoryRoot, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);

interface Stage {
  name: string | null;
  image: string;
  instructions: Instruction[];
}

/** The instructions grouped by FROM, in order. */
function stagesOf(): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const asIndex = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ name: asIndex >= 0 ? args[asIndex + 1]! : null, image: args[0]!, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

const stages = stagesOf();
const runtime = stages.at(-1)!;
const argumentsOf = (i: Instruction) => i.getArgumentsContent() ?? '';
const ofKeyword = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
// Flags are not arguments in dockerfile-ast: `--from=stage` comes from the COPY's own accessor.
const copyFrom = (i: Instruction) => (i as Copy).getFromFlag()?.getValue() ?? undefined;

test('the Dockerfile parses and lints without errors or warnings', () => {
  const problems = validate(dockerfileText).filter((d) => d.severity === ValidationSeverity.ERROR || d.severity === ValidationSeverity.WARNING);
  assert.deepEqual(
    problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`),
    [],
  );
});

test('multi-stage: build, production dependencies and runtime stages; COPY --from only names earlier stages', () => {
  assert.deepEqual(
    stages.map((s) => s.name),
    ['build', 'production-dependencies', 'runtime'],
  );
  for (const stage of stages) assert.equal(stage.image, '${NODE_IMAGE}');
  const initialArgs = dockerfile.getInitialARGs().map((a) => argumentsOf(a));
  assert.ok(initialArgs.some((a) => /^NODE_IMAGE=node:20-bookworm-slim$/.test(a)), `base image pinned to Node 20 on Debian bookworm: ${initialArgs}`);

  for (const [index, stage] of stages.entries()) {
    const earlier = new Set(stages.slice(0, index).map((s) => s.name));
    for (const copy of ofKeyword(stage, 'COPY')) {
      const from = copyFrom(copy);
      if (from !== undefined) assert.ok(earlier.has(from), `${stage.name}: COPY --from=${from} names an earlier stage`);
    }
  }
});

test('production dependencies only: npm ci --omit=dev feeds the runtime, which gets no compiler or dev node_modules', () => {
  const dependencies = stages.find((s) => s.name === 'production-dependencies')!;
  const installs = ofKeyword(dependencies, 'RUN').map(argumentsOf).filter((r) => /\bnpm ci\b/.test(r));
  assert.equal(installs.length, 1);
  assert.match(installs[0]!, /npm ci --omit=dev\b/);

  const runtimeCopies = ofKeyword(runtime, 'COPY').map((c) => ({ from: copyFrom(c), args: argumentsOf(c) }));
  const nodeModules = runtimeCopies.filter((c) => /node_modules/.test(c.args));
  assert.deepEqual(nodeModules.map((c) => c.from), ['production-dependencies']);
  const fromBuild = runtimeCopies.filter((c) => c.from === 'build');
  assert.deepEqual(fromBuild.map((c) => c.args), ['/src/dist ./dist'], 'only compiled output comes from the build stage');
  for (const run of ofKeyword(runtime, 'RUN').map(argumentsOf)) {
    assert.doesNotMatch(run, /\bnpm (ci|install)\b|\btsc\b/, 'the runtime stage installs and compiles nothing');
  }
  for (const copy of runtimeCopies.filter((c) => c.from === undefined)) {
    assert.doesNotMatch(copy.args, /\b(sidecar|webhook|test|tsconfig\.json)\b/, `no sources in the runtime image: COPY ${copy.args}`);
  }

  const build = stages.find((s) => s.name === 'build')!;
  const compile = ofKeyword(build, 'RUN').map(argumentsOf).find((r) => /\btsc\b/.test(r));
  assert.ok(compile, 'the build stage compiles');
  assert.match(compile!, /rm -rf dist\/test/);
  assert.match(compile!, /-name '\*\.test\.js'/, 'compiled unit tests are dropped');
});

test('runtime: iptables installed, user 7331:7331 created and the default, `sidegate` entrypoint on PATH', () => {
  const runs = ofKeyword(runtime, 'RUN').map(argumentsOf).join('\n');
  assert.match(runs, /apt-get install -y --no-install-recommends [^\n]*\biptables\b/);
  assert.match(runs, /rm -rf \/var\/lib\/apt\/lists/);
  assert.match(runs, /groupadd --gid 7331 sidegate/);
  assert.match(runs, /useradd --uid 7331 --gid 7331 /);
  assert.match(runs, /ln -s \/opt\/sidegate\/dist\/cli\/main\.js \/usr\/local\/bin\/sidegate/, 'the preStop hook runs `sidegate drain`: it must be on PATH');

  const users = ofKeyword(runtime, 'USER').map(argumentsOf);
  assert.equal(users.at(-1), '7331:7331', 'the image runs as the sidecar uid/gid unless a pod says otherwise');
  const lastUser = ofKeyword(runtime, 'USER').at(-1)!;
  const afterUser = runtime.instructions.slice(runtime.instructions.indexOf(lastUser) + 1).map((i) => i.getKeyword());
  assert.ok(!afterUser.includes('RUN'), 'nothing runs as root after USER');

  const entrypoints = ofKeyword(runtime, 'ENTRYPOINT') as JSONInstruction[];
  assert.equal(entrypoints.length, 1);
  assert.deepEqual(entrypoints[0]!.getJSONStrings().map((s) => s.getJSONValue()), ['sidegate'], 'exec form, so signals reach node directly');
  const cmds = ofKeyword(runtime, 'CMD') as JSONInstruction[];
  assert.deepEqual(cmds.at(-1)!.getJSONStrings().map((s) => s.getJSONValue()), ['--help']);
  assert.ok(ofKeyword(runtime, 'ENV').map(argumentsOf).includes('NODE_ENV=production'));
});

test('every file the Dockerfile copies from the build context exists', () => {
  for (const stage of stages) {
    for (const copy of ofKeyword(stage, 'COPY').filter((c) => copyFrom(c) === undefined)) {
      const paths = copy.getArguments().map((a) => a.getValue());
      for (const source of paths.slice(0, -1)) {
        assert.ok(existsSync(join(repositoryRoot, source)), `${stage.name}: COPY ${source}`);
      }
    }
  }
});

test('the entrypoint the image links is the compiled CLI, and it has the sidecar, init and webhook subcommands', () => {
  const source = readFileSync(join(repositoryRoot, 'cli', 'main.ts'), 'utf8');
  assert.ok(source.startsWith('#!/usr/bin/env node\n'), 'a shebang, so the /usr/local/bin/sidegate symlink is executable');
  const cli = join(repositoryRoot, 'dist', 'cli', 'main.js');
  assert.ok(existsSync(cli), `${cli} is built (npm run build)`);
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(help.status, 0, help.stderr);
  for (const subcommand of ['sidecar', 'init', 'webhook', 'drain']) {
    assert.match(help.stdout, new RegExp(`^\\s+${subcommand}\\b`, 'm'), `sidegate ${subcommand}`);
  }
  for (const [subcommand, flag] of [['webhook', '--tls-cert'], ['init', '--capture-port']] as const) {
    const usage = spawnSync(process.execPath, [cli, subcommand, '--help'], { encoding: 'utf8', timeout: 20_000 });
    assert.match(usage.stdout + usage.stderr, new RegExp(flag), `sidegate ${subcommand} --help`);
  }
});
