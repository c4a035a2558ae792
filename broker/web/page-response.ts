// How every answer of the approval page goes out: HTML or a redirect, with headers that allow no
// script, no framing, no referrer and no caching (pages name identities and statements).
import type { ServerResponse } from 'node:http';
import { STYLE_HASH } from './page-layout.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  setHeaders(res, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)) });
  res.writeHead(status);
  res.end(html);
}

/** 303 See Other: after a form, the browser GETs the next page (a reload does not re-submit). */
export function redirect(res: ServerResponse, location: string): void {
  setHeaders(res, { location, 'content-length': '0' });
  res.writeHead(303);
  res.end();
}

function setHeaders(res: ServerResponse, own: Record<string, string>): void {
  for (const [name, value] of Object.entries({ ...SECURITY_HEADERS, ...own })) res.setHeader(name, value);
}
