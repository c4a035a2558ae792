// The command line every control-plane service shares (`sidegate broker`, `sidegate exchange`):
// --config FILE, the serving certificate (--tls-cert/--tls-key, required: these services take
// tokens and hand out decisions or credentials, so they speak HTTPS only), --host and --port, and
// the log options every long-running command has.
import { readFile } from 'node:fs/promises';
import { parseCommandLine, usageError, type CommandLineIo } from './command-line.js';
import { LOG_OPTIONS, readLogSettings, type LogSettings } from './log-options.js';

export const HTTPS_SERVICE_OPTIONS = {
  config: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: '8443' },
  ...LOG_OPTIONS,
} as const;

export interface HttpsServiceArgs {
  configPath: string;
  host: string;
  port: number;
  tls: { cert: Buffer; key: Buffer };
  log: LogSettings;
}

/**
 * The service's arguments with its certificate read, or the exit code (help asked for, or a usage
 * problem already reported). `why` says why TLS is required, in the usage error.
 */
export async function readHttpsServiceArgs(
  argv: string[],
  spec: { name: string; usage: string },
  why: string,
  io: CommandLineIo & { env?: NodeJS.ProcessEnv },
): Promise<HttpsServiceArgs | number> {
  const full = { ...spec, options: HTTPS_SERVICE_OPTIONS };
  const parsed = parseCommandLine(argv, full, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values.config) return usageError(full, '--config is required', io);
  if (!values['tls-cert'] || !values['tls-key']) return usageError(full, `--tls-cert and --tls-key are required (${why})`, io);
  const log = readLogSettings(values, io.env ?? process.env);
  if ('problem' in log) return usageError(full, log.problem, io);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`${spec.name}: --port must be a TCP port, got "${values.port}"\n`);
    return 2;
  }
  try {
    return { configPath: values.config, host: values.host!, port, tls: { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']) }, log };
  } catch (err) {
    io.stderr.write(`${spec.name}: ${(err as Error).message}\n`);
    return 2;
  }
}
