// Parses the credentials file (YAML, or JSON — a subset of YAML):
//
//   targets:
//     orders-db: { username: app, password: s3cret }
//
// Pure. Every error message names a position or a key, never a value: parser messages are not
// passed through because they quote the offending source line, which may hold a password.
import { parseDocument } from 'yaml';
import { SecretCredential } from './credential-source.js';

export class CredentialsDocumentError extends Error {
  override readonly name = 'CredentialsDocumentError';
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ENTRY_FIELDS = new Set(['username', 'password']);

function parseEntry(key: string, value: unknown): SecretCredential {
  if (!isPlainObject(value)) throw new CredentialsDocumentError(`targets.${key} must be a map with username and password`);
  for (const field of Object.keys(value)) {
    if (!ENTRY_FIELDS.has(field)) throw new CredentialsDocumentError(`targets.${key} has an unknown field "${field}"`);
  }
  const { username, password } = value;
  if (typeof username !== 'string' || username === '') throw new CredentialsDocumentError(`targets.${key}.username must be a non-empty string`);
  if (typeof password !== 'string') throw new CredentialsDocumentError(`targets.${key}.password must be a string (quote it)`);
  return new SecretCredential(username, password);
}

/** Credential entries by key. */
export function parseCredentialsDocument(text: string): Map<string, SecretCredential> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const reason = problem.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'syntax error';
    throw new CredentialsDocumentError(`${reason} at line ${lineOf(text, problem.pos[0])}`);
  }
  const root: unknown = doc.toJS({ maxAliasCount: 0 });
  if (!isPlainObject(root) || !isPlainObject(root['targets'])) throw new CredentialsDocumentError('a top-level "targets" map is required');
  const entries = new Map<string, SecretCredential>();
  for (const [key, value] of Object.entries(root['targets'])) entries.set(key, parseEntry(key, value));
  return entries;
}
