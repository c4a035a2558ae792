// The webhook's configuration: what the injected sidecar looks like and how the webhook behaves
// when it cannot inject. Loaded from YAML and validated strictly so that a typo in an operator's
// file fails at startup instead of silently producing pods without capture.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { normaliseCidr } from '../../core/network/cidr.js';
import { issuesLine, yamlDocument } from '../../core/config/config-document.js';
import { parseResourceQuantity } from '../injection/resource-quantity.js';
import { extraEnvVarSchema, extraVolumeMountSchema, extraVolumeSchema, sidecarExtrasProblems } from './sidecar-extras.js';

const port = z.number().int().min(1).max(65535);
const id = z.number().int().min(1).max(2 ** 31 - 1);
// Resource quantities as Kubernetes writes them (100m, 64Mi, 1.5, 2G).
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|K|M|G|T|P|E)?$/, 'a Kubernetes quantity such as 50m or 64Mi');
const resourceList = z.strictObject({ cpu: quantity, memory: quantity });
// A DNS-1123 subdomain: what ConfigMap and Secret names must be.
const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'a Kubernetes object name (DNS-1123 subdomain)');

export const injectionConfigSchema = z.strictObject({
  image: z.string().min(1).default('sidegate:dev'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  uid: id.default(7331),
  gid: id.default(7331),
  capturePort: port.default(16001),
  adminPort: port.default(16002),
  /** Outbound TCP ports redirected to the sidecar, or '*' for all TCP. */
  includeOutboundPorts: z.union([z.array(port).min(1), z.literal('*')]).default([3306, 5432]),
  excludeOutboundPorts: z.array(port).default([]),
  excludeOutboundIpRanges: z
    .array(z.string().refine((v) => normaliseCidr(v) !== undefined, 'an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8'))
    .default([]),
  // Memory: the request covers what the sidecar holds once it has served SQL, the limit its peak
  // under load (figures in docs/BENCHMARKS.md, Design measurements). A request below what it holds
  // at rest would make it the first to be evicted under node memory pressure.
  resources: z
    .strictObject({ requests: resourceList, limits: resourceList })
    .default({ requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
  sidecarMode: z.enum(['native', 'classic']).default('native'),
  escapePolicy: z.enum(['warn', 'refuse']).default('warn'),
  failureMode: z.enum(['deny', 'admit-unchanged']).default('deny'),
  policyConfigMap: objectName.default('sidegate-policy'),
  /**
   * Secret of static target logins, mounted into the sidecar alone. Default `sidegate-credentials`
   * without exchangeUrl; with it, none unless named (the pod then holds no database password).
   */
  credentialsSecret: objectName.optional(),
  brokerUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** ConfigMap (key ca.crt) in the pod's namespace with the CA the broker's certificate chains to. */
  brokerCaConfigMap: objectName.optional(),
  tokenAudience: z.string().min(1).default('sidegate'),
  /** Audience of the second projected token, the one the sidecar presents to the broker. */
  brokerTokenAudience: z.string().min(1).default('sidegate-broker'),
  /** The token exchange (https) the sidecar obtains target logins from (docs/TOKEN-EXCHANGE.md). */
  exchangeUrl: z.url({ protocol: /^https$/ }).optional(),
  /** ConfigMap (key ca.crt) in the pod's namespace with the CA the exchange's certificate chains to. */
  exchangeCaConfigMap: objectName.optional(),
  /** Audience of the third projected token, the one the sidecar exchanges for target logins. */
  exchangeTokenAudience: z.string().min(1).default('sidegate-exchange'),
  /**
   * Further audiences whose projected tokens only a genuine sidecar may hold (the validating
   * check): e.g. another audience the exchange accepts for the cluster's issuer.
   */
  extraControlPlaneAudiences: z.array(z.string().min(1)).max(16).default([]),
  tokenExpirationSeconds: z.number().int().min(600).max(86_400).default(3600),
  otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Where the sidecars' spans go: `otlp` (the collector at otlpEndpoint, required then) or `file`
   * (a file in the pod's own volume, gone with the pod: every injection carries a warning). Unset:
   * `otlp` when otlpEndpoint is set, else `file`. The chart always sets it.
   */
  auditExporter: z.enum(['otlp', 'file']).optional(),
  /**
   * The audit spool's bound: undelivered spans above it deny new commands. The state volume's
   * sizeLimit is this plus AUDIT_VOLUME_HEADROOM, so the kubelet never evicts the pod before
   * sidegate fails closed. Binary units (Mi, Gi) or bytes.
   */
  auditSpoolSize: z.string().regex(/^[0-9]+(Ki|Mi|Gi)?$/, 'bytes, or a whole number of Ki, Mi or Gi such as 256Mi').default('256Mi'),
  /** The sidecar's log level (SIDEGATE_LOG_LEVEL); a pod's sidecar.sidegate.dev/log-level wins. Unset: info. */
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  /** Added to the sidecar only, after sidegate's own variables (so they may refer to them as $(NAME)). */
  extraEnv: z.array(extraEnvVarSchema).max(64).default([]),
  extraVolumes: z.array(extraVolumeSchema).max(32).default([]),
  /** Mounts of extraVolumes into the sidecar only; read-only unless they say otherwise. */
  extraVolumeMounts: z.array(extraVolumeMountSchema).max(32).default([]),
  /** prometheus.io/scrape, port (adminPort) and path on injected pods that have no prometheus.io/* of their own. */
  metricsScrapeAnnotations: z.boolean().default(false),
}).superRefine((config, context) => {
  for (const problem of sidecarExtrasProblems(config)) context.addIssue({ code: 'custom', ...problem });
  if (config.brokerCaConfigMap !== undefined && config.brokerUrl === undefined) {
    context.addIssue({ code: 'custom', path: ['brokerCaConfigMap'], message: 'names the broker\'s CA, but brokerUrl is not set' });
  }
  // One audience per relying party: a token the broker receives must be useless to whatever
  // accepts the pod's identity token, and the other way round.
  if (config.brokerTokenAudience === config.tokenAudience) {
    context.addIssue({ code: 'custom', path: ['brokerTokenAudience'], message: `must differ from tokenAudience ("${config.tokenAudience}")` });
  }
  if (config.exchangeCaConfigMap !== undefined && config.exchangeUrl === undefined) {
    context.addIssue({ code: 'custom', path: ['exchangeCaConfigMap'], message: 'names the exchange\'s CA, but exchangeUrl is not set' });
  }
  if (config.auditExporter === 'otlp' && config.otlpEndpoint === undefined) {
    context.addIssue({ code: 'custom', path: ['otlpEndpoint'], message: 'auditExporter is otlp, but no otlpEndpoint is set (set it, or auditExporter: file to keep spans in the pod)' });
  }
  if (config.auditExporter === 'file' && config.otlpEndpoint !== undefined) {
    context.addIssue({ code: 'custom', path: ['auditExporter'], message: 'is file, but otlpEndpoint is set: choose one' });
  }
  const spoolBytes = parseResourceQuantity('memory', config.auditSpoolSize);
  if (spoolBytes === undefined || spoolBytes < 16 * 2 ** 20 || spoolBytes > 64 * 2 ** 30) {
    context.addIssue({ code: 'custom', path: ['auditSpoolSize'], message: 'must be between 16Mi and 64Gi' });
  }
  // The identity token is every injected pod's and goes to no control-plane service.
  if (config.extraControlPlaneAudiences.includes(config.tokenAudience)) {
    context.addIssue({ code: 'custom', path: ['extraControlPlaneAudiences'], message: `must not name tokenAudience ("${config.tokenAudience}")` });
  }
  for (const [other, audience] of [['tokenAudience', config.tokenAudience], ['brokerTokenAudience', config.brokerTokenAudience]] as const) {
    if (config.exchangeTokenAudience === audience) {
      context.addIssue({ code: 'custom', path: ['exchangeTokenAudience'], message: `must differ from ${other} ("${audience}")` });
    }
  }
});

export type InjectionConfig = z.infer<typeof injectionConfigSchema>;

export class InjectionConfigError extends Error {
  override name = 'InjectionConfigError';
}

/** Validates an already-parsed object (e.g. the `config:` block of a golden case). */
export function parseInjectionConfig(value: unknown, source = 'config'): InjectionConfig {
  const result = injectionConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    throw new InjectionConfigError(`${source}: invalid webhook configuration: ${issuesLine(result.error.issues)}`);
  }
  // Static logins by default; with the token exchange only when the operator names a Secret.
  const credentialsSecret = result.data.credentialsSecret ?? (result.data.exchangeUrl === undefined ? 'sidegate-credentials' : undefined);
  const auditExporter = result.data.auditExporter ?? (result.data.otlpEndpoint === undefined ? 'file' : 'otlp');
  return { ...result.data, auditExporter, ...(credentialsSecret ? { credentialsSecret } : {}) };
}

export function parseInjectionConfigYaml(text: string, source = 'config'): InjectionConfig {
  return parseInjectionConfig(yamlDocument(text, source, (message) => new InjectionConfigError(message)), source);
}

export async function loadInjectionConfigFile(file: string): Promise<InjectionConfig> {
  return parseInjectionConfigYaml(await readFile(file, 'utf8'), file);
}

export const defaultInjectionConfig: InjectionConfig = parseInjectionConfig({});
