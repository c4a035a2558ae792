// The broker API: its request bodies, query parameters and the record it answers with. The zod
// schemas are the source of truth, the types are inferred from them, and requests are validated
// before they reach the store. Every string and list is bounded: the bodies come from sidecars and
// approvers' CLIs, and what they carry ends up in memory for the life of the request and on
// approvers' terminals. The broker knows nothing of the pipeline; hold-client.ts translates.
import { z } from 'zod';
import { ApprovalRequirementSchema, CiContextSchema } from './parties.js';
import { TraceparentSchema } from './trace-context.js';

/** Largest request body the broker reads (413 beyond): a full statement and its shown parameters. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Longest statement text a request may carry; longer ones are refused, never cut (an approver must see all of it). */
export const MAX_COMMAND_CHARS = 32 * 1024;

/** Most parameters a request lists one by one (the rest are only counted). */
export const MAX_LISTED_PARAMETERS = 100;
/** Longest shown parameter value, in characters: 256 bytes as hex. */
export const MAX_PARAMETER_VALUE_CHARS = 512;

const name = z.string().min(1).max(256);
const uint32 = z.number().int().min(0).max(2 ** 32 - 1);

export const ApprovalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;
export type FinalStatus = Exclude<ApprovalStatus, 'pending'>;
export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ApprovalStatusSchema.options;

/** One parameter of the held command as the approver is shown it. */
const ApprovalParameterSchema = z.object({
  /** $n */
  position: z.number().int().min(1).max(65535),
  format: z.enum(['text', 'binary']),
  /** Declared type OID; 0 = left to the server to infer. */
  typeOid: uint32,
  /** Text, or hex when `hex`; null = SQL NULL. */
  value: z.string().max(MAX_PARAMETER_VALUE_CHARS).nullable(),
  hex: z.literal(true).optional(),
  /** Length of the whole value in bytes (the binding hash covers all of them). */
  bytes: z.number().int().min(0).max(2 ** 31 - 1),
  /** `value` shows only a prefix. */
  truncated: z.literal(true).optional(),
});
export type ApprovalParameter = z.infer<typeof ApprovalParameterSchema>;

/** The binding hash the requester computed over everything that will run. */
export const BindingHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');
const names = z.array(name).max(64);

/** `POST /v1/approvals`: what a sidecar asks the broker to hold, and for how long. */
export const CreateApprovalBody = z.object({
  requester: z.object({
    subject: z.string().max(1024),
    issuer: z.string().max(1024),
    identities: names,
    /** The CI run behind the request (its actor can never approve it). */
    ci: CiContextSchema.optional(),
  }),
  target: name,
  protocol: z.string().min(1).max(32),
  command: z.string().max(MAX_COMMAND_CHARS),
  /** The command's bytes are not valid UTF-8: bytes from 0x80 are shown as \xNN. */
  commandEscaped: z.literal(true).optional(),
  parameters: z.array(ApprovalParameterSchema).max(MAX_LISTED_PARAMETERS).optional(),
  parametersOmitted: z.number().int().min(1).max(65535).optional(),
  resultFormats: z.array(z.number().int().min(0).max(1)).max(65535).optional(),
  /** What else the command runs that its own text does not show. */
  context: z.string().max(MAX_COMMAND_CHARS).optional(),
  hash: BindingHash,
  rule: name,
  /** Who may decide and how many must approve: the rule's requirement (parties.ts). */
  ...ApprovalRequirementSchema.shape,
  sessionId: name,
  /** The held statement's span (W3C traceparent): the broker's decision spans link to it. */
  traceparent: TraceparentSchema.optional(),
  timeoutMs: z.number().int().positive().max(2 ** 31 - 1),
});
/** What a requester sends; `groups` and `threshold` may be left out (none, and one approval). */
export type ApprovalRequest = z.input<typeof CreateApprovalBody>;

/** One approver's vote, with the identity its token proved. */
export const ApprovalVoteSchema = z.object({
  verdict: z.enum(['approved', 'denied']),
  approver: z.object({ issuer: z.string(), subject: z.string(), name: z.string(), groups: z.array(z.string()) }),
  reason: z.string().optional(),
  at: z.string(),
});
export type ApprovalVote = z.infer<typeof ApprovalVoteSchema>;

/** What every endpoint answers with: the request as held (without its timeout) and its lifecycle. */
export const ApprovalRecordSchema = CreateApprovalBody.omit({ timeoutMs: true }).extend({
  id: z.string(),
  status: ApprovalStatusSchema,
  createdAt: z.string(),
  expiresAt: z.string(),
  /** Every vote cast, oldest first. */
  votes: z.array(ApprovalVoteSchema),
  /** Who approved (their names, comma-separated) or denied (absent for expired/cancelled: nobody decided). */
  decidedBy: z.string().optional(),
  /** When the request left pending, for any reason. */
  decidedAt: z.string().optional(),
  reason: z.string().optional(),
  /** When the requester acted on the approval: an approval runs its command once, then never again. */
  consumedAt: z.string().optional(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecordSchema>;

/** With the static admin token the approver names itself; an OIDC approver's name comes from its token. */
export const DecideBody = z.object({
  /** Who decides, for the static admin token only: a verified approver's token names them itself. */
  approver: z.string().trim().min(1, 'an approver name is required').max(256).optional(),
  reason: z.string().max(2000).optional(),
});

export const CancelBody = z.object({ reason: z.string().max(2000).optional() });

export const ConsumeBody = z.object({ hash: BindingHash });

/** `?status=` of the list endpoint: absent means all; anything else must be a known status. */
export function parseStatusFilter(raw: string | null): ApprovalStatus | undefined | 'invalid' {
  if (raw === null || raw === '') return undefined;
  const status = ApprovalStatusSchema.safeParse(raw);
  return status.success ? status.data : 'invalid';
}

/** A bounded integer query parameter: absent → `fallback`; out of range → clamped; junk → undefined. */
export function parseBoundedInt(raw: string | null, fallback: number, min: number, max: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,10}$/.test(raw)) return undefined;
  return Math.min(Math.max(Number(raw), min), max);
}
