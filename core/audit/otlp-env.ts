// Where and how spans go, from the standard OpenTelemetry exporter variables (the SDK environment
// specification, traces signal). Pure: reads the given env, touches no file.
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT     full URL of the traces endpoint (used as is)
//   OTEL_EXPORTER_OTLP_ENDPOINT            base URL; `/v1/traces` is appended
//   OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL   http/protobuf (the spec's default) or http/json; grpc is
//                                          refused at start (sidegate speaks OTLP/HTTP only)
//   OTEL_EXPORTER_OTLP_(TRACES_)HEADERS    `k=v,k2=v2`, values URL-encoded
//   OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT    milliseconds per export request
//   OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION gzip or none
//   OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE PEM file of the CAs the collector's certificate chains to
//   OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_KEY / CLIENT_CERTIFICATE  PEM files for mutual TLS
// The traces-specific variable wins over the general one. No endpoint: undefined (the caller
// writes a local OTLP/JSON file instead). Anything malformed is an OtlpConfigError at start: an
// audit trail silently configured otherwise than the operator wrote is worse than none.

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Paths of the PEM files for the collector's TLS (read when the trail is created). */
export interface OtlpTlsFiles {
  /** OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE. */
  caFile?: string;
  /** OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE. */
  certFile?: string;
  /** OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_KEY. */
  keyFile?: string;
}

export interface OtlpTracesConfig {
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'none' | 'gzip';
  tls: OtlpTlsFiles;
  /** The URL without userinfo, query or fragment: what may appear in logs. */
  displayUrl: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_HEADERS = 64;

export class OtlpConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

/** The traces-specific variable, else the general one; blank counts as unset. */
function tracesVariable(env: Env, suffix: string): { name: string; value: string } | undefined {
  for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

export function otlpTracesConfig(env: Env): OtlpTracesConfig | undefined {
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
  const tls = tlsFiles(env, parsed.protocol === 'https:');
  return {
    url,
    protocol: otlpProtocol(env),
    headers,
    timeoutMs,
    compression: compression(env),
    tls,
    displayUrl: `${parsed.protocol}//${parsed.host}${parsed.pathname}`,
  };
}

/** OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL; http/protobuf when unset, as the specification says. */
export function otlpProtocol(env: Env): OtlpProtocol {
  const variable = tracesVariable(env, 'PROTOCOL');
  if (!variable) return 'http/protobuf';
  if (variable.value === 'http/protobuf' || variable.value === 'http/json') return variable.value;
  if (variable.value === 'grpc') {
    throw new OtlpConfigError(
      `${variable.name}=grpc is not supported: sidegate exports over OTLP/HTTP; set http/protobuf (the default) or http/json and the collector's OTLP/HTTP endpoint (port 4318)`,
    );
  }
  throw new OtlpConfigError(`${variable.name} must be http/protobuf or http/json, got ${JSON.stringify(variable.value.slice(0, 40))}`);
}

function compression(env: Env): 'none' | 'gzip' {
  const variable = tracesVariable(env, 'COMPRESSION');
  if (!variable || variable.value === 'none') return 'none';
  if (variable.value === 'gzip') return 'gzip';
  throw new OtlpConfigError(`${variable.name} must be gzip or none, got ${JSON.stringify(variable.value.slice(0, 40))}`);
}

function tlsFiles(env: Env, https: boolean): OtlpTlsFiles {
  const ca = tracesVariable(env, 'CERTIFICATE');
  const cert = tracesVariable(env, 'CLIENT_CERTIFICATE');
  const key = tracesVariable(env, 'CLIENT_KEY');
  const named = [ca, cert, key].filter((v) => v !== undefined);
  // A certificate for a plain-HTTP endpoint means the operator expects TLS that would not happen.
  if (!https && named.length > 0) {
    throw new OtlpConfigError(`${named[0]!.name} is set, but the OTLP endpoint is http://: use an https:// endpoint or drop the certificate variables`);
  }
  if (Boolean(cert) !== Boolean(key)) {
    throw new OtlpConfigError('OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE and CLIENT_KEY go together (mutual TLS needs both)');
  }
  return { ...(ca ? { caFile: ca.value } : {}), ...(cert ? { certFile: cert.value } : {}), ...(key ? { keyFile: key.value } : {}) };
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
