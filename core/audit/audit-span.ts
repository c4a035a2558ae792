// One audit span while it is open: attributes, events and status collected from the pipeline;
// at its end, its end time and status are fixed and it goes on to be sealed (chain, hash,
// encoding) and written. Protocol-agnostic; no I/O of its own.
import { AttributeSet, boundedAttributes, type Attributes } from './attribute-values.js';
import type { EndedSpan, SpanLink } from './otlp-span-json.js';
import { newSpanId, nowUnixNano } from './span-ids.js';

/** Takes ended spans, in the order they ended, to be sealed and written. */
export interface EndedSpanSink {
  add(span: EndedSpan): void;
}

/** Events kept per span; more would make one span's record unbounded. */
export const MAX_EVENTS_PER_SPAN = 256;
/** Links kept per span. */
const MAX_LINKS_PER_SPAN = 8;
/** Longest status message kept. */
const MAX_STATUS_MESSAGE_CHARS = 1024;

export class AuditSpan {
  readonly spanId = newSpanId();
  private readonly span: EndedSpan;
  private droppedEvents = 0;
  private ended = false;

  constructor(
    readonly traceId: string,
    name: string,
    kind: number,
    attrs: Attributes | AttributeSet,
    parentSpanId: string | undefined,
    private readonly sealer: EndedSpanSink,
    start: string = nowUnixNano(),
    links?: readonly SpanLink[],
  ) {
    this.span = {
      traceId,
      spanId: this.spanId,
      parentSpanId,
      name,
      kind,
      startTimeUnixNano: start,
      endTimeUnixNano: start,
      // A set's values are shared, not copied: this span's own attributes start empty.
      attributes: attrs instanceof AttributeSet ? {} : boundedAttributes(attrs),
      ...(attrs instanceof AttributeSet ? { baseAttributes: attrs.values } : {}),
      events: [],
      status: { code: 0 },
      ...(links?.length ? { links: links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })) } : {}),
    };
  }

  setAttributes(attrs: Attributes): void {
    if (!this.ended) Object.assign(this.span.attributes, boundedAttributes(attrs, this.span.attributes, this.span.baseAttributes));
  }

  /**
   * Links this open span to another span learnt after it started (the token exchange's span of
   * the login a session used); at most a few, each once.
   */
  addLink(link: SpanLink): void {
    if (this.ended) return;
    const links = this.span.links ?? [];
    if (links.length >= MAX_LINKS_PER_SPAN || links.some((l) => l.traceId === link.traceId && l.spanId === link.spanId)) return;
    this.span.links = [...links, { traceId: link.traceId, spanId: link.spanId }];
  }

  addEvent(name: string, attrs?: Attributes): void {
    if (this.ended) return;
    if (this.span.events.length >= MAX_EVENTS_PER_SPAN) {
      this.droppedEvents++;
      return;
    }
    this.span.events.push({ name, timeUnixNano: nowUnixNano(), attributes: boundedAttributes(attrs) });
  }

  /** Ends the span; `error` (safe to show, no secrets) sets status ERROR. Later calls are no-ops. */
  end(status?: { error?: string }): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    if (status?.error !== undefined) span.status = { code: 2, message: status.error.slice(0, MAX_STATUS_MESSAGE_CHARS) };
    span.endTimeUnixNano = nowUnixNano();
    // Not silent: a span that had to drop events says how many.
    if (this.droppedEvents > 0) span.attributes['sidegate.audit.dropped_events'] = this.droppedEvents;
    this.sealer.add(span);
  }
}
