// Public API of the audit trail.
export {
  createAuditTrail,
  DEFAULT_MAX_SPOOL_BYTES,
  type AuditTrail,
  type AuditSession,
  type AuditCommand,
  type AuditTrailOptions,
  type AuditBacklog,
  type Attributes,
  type AttributeValue,
  type SpanLink,
  type ExportStats,
  type UndeliveredReport,
  AttributeSet,
} from './audit-trail.js';
export {
  verifyChain,
  canonicalSpan,
  canonicalJson,
  chainHash,
  HashChain,
  CHAIN_ATTR,
  GENESIS,
  type ExportedSpanLike,
  type ChainVerification,
  type VerifyOptions,
} from './hash-chain.js';
export { nowUnixNano } from './span-ids.js';
export { parseTraceparentHeader, spanContextOf, traceparentOf, type SpanContext } from './trace-context.js';
export { DurableSpool, type SpoolBatch, type SpoolCursor } from './durable-spool.js';
export { SpoolingSink } from './spooling-sink.js';
export { OtlpJsonFileSink } from './otlp-json-file-sink.js';
export { otlpTracesConfig, parseOtlpHeaders, OtlpConfigError, type OtlpTracesConfig, type OtlpProtocol } from './otlp-env.js';
export { resourceFromEnv, parseResourceAttributes, ResourceEnvError } from './otel-resource-env.js';
export { RejectedSpansError } from './export-rejection.js';
export { reportUndelivered, SERVICE_AUDIT_DRAIN_MS } from './undelivered-report.js';
export { flattenOtlpJson, flattenTraceRequest, type FlatSpan, type FlatValue } from './otlp-json-reader.js';
