// The URNs of the token exchange: the grant type and token types of RFC 8693 §3 we accept, and the
// one token type we issue (ours, since no registered type means "a database credential").
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
/** Subject tokens are JWTs: a pod's ServiceAccount token or a CI OIDC token, either type name. */
export const SUBJECT_TOKEN_TYPES: readonly string[] = [JWT_TOKEN_TYPE, ID_TOKEN_TYPE];
/** What `access_token` holds: a target credential (credential-token.ts). */
export const CREDENTIAL_TOKEN_TYPE = 'urn:sidegate:params:oauth:token-type:target-credential';
/** RFC 8693 resource URIs naming a target: this prefix and the target's name. */
export const TARGET_RESOURCE_PREFIX = 'urn:sidegate:target:';
