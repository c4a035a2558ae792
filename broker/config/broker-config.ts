// The broker's configuration file (`sidegate broker --config broker.yaml`): where approvers reach
// it, where it keeps requests, whom it believes as requesters and approvers, whom it tells, and its
// bounds. Secrets are never in this file, only the paths of files mounted from Secrets, so the file
// itself can be a ConfigMap. Validated strictly: a typo fails at startup instead of quietly
// leaving a broker that trusts nobody, or the wrong issuer.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseDuration } from '../../policies/duration.js';
import { issuesLine, yamlDocument } from '../../core/config/config-document.js';

const httpsUrl = z.url({ protocol: /^https$/ });
const httpUrl = z.url({ protocol: /^https?$/ });
const filePath = z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'an absolute file path');
const name = z.string().min(1).max(256);
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => (parseDuration(v) ?? 0) >= 1000, 'a duration of at least 1s such as 30s, 10m or 1h')
  .transform((v) => parseDuration(v)!);

// Printable and without spaces: a prefix is part of every name a policy, a page and a span show.
const claimPrefix = z.string().regex(/^[\x21-\x7e]{1,64}$/, '1 to 64 printable characters, no spaces');

const APPROVAL_EVENT_TYPES = ['approval.created', 'approval.decided'] as const;

// PGlite has one writer: one broker process over one data directory. PostgreSQL serves replicas.
const storeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('embedded'), dataDir: filePath }),
  z.strictObject({
    kind: z.literal('postgres'),
    /** File holding the connection string (a key of a mounted Secret): it carries the password. */
    connectionFile: filePath,
    caFile: filePath.optional(),
    maxConnections: z.number().int().min(1).max(100).default(10),
  }),
]);

const kubernetesRequestersSchema = z
  .strictObject({
    /** The cluster's service-account issuer (`--service-account-issuer`), the tokens' `iss`. */
    issuer: httpsUrl,
    /** The audience sidecars request their projected token for; never the API server's own. */
    audience: name.default('sidegate-broker'),
    /** true: keys through the in-cluster API server's issuer discovery (its CA, the broker's own token). */
    discovery: z.boolean().default(true),
    /** With discovery off: where the issuer's keys are (JWKS). */
    jwksUrl: httpsUrl.optional(),
    caFile: filePath.optional(),
  })
  .superRefine((k, ctx) => {
    if (k.discovery && k.jwksUrl !== undefined) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'jwksUrl replaces discovery: set discovery: false to use it' });
    if (!k.discovery && k.jwksUrl === undefined) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'required when discovery is false: the keys must come from somewhere' });
  });

const requestersSchema = z
  .strictObject({
    kubernetes: kubernetesRequestersSchema.optional(),
    /** Local mode only: a file with the one bearer token the local sidecar presents. */
    staticTokenFile: filePath.optional(),
  })
  .refine((r) => r.kubernetes !== undefined || r.staticTokenFile !== undefined, 'name how requesters authenticate: kubernetes, staticTokenFile or both');

const oidcApproverIssuerSchema = z.strictObject({
  issuer: httpsUrl,
  /** The web page's client; the redirect URI registered for it is `<publicUrl>/auth/callback`. */
  clientId: name,
  /** A public client for `sidegate approvals login` (device authorization grant); its ID tokens are accepted too. */
  cliClientId: name.optional(),
  /** Absent: a public client (PKCE only). */
  clientSecretFile: filePath.optional(),
  groupsClaim: name.default('groups'),
  usernameClaim: name.default('preferred_username'),
  /**
   * Scopes the page asks for beyond `openid profile email`: most providers release groups only for
   * their own scope (Dex, Keycloak, Authentik: `groups`). The CLI's device login asks for the same.
   */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/, 'a scope token (RFC 6749 §3.3)')).max(16).default(['groups']),
  caFile: filePath.optional(),
  /**
   * Put before the approver's name and each group from this issuer (Kubernetes' OIDC
   * usernamePrefix / groupsPrefix): policies then name `gitlab:alice` or `corp:dba`, which no
   * other issuer can mint. Required, and distinct, with more than one issuer.
   */
  usernamePrefix: claimPrefix.optional(),
  groupsPrefix: claimPrefix.optional(),
});

const approversSchema = z.strictObject({
  oidc: z
    .array(oidcApproverIssuerSchema)
    .max(16)
    .default([])
    .refine((list) => new Set(list.map((i) => i.issuer)).size === list.length, 'each issuer once'),
  /**
   * Who may decide any request (never their own): `{ issuer, subject }` (an identity no approver
   * can choose), or a name (the username claim), accepted only with a single OIDC issuer: with
   * several, each could issue anyone's name.
   */
  superApprovers: z.array(z.union([name, z.strictObject({ issuer: httpsUrl, subject: name })])).max(256).default([]),
})
  .superRefine((a, ctx) => {
    if (a.oidc.length > 1) {
      for (const key of ['usernamePrefix', 'groupsPrefix'] as const) checkPrefixesApart(a.oidc.map((o) => o[key]), key, ctx);
    }
    const issuers = new Set(a.oidc.map((o) => o.issuer));
    a.superApprovers.forEach((s, i) => {
      if (typeof s !== 'string') {
        if (!issuers.has(s.issuer)) ctx.addIssue({ code: 'custom', path: ['superApprovers', i, 'issuer'], message: 'not one of approvers.oidc' });
      } else if (issuers.size > 1) {
        ctx.addIssue({ code: 'custom', path: ['superApprovers', i], message: 'with several OIDC issuers a super-approver is named by { issuer, subject }: any issuer could issue the name' });
      }
    });
  });

/**
 * With several issuers, each must scope what it issues: a name or group from one must never read
 * as another's. So every issuer has a prefix, and none begins another (`corp` and `corp-x` would
 * let corp's user `-x:bob` pass for corp-x's `bob`), which also makes them distinct. Fail closed:
 * the broker does not start otherwise.
 */
function checkPrefixesApart(prefixes: readonly (string | undefined)[], key: string, ctx: z.RefinementCtx): void {
  prefixes.forEach((prefix, i) => {
    if (prefix === undefined) {
      ctx.addIssue({ code: 'custom', path: ['oidc', i, key], message: 'required with several OIDC issuers: without it any of them could issue the names and groups policies use' });
      return;
    }
    const clash = prefixes.findIndex((other, j) => j !== i && other !== undefined && (prefix.startsWith(other) && (other !== prefix || j < i)));
    if (clash >= 0) ctx.addIssue({ code: 'custom', path: ['oidc', i, key], message: `must not begin with issuer ${clash}'s ${key}: their names could read as each other's` });
  });
}

const notificationsSchema = z.strictObject({
  slack: z.strictObject({ webhookUrlFile: filePath }).optional(),
  webhooks: z
    .array(z.strictObject({ url: httpUrl, secretFile: filePath, events: z.array(z.enum(APPROVAL_EVENT_TYPES)).min(1).optional() }))
    .max(16)
    .default([]),
});

export const brokerConfigSchema = z.strictObject({
  /** The https URL approvers open: links in notifications and in the held client's notice. */
  publicUrl: httpsUrl,
  store: storeSchema,
  requesters: requestersSchema,
  approvers: approversSchema.default({ oidc: [], superApprovers: [] }),
  notifications: notificationsSchema.default({ webhooks: [] }),
  /** Key for the page's signed cookies (at least 32 bytes). */
  session: z.strictObject({ secretFile: filePath }),
  /**
   * Where the evidence of decisions is kept before export: the durable spool when an
   * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set, else the OTLP/JSON lines file `audit.otlp.jsonl`.
   * Required: a broker without evidence of its decisions does not start.
   */
  audit: z.strictObject({ stateDir: filePath }),
  /** Pending requests at most; beyond it new ones are refused (and so denied), not queued. */
  maxPending: z.number().int().min(1).max(100_000).default(1000),
  /** The longest a request may wait for a decision, in milliseconds once parsed; a policy's longer timeout is cut to it. */
  maxTimeout: duration.default(3_600_000),
});

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type BrokerStoreConfig = BrokerConfig['store'];

export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/** Validates an already-parsed object. */
export function parseBrokerConfig(value: unknown, source = 'config'): BrokerConfig {
  const result = brokerConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    throw new BrokerConfigError(`${source}: invalid broker configuration: ${issuesLine(result.error.issues)}`);
  }
  return result.data;
}

export function parseBrokerConfigYaml(text: string, source = 'config'): BrokerConfig {
  return parseBrokerConfig(yamlDocument(text, source, (message) => new BrokerConfigError(message)), source);
}

export async function loadBrokerConfigFile(file: string): Promise<BrokerConfig> {
  return parseBrokerConfigYaml(await readFile(file, 'utf8'), file);
}
