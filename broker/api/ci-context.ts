// The requester's CI run: defined once in core/tokens/ci-context.ts (the token exchange records
// the same fields); kept here so the broker's API contract still names it.
export { ciContextOf, type CiContext } from '../../core/tokens/ci-context.js';
