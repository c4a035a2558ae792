// How every `sidegate` command reads its command line, so they all behave alike: node:util
// parseArgs in strict mode; `--help`/`-h` prints the usage on stdout and exits 0; a usage error
// (unknown option, missing value or argument, extra argument) prints one line naming the problem
// and the usage on stderr and exits 2, the conventional exit code for "you called me wrong".
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Writable } from 'node:stream';

export const EXIT_USAGE = 2;

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface CommandLineIo {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'>;
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** As the user typed it, e.g. `sidegate policy check`: the prefix of every error line. */
  name: string;
  usage: string;
  options: O;
  /** Names of the positional arguments, required ones first (`FILE`, `[CASES]` for an optional one). */
  positionals?: readonly string[];
}

export type ParsedCommandLine<O extends ParseArgsOptionsConfig> = {
  values: ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>['values'];
  positionals: string[];
};

/** The parsed command line, or the exit code when help was asked for or the call was wrong. */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  args: readonly string[],
  spec: CommandSpec<O>,
  io: CommandLineIo,
): ParsedCommandLine<O> | number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    return usageError(spec, parseArgsProblem(err), io);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    io.stdout.write(spec.usage);
    return 0;
  }
  const names = spec.positionals ?? [];
  const required = names.filter((n) => !n.startsWith('[')).length;
  const given = parsed.positionals;
  if (given.length < required) return usageError(spec, `missing argument ${names[given.length]}`, io);
  if (given.length > names.length) return usageError(spec, `unexpected argument "${printable(given[names.length]!)}"`, io);
  return parsed as unknown as ParsedCommandLine<O>;
}

/** One line saying what is wrong, then the usage; exit code 2. */
export function usageError(spec: Pick<CommandSpec<ParseArgsOptionsConfig>, 'name' | 'usage'>, problem: string, io: CommandLineIo): number {
  io.stderr.write(`${spec.name}: ${problem}\n${spec.usage}`);
  return EXIT_USAGE;
}

/** parseArgs explains at length how to pass a value starting with "-"; the first sentence is the problem. Rethrows anything else. */
export function parseArgsProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw err;
  const first = message.split(/\.\s/)[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** An argument echoed back in an error: no terminal control characters, bounded length. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 80);
}
