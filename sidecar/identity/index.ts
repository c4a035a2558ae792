export { TokenVerifier, IdentityError, type VerifiedToken, type IdentityErrorCode } from './token-verifier.js';
export { TokenFile } from './token-file.js';
export { CredentialsFile, SecretCredential, type CredentialSource } from './credentials-file.js';
