// Public API of identity: token verification, the pod's token file, and target credentials.
export { TokenVerifier, type VerifiedToken, type TokenVerifierOptions } from './token-verifier.js';
export { IdentityError, type IdentityErrorCode } from './identity-error.js';
export type { RemoteJwksOptions } from './issuer-keys.js';
export { ACCEPTED_ALGORITHMS } from './signing-algorithms.js';
export { MAX_TOKEN_BYTES } from './token-size.js';
export { TokenFile } from './token-file.js';
export { FileReadError, type FileProblem } from './reloading-file.js';
export {
  SecretCredential,
  CredentialError,
  credentialSourceFor,
  type CredentialSource,
  type TargetCredential,
  type AvailableSources,
} from './credential-source.js';
export { CredentialsFile, type CredentialsFileOptions } from './credentials-file.js';
