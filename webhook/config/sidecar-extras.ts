// What an operator may add to the injected sidecar: environment variables (a value, or one from a
// Secret, ConfigMap, the pod's fields or the container's resources), volumes (Secret, ConfigMap,
// emptyDir, CSI, e.g. the secrets-store driver) and their mounts — OTLP headers and CAs, database
// CAs, a masking key. Only the sidecar gets them; the schemas are strict so a typo fails at start.
// Names sidegate injects itself are refused (injection-config.ts), never overridden.
import { z } from 'zod';
import { SIDECAR_ENV_NAMES, SIDECAR_MOUNT_DIRS, VOLUME_NAMES } from '../injection/pod-markers.js';

// Every volume sidegate injects is named sidegate-*; the prefix stays free for the ones it may add.
const RESERVED_VOLUME_PREFIX = 'sidegate-';
if (!Object.values(VOLUME_NAMES).every((name) => name.startsWith(RESERVED_VOLUME_PREFIX))) throw new Error('VOLUME_NAMES must all begin with sidegate-');

// A DNS-1123 label: what volume names (and ConfigMap keys' neighbours) must be.
const dnsLabel = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 label such as otlp-ca');
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'a Kubernetes object name (DNS-1123 subdomain)');
const dataKey = z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/, 'a Secret or ConfigMap key such as ca.crt');
// A relative path without "..": where a key lands inside its volume.
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a relative path without ".."');
const fileMode = z.number().int().min(0).max(0o777);
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, 'a Kubernetes quantity such as 1Mi');

const keySelector = z.strictObject({ name: objectName, key: dataKey, optional: z.boolean().optional() });
const envVarSource = z.union([
  z.strictObject({ secretKeyRef: keySelector }),
  z.strictObject({ configMapKeyRef: keySelector }),
  z.strictObject({ fieldRef: z.strictObject({ fieldPath: z.string().min(1), apiVersion: z.string().optional() }) }),
  z.strictObject({
    resourceFieldRef: z.strictObject({ resource: z.string().min(1), containerName: z.string().optional(), divisor: quantity.optional() }),
  }),
]);
// Kubernetes' classic rule for variable names (C identifiers plus '-' and '.').
const envName = z.string().min(1).regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'an environment variable name such as OTEL_EXPORTER_OTLP_HEADERS');
export const extraEnvVarSchema = z.union([
  z.strictObject({ name: envName, value: z.string() }),
  z.strictObject({ name: envName, valueFrom: envVarSource }),
]);

const keyToPath = z.strictObject({ key: dataKey, path: relativePath, mode: fileMode.optional() });
const volumeSource = z.union([
  z.strictObject({
    name: dnsLabel,
    secret: z.strictObject({
      secretName: objectName,
      items: z.array(keyToPath).optional(),
      defaultMode: fileMode.optional(),
      optional: z.boolean().optional(),
    }),
  }),
  z.strictObject({
    name: dnsLabel,
    configMap: z.strictObject({ name: objectName, items: z.array(keyToPath).optional(), defaultMode: fileMode.optional(), optional: z.boolean().optional() }),
  }),
  z.strictObject({ name: dnsLabel, emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: quantity.optional() }) }),
  z.strictObject({
    name: dnsLabel,
    csi: z.strictObject({
      driver: z.string().min(1),
      readOnly: z.boolean().optional(),
      fsType: z.string().optional(),
      volumeAttributes: z.record(z.string(), z.string()).optional(),
      nodePublishSecretRef: z.strictObject({ name: objectName }).optional(),
    }),
  }),
]);
export const extraVolumeSchema = volumeSource;

const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'a path without ".."');
export const extraVolumeMountSchema = z.strictObject({
  name: dnsLabel,
  mountPath: absolutePath,
  subPath: relativePath.optional(),
  /** Default true: the sidecar writes only to its state directory. */
  readOnly: z.boolean().default(true),
});

export type ExtraEnvVar = z.infer<typeof extraEnvVarSchema>;
export type ExtraVolume = z.infer<typeof extraVolumeSchema>;
export type ExtraVolumeMount = z.infer<typeof extraVolumeMountSchema>;

export interface SidecarExtras {
  extraEnv: ExtraEnvVar[];
  extraVolumes: ExtraVolume[];
  extraVolumeMounts: ExtraVolumeMount[];
}

/** Every way the extras could collide with sidegate's own or with each other, as path + message. */
export function sidecarExtrasProblems(extras: SidecarExtras): Array<{ path: (string | number)[]; message: string }> {
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  const reservedEnv = new Set<string>(SIDECAR_ENV_NAMES);
  const seenEnv = new Set<string>();
  extras.extraEnv.forEach((env, i) => {
    if (reservedEnv.has(env.name)) problems.push({ path: ['extraEnv', i, 'name'], message: `${env.name} is set by sidegate itself (${reservedSettingOf(env.name)})` });
    else if (seenEnv.has(env.name)) problems.push({ path: ['extraEnv', i, 'name'], message: `${env.name} is listed twice` });
    seenEnv.add(env.name);
  });
  const seenVolumes = new Set<string>();
  extras.extraVolumes.forEach((volume, i) => {
    if (volume.name.startsWith(RESERVED_VOLUME_PREFIX)) {
      problems.push({ path: ['extraVolumes', i, 'name'], message: `${volume.name}: names beginning "${RESERVED_VOLUME_PREFIX}" are reserved for the volumes sidegate injects` });
    }
    else if (seenVolumes.has(volume.name)) problems.push({ path: ['extraVolumes', i, 'name'], message: `${volume.name} is listed twice` });
    seenVolumes.add(volume.name);
  });
  const seenPaths = new Set<string>();
  extras.extraVolumeMounts.forEach((mount, i) => {
    if (!seenVolumes.has(mount.name)) problems.push({ path: ['extraVolumeMounts', i, 'name'], message: `${mount.name} is not one of extraVolumes (only those can be mounted)` });
    const path = trimTrailingSlash(mount.mountPath);
    const clash = SIDECAR_MOUNT_DIRS.find((own) => overlaps(path, own));
    if (clash) problems.push({ path: ['extraVolumeMounts', i, 'mountPath'], message: `${mount.mountPath} overlaps sidegate's own mount ${clash}` });
    else if ([...seenPaths].some((other) => overlaps(path, other))) problems.push({ path: ['extraVolumeMounts', i, 'mountPath'], message: `${mount.mountPath} overlaps another extra mount` });
    seenPaths.add(path);
  });
  return problems;
}

function reservedSettingOf(name: string): string {
  if (name === 'SIDEGATE_LOG_LEVEL') return 'use logLevel or the pod annotation sidecar.sidegate.dev/log-level';
  if (name === 'OTEL_EXPORTER_OTLP_ENDPOINT') return 'use otlpEndpoint';
  if (name === 'NODE_EXTRA_CA_CERTS') return 'it carries brokerCaConfigMap; give an OTLP collector\'s CA with OTEL_EXPORTER_OTLP_CERTIFICATE';
  return 'it describes the pod to the sidecar';
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** Equal, or one inside the other: either way one mount hides (part of) the other. */
function overlaps(a: string, b: string): boolean {
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
  return within(a, b) || within(b, a);
}
