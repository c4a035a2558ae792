// The page's POST bodies: small urlencoded forms (a CSRF token, a verdict, a reason). Anything
// else is refused before it is parsed.
import type { IncomingMessage } from 'node:http';
import { readBoundedBody } from '../../core/http/bounded-body.js';

/** A reason of 2000 characters, percent-encoded at worst 9 bytes each, and the other fields. */
export const MAX_FORM_BYTES = 20 * 1024;

export type FormRead = { ok: true; fields: URLSearchParams } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readForm(req: IncomingMessage): Promise<FormRead> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return { ok: false, status: 415, message: 'forms are sent as application/x-www-form-urlencoded' };
  }
  const read = await readBoundedBody(req, MAX_FORM_BYTES);
  if (!read.ok) return read.reason === 'too-large' ? { ok: false, status: 413, message: 'the form is too large' } : { ok: false, status: 400, message: 'the form could not be read' };
  return { ok: true, fields: new URLSearchParams(read.body.toString('utf8')) };
}
