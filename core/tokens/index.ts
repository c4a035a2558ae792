// Public API of token verification, shared by the sidecar (CI and pod tokens) and the broker
// (approvers' ID tokens, sidecars' ServiceAccount tokens): one verifier, one set of checks.
export { TokenVerifier, type VerifiedToken, type TokenVerifierOptions } from './token-verifier.js';
export { IdentityError, type IdentityErrorCode } from './identity-error.js';
export type { RemoteJwksOptions } from './issuer-keys.js';
export { ACCEPTED_ALGORITHMS } from './signing-algorithms.js';
export { MAX_TOKEN_BYTES } from './token-size.js';
export { discoveryUrlOf } from './issuer-discovery.js';
