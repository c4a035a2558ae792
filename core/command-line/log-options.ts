// `--log-level` and `--log-format`, the same on every long-running command (sidecar, local,
// webhook, broker, exchange): the flag wins, then SIDEGATE_LOG_LEVEL / SIDEGATE_LOG_FORMAT, then
// the command's default (JSON at info; local mode is read by a person, so it defaults to pretty).
// A value that is none of the allowed ones is a usage error, never a silent fallback.
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../logging/logger.js';
import { printable } from './command-line.js';

export const LOG_OPTIONS = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

/** The usage lines of LOG_OPTIONS, aligned with the option column at `column`. */
export function logOptionsUsage(column: number, defaultFormat: LogFormat = 'json'): string {
  const pad = (s: string) => `  ${s}`.padEnd(column);
  return (
    `${pad('--log-level LEVEL')}${LOG_LEVELS.join('|')} (default info; env SIDEGATE_LOG_LEVEL)\n` +
    `${pad('--log-format FORMAT')}${LOG_FORMATS.join('|')} (default ${defaultFormat}; env SIDEGATE_LOG_FORMAT)\n`
  );
}

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** The settings, or the problem to report as a usage error. */
export function readLogSettings(
  values: { 'log-level'?: string | undefined; 'log-format'?: string | undefined },
  env: NodeJS.ProcessEnv,
  defaultFormat: LogFormat = 'json',
): LogSettings | { problem: string } {
  const level = pick('--log-level', 'SIDEGATE_LOG_LEVEL', LOG_LEVELS, values['log-level'], env['SIDEGATE_LOG_LEVEL'], 'info');
  if (typeof level === 'object') return level;
  const format = pick('--log-format', 'SIDEGATE_LOG_FORMAT', LOG_FORMATS, values['log-format'], env['SIDEGATE_LOG_FORMAT'], defaultFormat);
  if (typeof format === 'object') return format;
  return { level, format };
}

function pick<T extends string>(flag: string, variable: string, allowed: readonly T[], given: string | undefined, fromEnv: string | undefined, fallback: T): T | { problem: string } {
  const [value, source] = given !== undefined ? [given, flag] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, variable] : [fallback, ''];
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return { problem: `${source} must be one of ${allowed.join(', ')}, got "${printable(value)}"` };
}
