// E-mail addresses inside text, found by scanning out from each `@` rather than with a regex: the
// obvious regex (`[chars]+@…`) retries from every start position of a long run of local-part
// characters, which is quadratic on a value like `aaaa…` (1 MiB of it never finishes). Scanning
// left and right from `@` stops at the previous/next `@`, so every character is visited a bounded
// number of times.

const isLocalChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46;
const isAlpha = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** Calls `emit` for each address found, in order, non-overlapping. */
export function findEmailAddresses(text: string, emit: (start: number, end: number) => void): void {
  let from = 0;
  for (let at = text.indexOf('@', from); at !== -1; at = text.indexOf('@', from)) {
    from = at + 1;
    let start = at;
    while (start > 0 && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === 46) start++; // a local part does not start with a dot
    if (start === at) continue;
    let scanEnd = at + 1;
    while (scanEnd < text.length && isDomainChar(text.charCodeAt(scanEnd))) scanEnd++;
    const end = domainEnd(text, at + 1, scanEnd);
    if (end === -1) continue;
    emit(start, end);
    from = end;
  }
}

/**
 * End of the longest valid domain in text[from, to): dot-separated non-empty labels, at least
 * two, the last one alphabetic and 2+ letters long (so `x@host.com.` ends before the final dot).
 * -1 when there is none.
 */
function domainEnd(text: string, from: number, to: number): number {
  let labelStart = from;
  let labels = 0;
  let best = -1;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) continue;
    if (i === labelStart) break; // empty label: the domain ends before it
    labels++;
    if (labels >= 2 && i - labelStart >= 2 && allAlpha(text, labelStart, i)) best = i;
    labelStart = i + 1;
  }
  return best;
}

function allAlpha(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isAlpha(text.charCodeAt(i))) return false;
  return true;
}
