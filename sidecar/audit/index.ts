export { createAuditTrail, type AuditTrail, type AuditSession, type AuditCommand, type AuditTrailOptions } from './audit-trail.js';
export { verifyChain, canonicalSpan, chainHash, HashChain, CHAIN_ATTR } from './hash-chain.js';
export { DurableExportProcessor } from './durable-export.js';
export { flattenOtlpJson, flattenTraceRequest, type FlatSpan, type FlatValue } from './otlp-json-reader.js';
