// The text channels of the server's replies that are not rows: ErrorResponse and NoticeResponse
// fields, ParameterStatus values and NotificationResponse payloads. Each can echo a value the
// statement read (`SELECT email::int` → `invalid input syntax for type integer: "ada@…"`,
// `set_config('application_name', email, false)`, `pg_notify('c', email)`, `RAISE NOTICE '%',
// email`, `Failing row contains (…)`), so while masking applies each passes the masker:
//
// 1. Detectors run over every field that can carry text (all but severity, SQLSTATE, positions
//    and the server's own source location).
// 2. While column rules apply, detectors are not enough (a `partial` or custom column holds data
//    no detector recognises), and no field of these messages says which column a value came from.
//    So a value the server echoes is shown only if the client itself sent it: in the message,
//    every quoted span (`"…"`) whose text does not occur verbatim in the statement being answered
//    is replaced by `[REDACTED]` (the server quotes the values it puts in messages). Detail, hint,
//    context and internal query quote values without marking them (`Failing row contains (…)`,
//    `JSON data, line 1: …`), and text raised by user code (a PL/pgSQL RAISE or ASSERT), a
//    ParameterStatus value that can hold free text and a notification payload are computed
//    whole: each is shown only if it occurs verbatim in the statement being answered. Object
//    names (schema, table, column, type, constraint fields) are metadata and pass. A message that answers no statement (an asynchronous
//    notification from another session) has no statement to compare with: its echoes are redacted.
import type { ResultMasker } from '../../masking/index.js';
import { REDACTED } from '../../masking/index.js';
import { BodyReader, MessageBuilder } from './message-framer.js';

export interface EchoContext {
  /** The session's detectors over one textual column (the session's text masker, connection-session.ts); null: none. */
  detectors: ResultMasker | null;
  /** Whether column rules apply to this session (then echoes are withheld, rule 2). */
  columnRules: boolean;
  /** The text of the statement this message answers, when known. */
  statement?: string;
}

export interface Masked {
  message: Buffer;
  masked: number;
}

/**
 * A fast-path FunctionCallResponse names neither a type nor a column: its value cannot be
 * inspected, so while masking applies it is withheld (a NULL result), unless it already is NULL.
 */
export function withheldFunctionResult(body: Buffer): Masked | null {
  if (body.length >= 4 && body.readInt32BE(0) === -1) return null;
  return { message: WITHHELD_FUNCTION_RESULT, masked: 1 };
}

const WITHHELD_FUNCTION_RESULT = new MessageBuilder(0x56).int32(-1).build();

/** Fields that never carry data: severity, SQLSTATE, positions, the server's source location. */
const STRUCTURAL_FIELDS = new Set(['S', 'V', 'C', 'P', 'p', 'F', 'L', 'R']);
/** Fields whose whole text is computed by user code when the message was RAISEd. */
const RAISED_FIELDS = new Set(['M', 'D', 'H']);
/**
 * Fields whose text quotes values without marking them (`Failing row contains (…)`, `JSON data,
 * line 1: …` in the context, an internal query): echoes as a whole while column rules apply.
 */
const WHOLE_ECHO_FIELDS = new Set(['D', 'H', 'W', 'q']);
/** ParameterStatus values the server validates against a fixed vocabulary (no free text). */
const VOCABULARY_SETTINGS = new Set([
  'client_encoding',
  'server_encoding',
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'session_authorization',
  'integer_datetimes',
  'is_superuser',
  'server_version',
  'standard_conforming_strings',
  'in_hot_standby',
  'default_transaction_read_only',
  'scram_iterations',
]);

/** ErrorResponse/NoticeResponse fields in order (type letter, value). */
export function readFieldList(body: Buffer): [string, string][] {
  const r = new BodyReader(body);
  const out: [string, string][] = [];
  for (;;) {
    const type = r.byte();
    if (type === 0) break;
    out.push([String.fromCharCode(type), r.cstring()]);
  }
  r.expectEnd('ErrorResponse');
  return out;
}

/**
 * Masks an ErrorResponse or NoticeResponse body (`code` is its type byte). Returns the fields as
 * they go to the client (for the span's error text) and the rewritten message, or the same fields
 * and null when nothing changed.
 */
export function maskNoticeFields(code: number, body: Buffer, ctx: EchoContext): { fields: [string, string][]; rewritten: Masked | null } {
  const fields = readFieldList(body);
  const raised = ctx.columnRules && fields.some(([t, v]) => t === 'W' && /\bat (?:RAISE|ASSERT)\b/.test(v));
  let masked = 0;
  for (const field of fields) {
    const [type, value] = field;
    if (STRUCTURAL_FIELDS.has(type)) continue;
    let v = value;
    if (ctx.columnRules) {
      const whole = WHOLE_ECHO_FIELDS.has(type) || (raised && RAISED_FIELDS.has(type));
      const r = whole ? wholeEcho(v, ctx.statement) : type === 'M' ? quotedEchoes(v, ctx.statement, false) : { text: v, masked: 0 };
      v = r.text;
      masked += r.masked;
    }
    const d = detect(v, ctx.detectors);
    v = d.text;
    masked += d.masked;
    field[1] = v;
  }
  if (masked === 0) return { fields, rewritten: null };
  const b = new MessageBuilder(code);
  for (const [type, value] of fields) b.byte(type.charCodeAt(0)).cstring(value.replaceAll('\0', ''));
  return { fields, rewritten: { message: b.byte(0).build(), masked } };
}

/** ParameterStatus: name and value; the value of a free-text setting is an echo. */
export function maskParameterStatus(body: Buffer, ctx: EchoContext): Masked | null {
  const r = new BodyReader(body);
  const name = r.cstring();
  const value = r.cstring();
  let masked = 0;
  let v = value;
  if (ctx.columnRules && !VOCABULARY_SETTINGS.has(name)) {
    const e = wholeEcho(v, ctx.statement);
    v = e.text;
    masked += e.masked;
  }
  const d = detect(v, ctx.detectors);
  masked += d.masked;
  if (masked === 0) return null;
  return { message: new MessageBuilder(0x53).cstring(name).cstring(d.text.replaceAll('\0', '')).build(), masked };
}

/** NotificationResponse: sender pid, channel, payload; channel and payload are echoes. */
export function maskNotification(body: Buffer, ctx: EchoContext): Masked | null {
  const r = new BodyReader(body);
  const pid = r.int32();
  let masked = 0;
  const texts = [r.cstring(), r.cstring()].map((value) => {
    let v = value;
    if (ctx.columnRules) {
      const e = wholeEcho(v, ctx.statement);
      v = e.text;
      masked += e.masked;
    }
    const d = detect(v, ctx.detectors);
    masked += d.masked;
    return d.text.replaceAll('\0', '');
  });
  if (masked === 0) return null;
  return { message: new MessageBuilder(0x41).int32(pid).cstring(texts[0]!).cstring(texts[1]!).build(), masked };
}

function detect(text: string, detectors: ResultMasker | null): { text: string; masked: number } {
  if (!detectors || text.length === 0) return { text, masked: 0 };
  const r = detectors.maskText(0, text);
  return { text: r.value, masked: r.masked };
}

/** The whole text is an echo: shown only if the client sent it (it occurs in the statement). */
export function wholeEcho(text: string, statement: string | undefined): { text: string; masked: number } {
  if (text.length === 0 || (statement !== undefined && statement.includes(text))) return { text, masked: 0 };
  return { text: REDACTED, masked: 1 };
}

/**
 * Quoted spans (`"…"`, and `(…)` when `parens`) that do not occur in the statement are replaced.
 * Parentheses nest as the server prints them (`Failing row contains (1, (2,3))`).
 */
export function quotedEchoes(text: string, statement: string | undefined, parens: boolean): { text: string; masked: number } {
  if (!text.includes('"') && !(parens && text.includes('('))) return { text, masked: 0 };
  // An unmatched quote or parenthesis would leave what follows it unexamined: withhold it all.
  if (!balanced(text, parens)) return { text: REDACTED, masked: 1 };
  let out = '';
  let masked = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    let end = -1;
    if (c === '"') {
      end = text.indexOf('"', i + 1);
    } else if (parens && c === '(') {
      let depth = 0;
      for (let j = i; j < text.length; j++) {
        if (text[j] === '(') depth++;
        else if (text[j] === ')' && --depth === 0) {
          end = j;
          break;
        }
      }
    }
    if (end < 0) {
      out += c;
      i++;
      continue;
    }
    const inner = text.slice(i + 1, end);
    if (inner.length === 0 || (statement !== undefined && statement.includes(inner))) {
      out += text.slice(i, end + 1);
    } else {
      out += c + REDACTED + text[end];
      masked++;
    }
    i = end + 1;
  }
  return { text: out, masked };
}

/** Whether every quote and (when `parens`) parenthesis is closed; otherwise a value could hide past it. */
function balanced(text: string, parens: boolean): boolean {
  let quotes = 0;
  let depth = 0;
  for (const ch of text) {
    if (ch === '"') quotes++;
    else if (parens && ch === '(') depth++;
    else if (parens && ch === ')') depth = Math.max(0, depth - 1);
  }
  return quotes % 2 === 0 && depth === 0;
}
