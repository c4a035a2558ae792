// A pod's sidecar.sidegate.dev/* annotations: the sidecar's resources and log level for that one
// pod. A malformed or unknown annotation is an error, never ignored (as with traffic annotations):
// a typo silently falling back to the defaults would leave the operator believing otherwise.
import type { InjectionConfig } from '../config/injection-config.js';
import { parseResourceQuantity, QUANTITY_EXAMPLES, type ResourceKind } from './resource-quantity.js';
import { SIDECAR_ANNOTATION_PREFIX, SIDECAR_ANNOTATIONS } from './pod-markers.js';

export type LogLevel = NonNullable<InjectionConfig['logLevel']>;
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface SidecarSettings {
  resources: InjectionConfig['resources'];
  logLevel: LogLevel | undefined;
}

export type SidecarSettingsResult = { ok: true; settings: SidecarSettings } | { ok: false; reason: string };

const RESOURCE_ANNOTATIONS: Array<{ annotation: string; kind: ResourceKind; side: 'requests' | 'limits' }> = [
  { annotation: SIDECAR_ANNOTATIONS.cpuRequest, kind: 'cpu', side: 'requests' },
  { annotation: SIDECAR_ANNOTATIONS.cpuLimit, kind: 'cpu', side: 'limits' },
  { annotation: SIDECAR_ANNOTATIONS.memoryRequest, kind: 'memory', side: 'requests' },
  { annotation: SIDECAR_ANNOTATIONS.memoryLimit, kind: 'memory', side: 'limits' },
];

export function resolveSidecarSettings(annotations: Record<string, string>, config: InjectionConfig): SidecarSettingsResult {
  const problems: string[] = [];
  const known = new Set<string>(Object.values(SIDECAR_ANNOTATIONS));
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(SIDECAR_ANNOTATION_PREFIX) && !known.has(key)) {
      problems.push(`${key} is not an annotation sidegate knows (${[...known].join(', ')})`);
    }
  }

  const resources = structuredClone(config.resources);
  for (const { annotation, kind, side } of RESOURCE_ANNOTATIONS) {
    const raw = annotations[annotation];
    if (raw === undefined) continue;
    if (parseResourceQuantity(kind, raw) === undefined) problems.push(`${annotation} is "${raw}", not a ${kind} quantity (${QUANTITY_EXAMPLES[kind]})`);
    else resources[side][kind] = raw.trim();
  }
  for (const kind of ['cpu', 'memory'] as const) {
    const request = parseResourceQuantity(kind, resources.requests[kind]);
    const limit = parseResourceQuantity(kind, resources.limits[kind]);
    if (request !== undefined && limit !== undefined && request > limit) {
      const source = (side: 'request' | 'limit') => {
        const annotation = SIDECAR_ANNOTATIONS[`${kind}${side === 'request' ? 'Request' : 'Limit'}`];
        return annotations[annotation] !== undefined ? annotation : `the configured ${kind} ${side}`;
      };
      problems.push(`the sidecar's ${kind} request ${resources.requests[kind]} (${source('request')}) is above its limit ${resources.limits[kind]} (${source('limit')}); a request may not exceed its limit`);
    }
  }

  let logLevel = config.logLevel;
  const rawLevel = annotations[SIDECAR_ANNOTATIONS.logLevel];
  if (rawLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(rawLevel)) logLevel = rawLevel as LogLevel;
    else problems.push(`${SIDECAR_ANNOTATIONS.logLevel} is "${rawLevel}"; use one of ${LOG_LEVELS.join(', ')}`);
  }
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  return { ok: true, settings: { resources, logLevel } };
}
