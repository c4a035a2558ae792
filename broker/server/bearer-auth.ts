// Who is calling the broker: the bearer token names a role. Tokens are compared in constant time
// over their SHA-256 digests, so neither content nor length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

export type BrokerRole = 'admin' | 'requester';

export interface BrokerTokens {
  /** Approvers' CLI: list and decide. */
  adminToken: string;
  /** Sidecars: create, wait, cancel. */
  requesterToken: string;
}

const MIN_TOKEN_LENGTH = 16;

/** Refuses configurations where a role could be guessed or confused; messages never echo tokens. */
export function checkBrokerTokens(tokens: BrokerTokens): void {
  for (const [which, token] of [['admin', tokens.adminToken], ['requester', tokens.requesterToken]] as const) {
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`the approval broker's ${which} token must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
  }
  if (tokensEqual(tokens.adminToken, tokens.requesterToken)) throw new Error("the approval broker's admin and requester tokens must differ");
}

/** The role an `Authorization` header grants, or undefined (→ 401). */
export function roleOf(authorization: string | undefined, tokens: BrokerTokens): BrokerRole | undefined {
  const match = /^Bearer ([^\s]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const presented = match[1]!;
  // Both comparisons always run, so timing does not tell which role a token was close to.
  const admin = tokensEqual(presented, tokens.adminToken);
  const requester = tokensEqual(presented, tokens.requesterToken);
  return admin ? 'admin' : requester ? 'requester' : undefined;
}

function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
