// The token exchange's configuration (`sidegate exchange --config exchange.yaml`): which issuers'
// tokens it believes, which targets it creates credentials on (and the admin login's file), and
// the grants: which identities may obtain which target's template role, for how long. Secrets
// are never in this file, only paths of files mounted from Secrets, so it can be a ConfigMap.
// Validated strictly: a typo fails at startup instead of granting something to someone.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { issuesLine, yamlDocument } from '../../core/config/config-document.js';
import { parseDuration } from '../../policies/duration.js';

const httpsUrl = z.url({ protocol: /^https$/ });
const filePath = z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'an absolute file path');
const name = z.string().min(1).max(256);
/**
 * A template role name we put in SQL (PostgreSQL or MariaDB): plain lower-case identifiers only,
 * so no quote or backtick can reach a statement and quoting is belt and braces.
 */
const roleName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)');
const targetName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, . _ - (at most 128)');
const duration = (min: number, what: string) =>
  z
    .union([z.string(), z.number()])
    .refine((v) => (parseDuration(v) ?? 0) >= min, what)
    .transform((v) => parseDuration(v)!);

/** A claim matcher: one pattern or any of several; `*` matches any run of characters. */
const matcher = z.union([z.string().min(1).max(512), z.array(z.string().min(1).max(512)).min(1).max(64)]).transform((m) => (typeof m === 'string' ? [m] : m));

const issuerSchema = z
  .strictObject({
    issuer: httpsUrl,
    /** The audience subject tokens must be minted for: this exchange's, never another service's. */
    audience: name,
    /** A Kubernetes service-account issuer: tokens must be pod-bound (kubelet-projected). */
    kubernetes: z.boolean().default(false),
    /** Where the keys are; neither: discovery (`<issuer>/.well-known/openid-configuration`, or the in-cluster API server for kubernetes). */
    discoveryUrl: httpsUrl.optional(),
    jwksUrl: httpsUrl.optional(),
    caFile: filePath.optional(),
    /** Presented on key fetches (Kubernetes serves discovery to authenticated service accounts). */
    bearerTokenFile: filePath.optional(),
    clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  })
  .refine((i) => !(i.discoveryUrl && i.jwksUrl), { path: ['jwksUrl'], message: 'either discoveryUrl or jwksUrl, not both' })
  .refine((i) => !(i.kubernetes && isApiServerAudience(i.audience, i.issuer)), {
    path: ['audience'],
    message: "the API server's own audience: every pod's default token has it, so every pod could exchange; give the exchange an audience of its own (e.g. sidegate-exchange)",
  });

/**
 * Audiences every pod's default ServiceAccount token carries: the API server's (its
 * --api-audiences default to the issuer URL; the in-cluster names are the usual choices).
 */
export function isApiServerAudience(audience: string, issuer: string): boolean {
  const normalise = (v: string) => v.trim().replace(/\/+$/, '').toLowerCase();
  const known = [issuer, 'https://kubernetes.default.svc', 'https://kubernetes.default.svc.cluster.local', 'kubernetes.default.svc', 'kubernetes', 'api'];
  return known.some((k) => normalise(k) === normalise(audience));
}

/** Names of created logins start with it; the sweeper only ever drops logins with it (and our marker or name form). */
const loginPrefix = z.string().regex(/^[a-z_][a-z0-9_]{2,20}$/, 'a lower-case identifier of 3 to 21 characters').default('sidegate_x_');

/** Always TLS with the server's name verified: the admin login travels on it. */
const targetTls = z.strictObject({ caFile: filePath.optional(), serverName: z.string().min(1).max(255).optional() }).default({});

const mysqlTargetSchema = z.strictObject({
  name: targetName,
  /** MariaDB 10.5 or later (user names of up to 128 characters, roles, CONNECTION ADMIN). */
  protocol: z.literal('mysql'),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).default(3306),
  tls: targetTls,
  admin: z.strictObject({ username: z.string().min(1).max(80), passwordFile: filePath }),
  /** The issued user name holds its expiry and owner (exchange/mysql/issued-user-name.ts). */
  userPrefix: loginPrefix,
  /** MAX_USER_CONNECTIONS of each issued user: one pod's sessions at once. */
  maxUserConnections: z.number().int().min(1).max(10_000).default(50),
});

const postgresTargetSchema = z.strictObject({
  name: targetName,
  protocol: z.literal('postgres'),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).default(5432),
  /** The database the admin connects to; REASSIGN/DROP OWNED act in it when a role is dropped. */
  database: z.string().min(1).max(63),
  tls: targetTls,
  admin: z.strictObject({ username: z.string().min(1).max(63), passwordFile: filePath }),
  /** Names of created roles start with it; the sweeper only ever drops roles with it and our marker. */
  rolePrefix: loginPrefix,
});

/**
 * Who may act for a grant's subject (RFC 8693 §1.1 delegation): the sidecar's own pod token, of a
 * Kubernetes issuer, matched like a subject (namespace, service account, pod claims).
 */
const actorSchema = z
  .strictObject({
    /** A `kubernetes: true` issuer; absent: any of them. */
    issuer: httpsUrl.optional(),
    subject: matcher.optional(),
    claims: z.record(z.string().min(1).max(128), matcher).default({}),
  })
  .refine((a) => a.subject !== undefined || Object.keys(a.claims).length > 0, 'an actor must match the subject or at least one claim');

const grantSchema = z
  .strictObject({
    /** Shown in logs and spans: which rule granted. */
    name: name,
    issuer: httpsUrl,
    /** Matches the token's `sub`. */
    subject: matcher.optional(),
    /** Claim path (dotted) → matcher; every one must match. */
    claims: z.record(z.string().min(1).max(128), matcher).default({}),
    /** The sidecar that must act for the subject (required for a CI issuer's grant). */
    actor: actorSchema.optional(),
    target: targetName,
    /** Template roles this grant lets the identity obtain (the first when the client names none). */
    roles: z.array(roleName).min(1).max(32),
    /** The credential's lifetime (and so the longest any credential from this grant lives). */
    ttl: duration(60_000, 'a duration of at least 1m such as 15m or 1h').refine((ms) => ms <= 24 * 3_600_000, 'at most 24h'),
  })
  // A grant matching every token of an issuer would give any GitHub repository in the world a role.
  .refine((g) => g.subject !== undefined || Object.keys(g.claims).length > 0, 'a grant must match the subject or at least one claim');

export const exchangeConfigSchema = z
  .strictObject({
    issuers: z.array(issuerSchema).min(1).max(16),
    targets: z.array(z.discriminatedUnion('protocol', [postgresTargetSchema, mysqlTargetSchema])).min(1).max(64),
    grants: z.array(grantSchema).max(1024).default([]),
    /** How often expired credentials are looked for and dropped. */
    sweepInterval: duration(1000, 'a duration of at least 1s').default(60_000),
    /** Exchanges and revocations in flight at most; beyond it the answer is temporarily_unavailable. */
    maxConcurrent: z.number().int().min(1).max(1024).default(64),
    /**
     * Where the audit trail keeps its state: a durable spool `spool/` when an
     * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set, else the OTLP/JSON lines file `audit.otlp.jsonl`.
     * `sidegate exchange` does not start without it; an embedding process (local mode) may bring
     * its own trail instead.
     */
    audit: z.strictObject({ stateDir: filePath }).optional(),
  })
  .superRefine((c, ctx) => {
    const issuers = new Set<string>();
    c.issuers.forEach((i, n) => {
      if (issuers.has(i.issuer)) ctx.addIssue({ code: 'custom', path: ['issuers', n, 'issuer'], message: 'each issuer once' });
      issuers.add(i.issuer);
    });
    const targets = new Set<string>();
    c.targets.forEach((t, n) => {
      if (targets.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', n, 'name'], message: 'each target name once' });
      targets.add(t.name);
    });
    const kubernetes = new Set(c.issuers.filter((i) => i.kubernetes).map((i) => i.issuer));
    const grants = new Set<string>();
    c.grants.forEach((g, n) => {
      if (grants.has(g.name)) ctx.addIssue({ code: 'custom', path: ['grants', n, 'name'], message: 'each grant name once' });
      grants.add(g.name);
      if (!issuers.has(g.issuer)) ctx.addIssue({ code: 'custom', path: ['grants', n, 'issuer'], message: 'not one of issuers' });
      // The job holds its CI token: a login for that token alone reaches the job, around sidegate.
      if (issuers.has(g.issuer) && !kubernetes.has(g.issuer) && g.actor === undefined) {
        ctx.addIssue({ code: 'custom', path: ['grants', n, 'actor'], message: "a grant for a CI issuer needs an actor (the sidecar's pod): a CI token alone would hand the login to the job itself" });
      }
      if (g.actor !== undefined && (g.actor.issuer !== undefined ? !kubernetes.has(g.actor.issuer) : kubernetes.size === 0)) {
        ctx.addIssue({ code: 'custom', path: ['grants', n, 'actor', 'issuer'], message: 'an actor is a pod of a kubernetes: true issuer' });
      }
      if (!targets.has(g.target)) ctx.addIssue({ code: 'custom', path: ['grants', n, 'target'], message: 'not one of targets' });
    });
  });

export type ExchangeConfig = z.infer<typeof exchangeConfigSchema>;
export type ExchangeIssuerConfig = ExchangeConfig['issuers'][number];
export type TargetConfig = ExchangeConfig['targets'][number];
export type PostgresTargetConfig = Extract<TargetConfig, { protocol: 'postgres' }>;
export type MysqlTargetConfig = Extract<TargetConfig, { protocol: 'mysql' }>;
export type GrantConfig = ExchangeConfig['grants'][number];

export class ExchangeConfigError extends Error {
  override name = 'ExchangeConfigError';
}

export function parseExchangeConfig(value: unknown, source = 'config'): ExchangeConfig {
  const result = exchangeConfigSchema.safeParse(value ?? {});
  if (!result.success) throw new ExchangeConfigError(`${source}: invalid token exchange configuration: ${issuesLine(result.error.issues)}`);
  return result.data;
}

export function parseExchangeConfigYaml(text: string, source = 'config'): ExchangeConfig {
  return parseExchangeConfig(yamlDocument(text, source, (message) => new ExchangeConfigError(message)), source);
}

export async function loadExchangeConfigFile(file: string): Promise<ExchangeConfig> {
  return parseExchangeConfigYaml(await readFile(file, 'utf8'), file);
}
