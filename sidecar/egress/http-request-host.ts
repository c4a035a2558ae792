// The host an HTTP/1 request names, from the first bytes a client sent: for the audit record of a
// relayed connection only, never for a decision (the client chooses it freely). Pure and bounded:
// reads at most MAX_REQUEST_HEAD_BYTES, only complete lines, and answers undefined — never throws —
// for anything that is not a well-formed request head naming exactly one valid host.
//
// RFC 9112 §3.2.2: an absolute-form target's authority wins over the Host header. Userinfo in it
// (user:password@) is dropped: it may hold a credential.

/** Request heads are read up to this many bytes (what common servers accept). */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;
const MAX_HOST_CHARS = 261; // 253-character name, ':' and a port; also fits a bracketed IPv6 address
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/;
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(:[0-9]{1,5})?$/;

export function httpRequestHost(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, MAX_REQUEST_HEAD_BYTES)).toString('latin1');
  const lines = completeLines(head);
  const requestLine = lines.shift();
  const m = requestLine === undefined ? null : REQUEST_LINE.exec(requestLine);
  if (!m) return undefined;
  const target = m[2]!;
  const absolute = /^https?:\/\/([^/?#]*)/i.exec(target);
  if (absolute) return validHost(absolute[1]!.slice(absolute[1]!.lastIndexOf('@') + 1));

  let host: string | undefined;
  let ended = false;
  for (const line of lines) {
    if (line === '') {
      ended = true;
      break;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || line[0] === ' ' || line[0] === '\t') return undefined; // malformed or obsolete line folding
    if (line.slice(0, colon).toLowerCase() !== 'host') continue;
    if (host !== undefined) return undefined; // two Host headers: a server must reject the request
    host = line.slice(colon + 1).trim();
  }
  // Without the end of the head, a second Host header could still follow.
  if (!ended && host !== undefined && head.length >= MAX_REQUEST_HEAD_BYTES) return undefined;
  return host === undefined ? undefined : validHost(host);
}

/** Lines ended by CRLF (or a bare LF), without their terminator; an unterminated tail is dropped. */
function completeLines(text: string): string[] {
  const parts = text.split('\n');
  parts.pop();
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function validHost(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_HOST_CHARS) return undefined;
  const m = HOST.exec(value);
  if (!m) return undefined;
  if (m[2] !== undefined && Number(m[2].slice(1)) > 65535) return undefined;
  return value.toLowerCase();
}
