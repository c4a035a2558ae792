// Attribute values as the audit trail accepts them. Callers bring semantic-convention and
// sidegate.* attributes; this only bounds their size and drops values OTLP cannot carry
// faithfully, so that what is hashed is exactly what a collector receives.

export type AttributeValue = string | number | boolean | readonly string[] | readonly number[] | readonly boolean[];
export type Attributes = Readonly<Record<string, AttributeValue | undefined | null>>;
/** A value as handed to the OTel SDK (fresh, mutable arrays). */
export type BoundedValue = string | number | boolean | string[] | number[] | boolean[];

/** Longest string value kept (a longer one is cut and marked); keeps every span record bounded. */
export const MAX_ATTRIBUTE_STRING_CHARS = 8192;
/** Most elements kept in an array value. */
export const MAX_ATTRIBUTE_ARRAY_ITEMS = 64;
/** Most attributes a caller may put on one span (the chain adds four more). */
export const MAX_ATTRIBUTES_PER_SPAN = 120;

const TRUNCATION_MARK = '…[truncated]';

function boundString(s: string): string {
  return s.length <= MAX_ATTRIBUTE_STRING_CHARS ? s : s.slice(0, MAX_ATTRIBUTE_STRING_CHARS - TRUNCATION_MARK.length) + TRUNCATION_MARK;
}

/**
 * One value, bounded. Non-finite numbers become strings: OTLP/JSON would turn them into null and
 * the exported span would no longer match its hash.
 */
export function boundedValue(v: AttributeValue | undefined | null): BoundedValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return boundString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    const items = (v as readonly unknown[]).slice(0, MAX_ATTRIBUTE_ARRAY_ITEMS).filter((x) => x !== undefined && x !== null);
    if (items.every((x) => typeof x === 'string')) return (items as string[]).map(boundString);
    if (items.every((x) => typeof x === 'number' && Number.isFinite(x))) return [...(items as number[])];
    if (items.every((x) => typeof x === 'boolean')) return [...(items as boolean[])];
    // Mixed arrays are invalid OTel attribute values; keep them readable as strings.
    return items.map((x) => boundString(String(x)));
  }
  return undefined;
}

/**
 * A bounded copy: nullish values dropped, and no more than MAX_ATTRIBUTES_PER_SPAN distinct keys
 * together with `existing` and `shared` (the span's current own and shared attributes;
 * overwriting a key is always allowed).
 */
export function boundedAttributes(
  attrs: Attributes | undefined,
  existing: Readonly<Record<string, unknown>> = NONE,
  shared: Readonly<Record<string, unknown>> = NONE,
): Record<string, BoundedValue> {
  const out: Record<string, BoundedValue> = {};
  if (attrs === undefined) return out;
  // Runs several times for every command: no entry tuples, the count taken only when needed.
  let count = -1;
  for (const k of Object.keys(attrs)) {
    if (k === '') continue;
    const v = attrs[k];
    const b = typeof v === 'string' && v.length <= MAX_ATTRIBUTE_STRING_CHARS ? v : boundedValue(v);
    if (b === undefined) continue;
    if (!hasOwn(existing, k) && !hasOwn(shared, k) && !hasOwn(out, k)) {
      // Keys in both `existing` and `shared` are counted twice: the bound errs on the safe side.
      if (count < 0) count = Object.keys(existing).length + Object.keys(shared).length + Object.keys(out).length;
      if (count >= MAX_ATTRIBUTES_PER_SPAN) continue;
      count++;
    }
    out[k] = b;
  }
  return out;
}

const NONE: Readonly<Record<string, unknown>> = Object.freeze({});
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Attributes bounded once and shared by many spans: a proxy starts every run of one statement
 * with the same dozen attributes (identity, target, statement shape, decision), and bounding and
 * copying them key by key for each command is work the audit path need not repeat. Each span
 * keeps the set's values as they are (never mutated) beside its own attributes, which override
 * them; the sealer merges the two.
 */
export class AttributeSet {
  readonly values: Readonly<Record<string, BoundedValue>>;
  constructor(attrs: Attributes) {
    this.values = boundedAttributes(attrs);
  }
}

