// The raw token a client presented, kept with its verified principal for one purpose: the sidecar
// exchanges it for the target login on the job's behalf (RFC 8693 delegation). A bearer secret:
// the value sits in a private field, so spreading, JSON, inspect and log enumeration never show it.
import { inspect } from 'node:util';

export class PresentedToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The token itself, for the exchange request only. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  toString(): string {
    return 'PresentedToken([REDACTED])';
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
