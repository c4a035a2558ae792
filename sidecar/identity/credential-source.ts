// Where target logins come from. The pipeline asks a CredentialSource for the login of (target,
// principal) and hands it straight to the upstream handshake: the client never sees it and the
// target never sees the client's token.
//
// Sources by CredentialRef:
//   'file'           → CredentialsFile (the embedded default: a file only the sidecar can read)
//   'token-exchange' → RFC 8693 exchange with the webhook's token endpoint. NOT IMPLEMENTED YET:
//                      it plugs in here as another CredentialSource (exchange the principal's
//                      verified token for a short-lived target login, cache until expiry), and
//                      `credentialSourceFor` returns it.
import { inspect } from 'node:util';
import type { CredentialRef, Principal, TargetSpec } from '../../core/vocabulary.js';

/**
 * A target login. SECRET: never log, serialise or put it in a span or an error. `SecretCredential`
 * is the implementation every source returns; its JSON and inspect forms redact the password.
 */
export interface TargetCredential {
  readonly username: string;
  readonly password: string;
}

export interface CredentialSource {
  credentialsFor(target: TargetSpec, principal: Principal): Promise<TargetCredential>;
}

/** Raised when a login cannot be provided; `message` names targets/keys/files, never a password. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';

  constructor(
    readonly code: 'unsupported-source' | 'missing-key' | 'insecure-file' | 'unavailable' | 'invalid',
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

export interface AvailableSources {
  file: CredentialSource;
}

/** The source that serves a target's CredentialRef. */
export function credentialSourceFor(ref: CredentialRef, sources: AvailableSources): CredentialSource {
  switch (ref.source) {
    case 'file':
      return sources.file;
    case 'token-exchange':
      throw unsupportedSource(ref.source);
  }
}

export function unsupportedSource(source: string): CredentialError {
  return new CredentialError('unsupported-source', `credential source "${source}" is not supported yet; use source "file"`);
}
