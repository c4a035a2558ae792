// Structured log lines on stderr, written by pino: JSON by default, one line per event; a human
// format (pino-pretty's formatter, run synchronously in this thread) for a terminal. Callers pass
// flat facts, never secrets: there is deliberately no way to log a raw message buffer or a
// credential object through this interface, and fields named like a secret are censored anyway
// (log-redaction.ts) as a second line of defence.
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import PinoPretty from 'pino-pretty';
import { REDACTED_FIELDS, REDACTION_CENSOR } from './log-redaction.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (a session's id, trace, identity, target). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default: SIDEGATE_LOG_LEVEL, else info. */
  level?: LogLevel;
  /** Default: SIDEGATE_LOG_FORMAT, else json. */
  format?: LogFormat;
  /** Where each line goes, without its newline (tests); default stderr. */
  sink?: (line: string) => void;
  /** The human format in colour; default when stderr is a terminal and no sink is given. */
  colors?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? oneOf(LOG_LEVELS, process.env['SIDEGATE_LOG_LEVEL']) ?? 'info';
  const format = opts.format ?? oneOf(LOG_FORMATS, process.env['SIDEGATE_LOG_FORMAT']) ?? 'json';
  const write = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const colors = opts.colors ?? (opts.sink === undefined && process.stderr.isTTY === true);
  const destination = format === 'pretty' ? prettyLines(write, colors) : jsonLines(write);
  return wrap(
    pino(
      {
        level,
        base: undefined,
        timestamp: stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: [...REDACTED_FIELDS], censor: REDACTION_CENSOR },
      },
      destination,
    ),
  );
}

/** Each of pino's lines, as it comes; written synchronously so a line is never lost at exit. */
function jsonLines(write: (line: string) => void): DestinationStream {
  return { write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
}

/**
 * pino-pretty's formatter as a synchronous stream: no worker thread, nothing buffered. One line per
 * event as in JSON: the fields as one object (an `error` field too, which pino-pretty would print
 * on lines of its own), and no line break inside, whatever a value holds.
 */
function prettyLines(write: (line: string) => void, colors: boolean): DestinationStream {
  const format = PinoPretty.prettyFactory({ colorize: colors, singleLine: true, errorLikeObjectKeys: [], translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return { write: (chunk: string) => write(format(chunk).replace(/\r?\n$/, '').replace(/[\r\n]/g, ' ')) };
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, fields) => (fields ? p.error(fields, msg) : p.error(msg)),
    child: (fields) => wrap(p.child(fields)),
  };
}

function oneOf<T extends string>(allowed: readonly T[], value: string | undefined): T | undefined {
  return allowed.includes(value as T) ? (value as T) : undefined;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
