// Public API of identity: the pod's token file and target credentials. Token verification itself
// is core/tokens/, which the broker shares.
export { TokenFile } from './token-file.js';
export {
  SecretCredential,
  CredentialError,
  TargetCredentials,
  type ExchangedCredential,
  type CredentialSource,
  type TargetCredential,
} from './credential-source.js';
export { CredentialsFile, type CredentialsFileOptions } from './credentials-file.js';
export { ExchangeCredentials, type ExchangeCredentialsOptions } from './exchange-credentials.js';
