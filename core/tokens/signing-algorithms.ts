// Only asymmetric JWS algorithms are accepted. `none` would accept anything; HS* would let anyone
// holding the verification key (for a JWKS: the public!) mint tokens — the classic alg-confusion
// attack. The list is explicit so a new algorithm is a reviewed change, not a library default.
export const ACCEPTED_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

export function isAcceptedAlgorithm(alg: unknown): alg is string {
  return typeof alg === 'string' && ACCEPTED_ALGORITHMS.includes(alg);
}
