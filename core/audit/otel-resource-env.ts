// The process's Resource from the OpenTelemetry SDK environment variables (pure: reads the given
// env). OTEL_RESOURCE_ATTRIBUTES is `key=value,key2=value2` with keys and values percent-encoded
// (W3C Baggage octets); OTEL_SERVICE_NAME sets service.name and wins over the same key there. The
// specification says a value that does not decode is discarded whole and reported; sidegate refuses
// to start instead, so spans are never recorded under a resource other than the one configured.
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Bounds: the variable's length and its number of entries, checked before anything is decoded. */
export const MAX_RESOURCE_ATTRIBUTES_CHARS = 8192;
export const MAX_RESOURCE_ATTRIBUTES = 64;

export class ResourceEnvError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

/** The attributes of OTEL_RESOURCE_ATTRIBUTES (empty when unset); throws ResourceEnvError. */
export function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return out;
  if (raw.length > MAX_RESOURCE_ATTRIBUTES_CHARS) {
    throw new ResourceEnvError(`OTEL_RESOURCE_ATTRIBUTES is longer than ${MAX_RESOURCE_ATTRIBUTES_CHARS} characters`);
  }
  const entries = raw.split(',');
  if (entries.length > MAX_RESOURCE_ATTRIBUTES) {
    throw new ResourceEnvError(`OTEL_RESOURCE_ATTRIBUTES has more than ${MAX_RESOURCE_ATTRIBUTES} entries`);
  }
  entries.forEach((entry, i) => {
    if (entry.trim() === '') return; // a trailing comma
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ResourceEnvError(`OTEL_RESOURCE_ATTRIBUTES entry ${i + 1} is not key=value`);
    const key = decodePart(entry.slice(0, eq).trim(), i);
    const value = decodePart(entry.slice(eq + 1).trim(), i);
    if (key === '') throw new ResourceEnvError(`OTEL_RESOURCE_ATTRIBUTES entry ${i + 1} has an empty key`);
    out[key] = value;
  });
  return out;
}

function decodePart(text: string, i: number): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // The entry is not echoed: operators put tokens in odd places.
    throw new ResourceEnvError(`OTEL_RESOURCE_ATTRIBUTES entry ${i + 1} has a malformed percent-encoding`);
  }
}

/**
 * What the environment says about the Resource: OTEL_RESOURCE_ATTRIBUTES, with service.name from
 * OTEL_SERVICE_NAME when that is set. Callers lay these over their own defaults.
 */
export function resourceFromEnv(env: Env): Record<string, string> {
  const attributes = parseResourceAttributes(env['OTEL_RESOURCE_ATTRIBUTES']);
  const serviceName = env['OTEL_SERVICE_NAME']?.trim();
  if (serviceName) attributes[ATTR_SERVICE_NAME] = serviceName;
  return attributes;
}
