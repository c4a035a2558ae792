// OpenTelemetry's own diagnostics (`diag`: the exporter's warnings about a collector's answer, its
// configuration, a partial success) go to our log instead of the console, where nobody collects
// them. `diag` is process-wide, so the last trail created in a process names the logger; they all
// log to the same place in practice (the process's one logger).
//
// Only the message and what the arguments say about errors are logged, bounded: the exporter
// passes request items and response bodies at debug level, and URLs in messages can carry
// userinfo, so neither goes through as it is.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { Logger } from '../logging/logger.js';

const MAX_TEXT = 300;

/** Routes `diag` to `log` at `level` and above (default WARN: debug output carries span data). */
export function routeOtelDiagnostics(log: Logger, level: DiagLogLevel = DiagLogLevel.WARN): void {
  const line = (write: Logger['info']) => (message: string, ...args: unknown[]) => {
    const detail = args.map(describe).filter(Boolean).join('; ');
    write(`opentelemetry: ${redact(String(message)).slice(0, MAX_TEXT)}`, detail ? { detail: detail.slice(0, MAX_TEXT) } : undefined);
  };
  const logger: DiagLogger = {
    error: line((m, f) => log.error(m, f)),
    warn: line((m, f) => log.warn(m, f)),
    info: line((m, f) => log.info(m, f)),
    debug: line((m, f) => log.debug(m, f)),
    verbose: line((m, f) => log.debug(m, f)),
  };
  diag.setLogger(logger, { logLevel: level, suppressOverrideMessage: true });
}

/** An argument as text: errors by name and message, plain strings and numbers; nothing else. */
function describe(arg: unknown): string {
  if (arg instanceof Error) return redact(`${arg.name}: ${arg.message}`);
  if (typeof arg === 'string' || typeof arg === 'number' || typeof arg === 'boolean') return redact(String(arg));
  return '';
}

/** Userinfo in URLs (`scheme://user:secret@host`) and bearer-like header values. */
export function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1…@').replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 …');
}
