// The broker API's request bodies and query parameters, validated before they reach the store.
// Every string and list is bounded: the bodies come from sidecars and approvers' CLIs, and what
// they carry ends up in memory for the life of the request and on approvers' terminals.
import { z } from 'zod';
import { APPROVAL_STATUSES, type ApprovalRequestInput, type ApprovalStatus } from './approval-store.js';
import { MAX_SHOWN_PARAM_BYTES, MAX_SHOWN_PARAMS } from '../pipeline/held-command.js';

/** Largest request body the broker reads (413 beyond): a full statement and its shown parameters. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Longest statement text a request may carry; longer ones are refused, never cut (an approver must see all of it). */
export const MAX_COMMAND_CHARS = 32 * 1024;

const name = z.string().min(1).max(256);
const uint32 = z.number().int().min(0).max(2 ** 32 - 1);

const heldParameter = z.object({
  position: z.number().int().min(1).max(65535),
  format: z.enum(['text', 'binary']),
  typeOid: uint32,
  // Hex takes two characters a byte; text at most one character a byte.
  value: z.string().max(2 * MAX_SHOWN_PARAM_BYTES).nullable(),
  hex: z.literal(true).optional(),
  bytes: z.number().int().min(0).max(2 ** 31 - 1),
  truncated: z.literal(true).optional(),
});

/** The binding hash (held-command.ts). */
export const BindingHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');
const names = z.array(name).max(64);

export const CreateApprovalBody = z.object({
  requester: z.object({ subject: z.string().max(1024), issuer: z.string().max(1024), identities: names }),
  target: name,
  protocol: z.string().min(1).max(32),
  command: z.string().max(MAX_COMMAND_CHARS),
  commandEscaped: z.literal(true).optional(),
  parameters: z.array(heldParameter).max(MAX_SHOWN_PARAMS).optional(),
  parametersOmitted: z.number().int().min(1).max(65535).optional(),
  resultFormats: z.array(z.number().int().min(0).max(1)).max(65535).optional(),
  context: z.string().max(MAX_COMMAND_CHARS).optional(),
  hash: BindingHash,
  rule: name,
  approvers: names,
  sessionId: name,
  timeoutMs: z.number().int().positive().max(2 ** 31 - 1),
}) satisfies z.ZodType<ApprovalRequestInput>;

export const DecideBody = z.object({
  approver: z.string().trim().min(1, 'an approver name is required').max(256),
  reason: z.string().max(2000).optional(),
});

export const CancelBody = z.object({ reason: z.string().max(2000).optional() });

export const ConsumeBody = z.object({ hash: BindingHash });

/** `?status=` of the list endpoint: absent means all; anything else must be a known status. */
export function parseStatusFilter(raw: string | null): ApprovalStatus | undefined | 'invalid' {
  if (raw === null || raw === '') return undefined;
  return (APPROVAL_STATUSES as readonly string[]).includes(raw) ? (raw as ApprovalStatus) : 'invalid';
}

/** A bounded integer query parameter: absent → `fallback`; out of range → clamped; junk → undefined. */
export function parseBoundedInt(raw: string | null, fallback: number, min: number, max: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,10}$/.test(raw)) return undefined;
  return Math.min(Math.max(Number(raw), min), max);
}
