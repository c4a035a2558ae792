// An OAuth request body: application/x-www-form-urlencoded (RFC 6749 §3.2), each parameter at most
// once unless the spec lets it repeat (RFC 8693's resource and audience), each value bounded. Pure;
// problems are invalid_request, never an echo of the value.
import { OAuthError } from './oauth-error.js';

/** Names and values read from a form; repeated parameters only where the caller allowed it. */
export type FormParameters = Map<string, string[]>;

export function isFormContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

export interface FormRules {
  /** Parameters that may appear more than once. */
  repeatable?: ReadonlySet<string>;
  /** Longest value, in characters, per parameter name; others get `defaultMaxChars`. */
  maxChars?: Readonly<Record<string, number>>;
  defaultMaxChars: number;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseForm(contentType: string | undefined, body: Buffer, rules: FormRules): FormParameters {
  if (!isFormContentType(contentType)) throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    throw new OAuthError('invalid_request', 'the body is not valid UTF-8');
  }
  const form: FormParameters = new Map();
  for (const [name, value] of new URLSearchParams(text)) {
    const max = rules.maxChars?.[name] ?? rules.defaultMaxChars;
    if (value.length > max) throw new OAuthError('invalid_request', `parameter ${printableName(name)} is longer than ${max} characters`);
    const values = form.get(name);
    if (values === undefined) form.set(name, [value]);
    else if (rules.repeatable?.has(name)) values.push(value);
    else throw new OAuthError('invalid_request', `parameter ${printableName(name)} is given more than once`);
  }
  return form;
}

/** A parameter's single value; an empty value counts as absent (RFC 6749 §3.1). */
export function single(form: FormParameters, name: string): string | undefined {
  const value = form.get(name)?.[0];
  return value === undefined || value === '' ? undefined : value;
}

export function required(form: FormParameters, name: string): string {
  const value = single(form, name);
  if (value === undefined) throw new OAuthError('invalid_request', `parameter ${name} is required`);
  return value;
}

/** A parameter name from the client, fit for an error description. */
function printableName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_.-]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}
