// Masking: detectors, strategies and the per-result column masker protocol adapters call per
// value. Nothing here knows a wire format: value formats belong to each protocol adapter.
export { compileDetectors, findSensitive, BUILTIN_DETECTOR_NAMES, type Detector, type Match } from './detectors.js';
export { luhnValid } from './card-numbers.js';
export { applyStrategy, keyedHash, partial, redact, REDACTED } from './strategies.js';
export {
  planResultMasking,
  DEFAULT_MAX_VALUE_BYTES,
  OVERSIZED,
  type ResultMasker,
  type ResultColumn,
  type MaskResult,
  type MaskingOptions,
} from './result-masker.js';
export { compileColumnPattern, columnMatches, columnPatternProblem, type ColumnPattern, type ColumnTable } from './column-patterns.js';
export { maskJsonText } from './json-text-masking.js';
export { derivedStrategy, strongestColumnStrategy, isOpaqueRelation, type SourceRelation } from './derived-columns.js';
