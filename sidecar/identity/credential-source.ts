// Where target logins come from. The pipeline asks a CredentialSource for the login of (target,
// principal) and hands it straight to the upstream handshake: the client never sees it and the
// target never sees the client's token.
//
// Sources by CredentialRef, each chosen explicitly by the policy (never one standing in for another):
//   'file'     → CredentialsFile (a file only the sidecar can read: the static fallback)
//   'exchange' → ExchangeCredentials (the pod's token exchanged for a short-lived login, RFC 8693)
import { inspect } from 'node:util';
import type { CredentialRef, Principal, TargetSpec } from '../../core/vocabulary.js';

/**
 * A target login. SECRET: never log, serialise or put it in a span or an error. `SecretCredential`
 * is the implementation every source returns; its JSON and inspect forms redact the password.
 */
export interface TargetCredential {
  readonly username: string;
  readonly password: string;
  /** Set when the token exchange issued it: when it expires and the exchange's span, if it named one. */
  readonly exchanged?: ExchangedCredential;
}

export interface ExchangedCredential {
  expiresAt: string;
  span?: { traceId: string; spanId: string };
}

export interface CredentialSource {
  credentialsFor(target: TargetSpec, principal: Principal): Promise<TargetCredential>;
}

/** Raised when a login cannot be provided; `message` names targets/keys/files, never a password. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';

  constructor(
    /** `refused`: the token exchange refused this identity a credential (an authorization failure). */
    readonly code: 'unsupported-source' | 'missing-key' | 'insecure-file' | 'unavailable' | 'invalid' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The password lives in a private field behind a getter, so it is also absent from
 * `Object.keys`, object spread and structured logging that enumerates properties.
 */
export class SecretCredential implements TargetCredential {
  readonly #password: string;

  constructor(
    readonly username: string,
    password: string,
    readonly exchanged?: ExchangedCredential,
  ) {
    this.#password = password;
  }

  get password(): string {
    return this.#password;
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: '[REDACTED]' };
  }

  toString(): string {
    return `SecretCredential(${this.username})`;
  }

  [inspect.custom](): string {
    return `SecretCredential { username: ${JSON.stringify(this.username)}, password: '[REDACTED]' }`;
  }
}

/** Serves each target from the source its policy names; a source not configured is an error, never another source. */
export class TargetCredentials implements CredentialSource {
  constructor(private readonly sources: { file?: CredentialSource; exchange?: CredentialSource }) {}

  credentialsFor(target: TargetSpec, principal: Principal): Promise<TargetCredential> {
    const source = this.sources[target.credentials.source];
    if (!source) return Promise.reject(unsupportedSource(target.credentials.source));
    return source.credentialsFor(target, principal);
  }
}

export function unsupportedSource(source: string): CredentialError {
  const how = source === 'exchange' ? 'start the sidecar with --exchange-url' : 'start the sidecar with --credentials FILE';
  return new CredentialError('unsupported-source', `credential source "${source}" is not configured in this sidecar; ${how}`);
}
