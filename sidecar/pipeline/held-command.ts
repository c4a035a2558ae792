// What a held command is, exactly: the statement bytes sidegate will forward (after its own
// rewriting) and, for the extended protocol, the Bind parameters and formats — what an approver
// is shown and what the approval is bound to. The binding is a SHA-256 over the session, the
// target and every one of those bytes, so an approval cannot be moved to another statement,
// other parameters or another session. Display is bounded; the hash always covers everything.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';

/** One Bind parameter as shown to an approver. */
export interface HeldParameter {
  /** $n */
  position: number;
  format: 'text' | 'binary';
  /** Type OID declared at Parse; 0 = left to the server to infer. */
  typeOid: number;
  /** Text parameters as text; binary ones, and text that is not UTF-8, as hex. null = SQL NULL. */
  value: string | null;
  /** `value` is hexadecimal (binary format, or text bytes that are not valid UTF-8). */
  hex?: true;
  /** Length of the full value in bytes (the hash covers all of them). */
  bytes: number;
  /** `value` shows only the first MAX_SHOWN_PARAM_BYTES bytes. */
  truncated?: true;
}

/** The Bind part of an extended-protocol execution, as the client sent it. */
export interface BoundParameters {
  values: readonly (Buffer | null)[];
  /** As sent: empty = all text, one = applies to all, else one per parameter. */
  formats: readonly number[];
  /** Declared at Parse (may be shorter than values). */
  types: readonly number[];
  resultFormats: readonly number[];
}

export interface HeldCommandInput {
  sessionId: string;
  target: string;
  /** The statement text exactly as forwarded to the server. */
  sql: Buffer;
  parameters?: BoundParameters;
  /**
   * What else the command runs that its own text does not show (a FETCH runs the query of the
   * cursor it names): shown to the approver and bound by the hash like the statement itself.
   */
  context?: string;
}

/** What goes into the hold request besides who asks and which rule. */
export interface HeldCommand {
  /** The full statement text (never literal-stripped, never cut). */
  command: string;
  /** The statement's bytes are not valid UTF-8: bytes ≥ 0x80 are shown as \xNN. */
  commandEscaped?: true;
  parameters?: HeldParameter[];
  /** Parameters beyond MAX_SHOWN_PARAMS, not listed (but hashed). */
  parametersOmitted?: number;
  /** Result column formats as sent in Bind (0 text, 1 binary). */
  resultFormats?: number[];
  /** What else it runs (HeldCommandInput.context), in full. */
  context?: string;
  /** `sha256:` + hex of the binding (see bindingHash). */
  hash: string;
}

/** Longest shown prefix of one parameter value, in bytes. */
export const MAX_SHOWN_PARAM_BYTES = 256;
/** Most parameters listed one by one. */
export const MAX_SHOWN_PARAMS = 100;

export function heldCommand(input: HeldCommandInput): HeldCommand {
  const utf8 = isUtf8(input.sql);
  const held: HeldCommand = { command: utf8 ? input.sql.toString('utf8') : escapedLatin1(input.sql), hash: bindingHash(input) };
  if (!utf8) held.commandEscaped = true;
  if (input.context !== undefined) held.context = input.context;
  const p = input.parameters;
  if (p) {
    const shown = Math.min(p.values.length, MAX_SHOWN_PARAMS);
    held.parameters = [];
    for (let i = 0; i < shown; i++) held.parameters.push(shownParameter(p, i));
    if (p.values.length > shown) held.parametersOmitted = p.values.length - shown;
    held.resultFormats = [...p.resultFormats];
  }
  return held;
}

/**
 * SHA-256 over a length-prefixed encoding of (session, target, statement bytes, parameter
 * types, formats and values, result formats, context): every field framed, so no two inputs collide by
 * moving bytes from one field to the next.
 */
export function bindingHash(input: HeldCommandInput): string {
  const h = createHash('sha256');
  h.update('sidegate-approval-binding-v1\0');
  field(h, Buffer.from(input.sessionId, 'utf8'));
  field(h, Buffer.from(input.target, 'utf8'));
  field(h, input.sql);
  const p = input.parameters;
  if (!p) {
    h.update(int32(-1));
  } else {
    h.update(int32(p.types.length));
    for (const t of p.types) h.update(int32(t));
    h.update(int32(p.formats.length));
    for (const f of p.formats) h.update(int32(f));
    h.update(int32(p.values.length));
    for (const v of p.values) {
      if (v === null) h.update(int32(-1));
      else field(h, v);
    }
    h.update(int32(p.resultFormats.length));
    for (const f of p.resultFormats) h.update(int32(f));
  }
  if (input.context !== undefined) field(h, Buffer.from(input.context, 'utf8'));
  return `sha256:${h.digest('hex')}`;
}

function shownParameter(p: BoundParameters, i: number): HeldParameter {
  const value = p.values[i]!;
  // The Bind rule: no formats = all text, one = for all, else one each.
  const code = p.formats.length === 0 ? 0 : p.formats.length === 1 ? p.formats[0]! : (p.formats[i] ?? 0);
  const shown: HeldParameter = { position: i + 1, format: code === 1 ? 'binary' : 'text', typeOid: p.types[i] ?? 0, value: null, bytes: 0 };
  if (value === null) return shown;
  shown.bytes = value.length;
  const cut = value.length > MAX_SHOWN_PARAM_BYTES;
  if (cut) shown.truncated = true;
  if (code !== 1 && isUtf8(value)) {
    shown.value = utf8Prefix(value, MAX_SHOWN_PARAM_BYTES).toString('utf8');
  } else {
    shown.value = (cut ? value.subarray(0, MAX_SHOWN_PARAM_BYTES) : value).toString('hex');
    shown.hex = true;
  }
  return shown;
}

/** At most `max` bytes of valid UTF-8 `text`, not ending inside a character. */
function utf8Prefix(text: Buffer, max: number): Buffer {
  if (text.length <= max) return text;
  let end = max;
  // Back off continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
  return text.subarray(0, end);
}

function escapedLatin1(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

function field(h: ReturnType<typeof createHash>, bytes: Buffer): void {
  h.update(int32(bytes.length));
  h.update(bytes);
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n | 0);
  return b;
}
