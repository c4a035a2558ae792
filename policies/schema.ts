// The policy language v1, as a zod schema: the single source of truth for validation, the
// TypeScript types and the JSON Schema editors use (policies/policy.schema.json).
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { normaliseCidr } from '../core/network/cidr.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'names use letters, digits, "-", "_" and "."');
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, { message: 'expected a duration like 30s, 5m, 1h or a number of seconds' });
const glob = z.string().min(1);
// Claims compare as strings, so `ref_protected: true` (a YAML boolean) means the string "true":
// accepting the unquoted scalar spares operators an error about quoting.
const claimValue = z.union([glob, z.number(), z.boolean()]).transform(String);
const claimMatchers = z.record(z.string(), z.union([claimValue, z.array(claimValue).min(1)]));
/** `host:port` / `[v6]:port`. A local listener may use port 0 (the OS picks one, as tests do). */
const hostPort = (minPort: 0 | 1) =>
  z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port (IPv6 as [addr]:port)')
    .refine((a) => {
      const port = Number(a.slice(a.lastIndexOf(':') + 1));
      return port >= minPort && port <= 65535;
    }, `port must be between ${minPort} and 65535`);

export const IdentitySchema = z
  .object({
    name,
    issuer: z.string().url(),
    audiences: z.array(z.string().min(1)).min(1).optional(),
    audience: z.string().min(1).optional(),
    jwksUrl: z.string().url().optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
    jwksFile: z.string().min(1).optional(),
    clockSkew: duration.optional(),
    claims: claimMatchers.optional(),
  })
  .strict();

export const TargetSchema = z
  .object({
    name,
    protocol: z.enum(['postgres', 'mysql', 'ssh', 'http']),
    address: hostPort(1),
    database: z.string().min(1).optional(),
    tls: z
      .object({
        mode: z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
        ca: z.string().min(1).optional(),
        serverName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    credentials: z.union([
      z.object({ file: z.string().min(1) }).strict(),
      // The sidecar's token exchange (its URL is the sidecar's --exchange-url): a short-lived login
      // for this pod, the exchange's target of this target's name; `scope` asks for one template role.
      z.object({ exchange: z.object({ scope: z.string().regex(/^[a-z_][a-z0-9_$]{0,62}$/, 'a role name: lower-case letters, digits, _ and $').optional() }).strict() }).strict(),
    ]),
    listen: hostPort(0).optional(),
  })
  .strict();

const who = {
  identities: z.array(name).min(1).optional(),
  claims: claimMatchers.optional(),
  targets: z.array(glob).min(1).optional(),
};

export const RuleSchema = z
  .object({
    name,
    description: z.string().optional(),
    ...who,
    when: z
      .object({
        statements: z.array(z.string().min(1)).min(1).optional(),
        tables: z.array(glob).min(1).optional(),
        allTables: z.boolean().optional(),
        schemas: z.array(glob).min(1).optional(),
        text: z.string().min(1).optional(),
        flags: z.array(z.string().min(1)).min(1).optional(),
        functions: z.array(glob).min(1).optional(),
      })
      .strict()
      .optional(),
    action: z.enum(['allow', 'deny', 'approve']),
    approval: z
      .object({
        /** Approvers allowed by name (their verified name: preferred_username, email or sub). */
        approvers: z.array(z.string().min(1).max(256)).max(64).default([]),
        /** Approvers allowed by membership of one of these groups (the OIDC groups claim). */
        groups: z.array(z.string().min(1).max(256)).max(64).default([]),
        /** Distinct approvers who must approve (one deny denies). */
        threshold: z.number().int().min(1).max(16).default(1),
        timeout: duration.optional(),
      })
      .strict()
      .optional(),
    message: z.string().optional(),
  })
  .strict();

const builtinDetector = z.enum(['email', 'payment-card', 'jwt', 'aws-access-key', 'pem-private-key']);

export const MaskingSchema = z
  .object({
    name,
    ...who,
    columns: z.array(glob).default([]),
    detectors: z.array(z.union([builtinDetector, z.object({ name, regex: z.string().min(1), flags: z.string().optional() }).strict()])).default([]),
    strategy: z.enum(['redact', 'partial', 'hash']),
  })
  .strict();

const egressAction = z.enum(['passthrough', 'refuse']);

export const EgressRuleSchema = z
  .object({
    name,
    description: z.string().optional(),
    protocols: z.array(z.enum(['postgres', 'mysql', 'ssh', 'http', 'tls', 'unknown'])).min(1).optional(),
    destinations: z
      .array(z.string().refine((v) => normaliseCidr(v) !== undefined, 'expected an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or fd00::/8'))
      .min(1)
      .optional(),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
    action: egressAction,
  })
  .strict();

export const EgressSchema = z
  .object({
    default: egressAction.default('passthrough'),
    rules: z.array(EgressRuleSchema).max(256).default([]),
  })
  .strict();

export const PolicyDocumentSchema = z
  .object({
    version: z.literal(1),
    defaults: z
      .object({
        action: z.enum(['deny', 'allow', 'approve']).default('deny'),
        unparsable: z.enum(['deny', 'evaluate']).default('deny'),
        approvalTimeout: duration.optional(),
      })
      .strict()
      .optional(),
    identities: z.array(IdentitySchema).default([]),
    targets: z.array(TargetSchema).default([]),
    rules: z.array(RuleSchema).default([]),
    masking: z.array(MaskingSchema).default([]),
    maskingKey: z.union([z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()]).optional(),
    egress: EgressSchema.optional(),
  })
  .strict();

export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;
export type RuleDoc = z.infer<typeof RuleSchema>;
export type MaskingDoc = z.infer<typeof MaskingSchema>;
export type IdentityDoc = z.infer<typeof IdentitySchema>;
export type TargetDoc = z.infer<typeof TargetSchema>;
export type EgressDoc = z.infer<typeof EgressSchema>;
