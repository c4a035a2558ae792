// A container or volume as the API server stores it, for comparing what injection renders with
// what a pod holds. Admission webhooks see the pod after the API server filled its defaults
// (pkg/apis/core/v1/defaults.go: termination message, probe timings, HTTP probe scheme, fieldRef
// apiVersion, volume file modes, token expiry) and dropped empty optional fields, so both sides
// are brought to that form before they are compared. Resources and the image pull policy are left
// out: the API server rounds quantities, a LimitRange may add some, AlwaysPullImages rewrites the
// pull policy, and none of them changes what runs (the image reference is compared). Anything
// else that differs is a difference: an unknown field is never ignored.
import type { Container, Probe, Volume } from 'kubernetes-types/core/v1.js';

export type Comparable = Record<string, unknown>;

export function comparableContainer(container: Container): Comparable {
  const c = structuredClone(container) as Container & Record<string, unknown>;
  delete c.resources;
  delete c.resizePolicy;
  delete c.imagePullPolicy;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  for (const port of c.ports ?? []) port.protocol ??= 'TCP';
  for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) if (probe) defaultProbe(probe);
  for (const handler of [c.lifecycle?.postStart, c.lifecycle?.preStop]) if (handler?.httpGet) defaultHttpGet(handler.httpGet);
  for (const variable of c.env ?? []) if (variable.valueFrom?.fieldRef) variable.valueFrom.fieldRef.apiVersion ??= 'v1';
  // Plain (non-pointer) booleans are omitted when false.
  for (const mount of c.volumeMounts ?? []) if (mount.readOnly === false) delete mount.readOnly;
  for (const key of ['stdin', 'stdinOnce', 'tty'] as const) if (c[key] === false) delete c[key];
  return withoutEmpty(c) as Comparable;
}

export function comparableVolume(volume: Volume): Comparable {
  const v = structuredClone(volume);
  // 0644, as the API server fills an absent defaultMode.
  const defaultMode = 0o644;
  if (v.secret) v.secret.defaultMode ??= defaultMode;
  if (v.configMap) v.configMap.defaultMode ??= defaultMode;
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= defaultMode;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
  }
  if (v.projected) {
    v.projected.defaultMode ??= defaultMode;
    for (const source of v.projected.sources ?? []) {
      if (source.serviceAccountToken) source.serviceAccountToken.expirationSeconds ??= 3600;
      for (const item of source.downwardAPI?.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
    }
  }
  return withoutEmpty(v) as Comparable;
}

function defaultProbe(probe: Probe): void {
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) defaultHttpGet(probe.httpGet);
}

function defaultHttpGet(action: { path?: string; scheme?: string }): void {
  if (!action.path) action.path = '/';
  action.scheme ??= 'HTTP';
}

/** Drops what the API server's JSON leaves out: empty strings, empty lists, nulls. */
function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmpty);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || item === null || item === '' || (Array.isArray(item) && item.length === 0)) continue;
    out[key] = withoutEmpty(item);
  }
  return out;
}
