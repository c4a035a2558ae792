export { compileDetectors, findSensitive, luhnValid, type Detector, type Match } from './detectors.js';
export { applyStrategy, keyedHash, partial, redact } from './strategies.js';
export { planResultMasking, type ResultMasker, type ResultColumn, type MaskResult } from './result-masker.js';
export { isTextualPgType, maskPgValue } from './postgres-value-format.js';
export { compileColumnPattern, columnMatches } from './column-patterns.js';
