export * from './model.js';
export { parsePolicy, loadPolicyFile, compileRuleRegex, type LoadedPolicy } from './loader.js';
export { PolicyError, type SourceIssue } from './source-positions.js';
export { Policy, tableMatches, splitAddress } from './policy.js';
export { PolicyDocumentSchema, type PolicyDocument } from './schema.js';
export { parsePolicyCases, loadPolicyCasesFile, runPolicyCases, type PolicyCase, type CaseResult } from './policy-cases.js';
export { policyJsonSchema, policyJsonSchemaText } from './json-schema.js';
export { parseDuration } from './duration.js';
export { MAX_SOURCE_BYTES } from './yaml-source.js';
