// The held statement's span as W3C Trace Context names it (`traceparent`, version 00): what a
// sidecar sends with its request so that the broker's decision spans can link to it. Validated
// strictly: the value ends up in the broker's store and in its evidence.
import { z } from 'zod';
import { spanContextOf, traceparentOf as formatTraceparent, type SpanContext } from '../../core/audit/index.js';

export { spanContextOf, type SpanContext };

/** A sampled span's traceparent (audit spans are always recorded); undefined for invalid ids. */
export function traceparentOf(span: SpanContext): string | undefined {
  const value = formatTraceparent(span);
  return spanContextOf(value) ? value : undefined;
}

export const TraceparentSchema = z.string().max(55).refine((v) => spanContextOf(v) !== undefined, 'must be a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>, ids not all zero');
