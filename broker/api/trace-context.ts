// The held statement's span as W3C Trace Context names it (`traceparent`, version 00): what a
// sidecar sends with its request so that the broker's decision spans can link to it. Validated
// strictly: the value ends up in the broker's store and in its evidence.
import { z } from 'zod';

export interface SpanContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a traceparent names, or undefined when it is not a valid version-00 one. */
export function spanContextOf(traceparent: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(traceparent);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]! };
}

/** A sampled span's traceparent (audit spans are always recorded); undefined for invalid ids. */
export function traceparentOf(span: SpanContext): string | undefined {
  const value = `00-${span.traceId}-${span.spanId}-01`;
  return spanContextOf(value) ? value : undefined;
}

export const TraceparentSchema = z.string().max(55).refine((v) => spanContextOf(v) !== undefined, 'must be a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>, ids not all zero');
