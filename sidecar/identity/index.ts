// Public API of identity: the pod's token file and target credentials. Token verification itself
// is core/tokens/, which the broker shares.
export { TokenFile } from './token-file.js';
export {
  SecretCredential,
  CredentialError,
  credentialSourceFor,
  type CredentialSource,
  type TargetCredential,
  type AvailableSources,
} from './credential-source.js';
export { CredentialsFile, type CredentialsFileOptions } from './credentials-file.js';
