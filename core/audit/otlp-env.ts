// Where spans go, from the standard OpenTelemetry exporter variables. Pure: reads the given env.
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  full URL of the traces endpoint (used as is)
//   OTEL_EXPORTER_OTLP_ENDPOINT         base URL; `/v1/traces` is appended
//   OTEL_EXPORTER_OTLP_(TRACES_)HEADERS `k=v,k2=v2`, values URL-encoded
//   OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT milliseconds per export request
// No endpoint: undefined (the caller writes a local OTLP/JSON file instead).

export interface OtlpTracesConfig {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** The URL without userinfo, query or fragment: what may appear in logs. */
  displayUrl: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_HEADERS = 64;

export class OtlpConfigError extends Error {}

export function otlpTracesConfig(env: Readonly<Record<string, string | undefined>>): OtlpTracesConfig | undefined {
  const signal = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  let url: string;
  if (signal) url = signal;
  else if (base) url = base.replace(/\/+$/, '') + '/v1/traces';
  else return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OtlpConfigError('OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new OtlpConfigError('OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL');
  }
  const headers = {
    ...parseOtlpHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']),
    ...parseOtlpHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS']),
  };
  const timeoutMs = parseTimeout(env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'] ?? env['OTEL_EXPORTER_OTLP_TIMEOUT']);
  return { url, headers, timeoutMs, displayUrl: `${parsed.protocol}//${parsed.host}${parsed.pathname}` };
}

/** `k=v,k2=v2` with URL-encoded parts (W3C baggage style); malformed entries are ignored. */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(',').slice(0, MAX_HEADERS)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      const key = decodeURIComponent(part.slice(0, eq).trim());
      const value = decodeURIComponent(part.slice(eq + 1).trim());
      if (key) out[key] = value;
    } catch {
      /* a malformed escape: skip the entry rather than echo it (it may hold a token) */
    }
  }
  return out;
}

function parseTimeout(raw: string | undefined): number {
  const n = Number(raw);
  return raw && Number.isFinite(n) && n > 0 ? Math.min(n, 600_000) : DEFAULT_TIMEOUT_MS;
}
