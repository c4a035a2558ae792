// The vocabulary shared by the policy language and every part of the sidecar.
//
// Policy evaluation is a pure function of (principal, command facts) → decision. These types are
// what crosses that boundary: protocol adapters turn wire messages into `CommandFacts`, identity
// turns tokens into a `Principal`, and nothing here knows about a wire format or a token format.
// `policies/` imports nothing from `sidecar/` or `webhook/`; they import from here.

import type { PresentedToken } from './tokens/presented-token.js';

export type Protocol = 'postgres' | 'mysql' | 'ssh' | 'http';

/**
 * Who is calling, after verification. The raw token only inside `presented`, which never
 * serialises: the sidecar exchanges it for the job's login (docs/TOKEN-EXCHANGE.md).
 */
export interface Principal {
  /** `iss` of the verified token. */
  issuer: string;
  /** `sub` of the verified token. */
  subject: string;
  /** All verified claims (including iss/sub/aud). */
  claims: Readonly<Record<string, unknown>>;
  /** Names of the policy `identities` entries this principal matched (issuer + claim matchers). */
  identities: readonly string[];
  /** The token the client presented (absent: the pod's own identified it). Memory only. */
  presented?: PresentedToken;
}

/** One table or view a command touches. `schema` is absent when the command did not qualify it. */
export interface TableRef {
  schema?: string;
  name: string;
}

/**
 * What inspection learned about one command (one SQL statement, one shell command line, one HTTP
 * request). Policy matches on these facts only.
 */
export interface CommandFacts {
  protocol: Protocol;
  /** Target name from the policy. */
  target: string;
  /** The command text as sent (one statement of a multi-statement string). */
  text: string;
  /**
   * Operation name as OpenTelemetry's `db.operation.name` would say it, upper case:
   * `SELECT`, `INSERT`, `CREATE TABLE`, `DROP TABLE`, `DO`, `COPY`… For HTTP the method.
   */
  operation: string;
  /**
   * Lower-case statement kinds this command belongs to, most specific first, e.g.
   * `['select', 'read']`, `['drop', 'ddl', 'write']`, `['do', 'procedural', 'write']`.
   * Rules' `when.statements` match any of them.
   */
  kinds: readonly string[];
  /** Tables/views touched (read or written). */
  tables: readonly TableRef[];
  /**
   * Facts worth a rule of their own: `multi-statement` (part of a string with several
   * statements), `prepared` (arrived via the extended protocol), `do-block`, `function-call`,
   * `unparsable` (the grammar rejected it; `kinds` is then `['unparsable']`).
   */
  flags: readonly string[];
  /**
   * Functions the command calls, as the server resolves them: built-ins as `pg_catalog.name`,
   * others as written (`schema.name`, or `name` when unqualified). Rules' `when.functions`.
   */
  functions?: readonly string[];
}

export type Action = 'allow' | 'deny' | 'approve';

/** The outcome of evaluating policy for one command. */
export interface Decision {
  action: Action;
  /** Name of the rule that decided, or `default` when no rule matched. */
  rule: string;
  /** Human-readable reason, safe to show to the client (never contains secrets). */
  reason: string;
  /** For `approve`: approvers allowed by name (none and no groups: any authenticated approver). */
  approvers?: readonly string[];
  /** For `approve`: approvers allowed by group membership. */
  approverGroups?: readonly string[];
  /** For `approve`: distinct approvals needed (default 1). */
  approvalThreshold?: number;
  /** For `approve`: how long to hold before the hold becomes a deny. */
  timeoutMs?: number;
}

export type DetectorName = 'email' | 'payment-card' | 'jwt' | 'aws-access-key' | 'pem-private-key';

export type DetectorSpec =
  | { kind: 'builtin'; name: DetectorName }
  | { kind: 'regex'; name: string; pattern: string; flags?: string };

export type MaskStrategy = 'redact' | 'partial' | 'hash';

/** A masking rule after policy resolution: applies to the current principal and target. */
export interface MaskingRule {
  name: string;
  /**
   * `table.column` globs (`*` any run of characters except `.`, `**`/a bare `*` prefix allowed:
   * `*.email`, `public.users.ssn`, `users.*`). Matched against the column's table (schema-
   * qualified when known) and name from the result's row description.
   */
  columns: readonly string[];
  /** Detectors run over every value not already masked by a column match. */
  detectors: readonly DetectorSpec[];
  strategy: MaskStrategy;
}

/** Target description as the sidecar needs it. */
export interface TargetSpec {
  name: string;
  protocol: Protocol;
  /** Upstream host and port. */
  host: string;
  port: number;
  /** Database to connect to upstream; when absent, the one the client asked for. */
  database?: string;
  tls: UpstreamTls;
  credentials: CredentialRef;
  /** Local mode: explicit listener `host:port` for this target. */
  listen?: { host: string; port: number };
}

export interface UpstreamTls {
  mode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM CA bundle path; system CAs when absent. */
  caFile?: string;
  /** Name to verify instead of `host`. */
  serverName?: string;
}

/** Where a target's credentials come from. `file`: an entry of the sidecar's credentials file. */
export type CredentialRef =
  | { source: 'file'; key: string }
  /** A short-lived login from the token exchange (RFC 8693) for the exchange's target of this name. */
  | { source: 'exchange'; scope?: string };

/**
 * What capture detected from a captured connection's first bytes. A client that stays silent
 * (server-first protocols) or sends something unrecognised is `unknown`.
 */
export type CapturedProtocol = Protocol | 'tls' | 'unknown';

/** What happens to a captured connection to a destination no target names. */
export type EgressAction = 'passthrough' | 'refuse';

/** One `egress.rules` entry: every condition given must hold; first matching rule decides. */
export interface EgressRule {
  name: string;
  protocols?: readonly CapturedProtocol[];
  /** IPv4/IPv6 addresses or CIDR ranges of the original destination. */
  destinations?: readonly string[];
  ports?: readonly number[];
  action: EgressAction;
}

/**
 * Rule names sidegate itself uses for egress decisions (`sidegate.rule`); a policy's egress rules
 * may not take them, so an audit record's rule always says who decided.
 */
export const EGRESS_BUILTIN_RULES = {
  /** No egress rule matched: the section's `default`. */
  default: 'egress-default',
  /** The destination is the pod's loopback or one of the sidecar's own ports: never relayed. */
  loop: 'egress-loop',
  /** A target's host does not resolve: a connection on its port may be to it, so it is not relayed. */
  targetUnresolved: 'target-unresolved',
  /**
   * No rule matched a protocol sidegate has an adapter for (PostgreSQL): most likely a database it
   * guards reached at another address, so refused unless a rule relays it explicitly.
   */
  guardedProtocol: 'egress-guarded-protocol',
  /** The sidecar relays as many connections as it may at once (a runner cannot exhaust its sockets). */
  capacity: 'egress-capacity',
} as const;

/** The policy's `egress` section, resolved: `passthrough` with no rules when absent. */
export interface EgressPolicy {
  defaultAction: EgressAction;
  rules: readonly EgressRule[];
}

/** A token issuer the sidecar trusts, as the policy's `identities` section declares it. */
export interface IssuerSpec {
  /** Expected `iss`. */
  issuer: string;
  /** Accepted `aud` values (at least one must be present in the token). */
  audiences: readonly string[];
  /** Where the signing keys come from: exactly one of these. */
  jwksUrl?: string;
  /** An OpenID discovery document (`…/.well-known/openid-configuration`) whose `jwks_uri` is used. */
  discoveryUrl?: string;
  jwks?: { keys: readonly Record<string, unknown>[] };
  jwksFile?: string;
  /** PEM CA bundle trusted instead of the system roots when jwksUrl/discoveryUrl is fetched (a cluster's CA). */
  caFile?: string;
  /**
   * A token file presented as a bearer token to the origin of jwksUrl/discoveryUrl (https only):
   * Kubernetes serves its issuer discovery to authenticated service accounts by default.
   */
  bearerTokenFile?: string;
  /** Allowed clock skew for exp/nbf/iat, seconds (default 30). */
  clockSkewSeconds: number;
}
