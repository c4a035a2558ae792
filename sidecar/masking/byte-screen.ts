// Screening raw bytes for where a detector could match, before anything is decoded. Bulk output
// (COPY TO: one message per row, hundreds per received chunk) would otherwise pay for decoding
// and running every detector on every row. A screen finds, in the whole chunk at once, the next
// place a detector could possibly match (a needle its matches must contain, a long enough digit
// run), so rows before that place are passed on untouched and only rows that overlap it are
// scanned for real.
//
// Screens are conservative: a real match of the detector in a UTF-8 text always lies in a range
// its screen reports (needles and digits are ASCII, and UTF-8 never uses ASCII byte values inside
// multi-byte characters). Detectors without a screen (custom regexes) make every row a candidate.

/** A byte range where the detector might match. */
export interface Candidate {
  start: number;
  end: number;
}

/** The first candidate range starting at or after `from`, or null when the rest has none. */
export type CandidateSearch = (bytes: Buffer, from: number) => Candidate | null;

export interface ByteScreen {
  next: CandidateSearch;
  /**
   * A closer look at one candidate, clipped to the value being screened (so bytes around the
   * value cannot change what is seen): false means the detector cannot match there.
   */
  confirm?: (text: string) => boolean;
}

/**
 * Occurrences of one ASCII needle (Buffer.indexOf: native and fast over a whole chunk). A short
 * needle whose first byte is common (`eyJ`: every `e` of a hex digest starts a comparison) is
 * found faster through its rarest byte, `anchor`, searched alone and then checked in place.
 */
export function needleScreen(needle: string, anchor?: string): ByteScreen {
  const bytes = Buffer.from(needle, 'latin1');
  const at = anchor === undefined ? -1 : needle.indexOf(anchor);
  if (anchor !== undefined && (anchor.length !== 1 || at < 0)) throw new Error(`needle screen: "${anchor}" is not one byte of "${needle}"`);
  const anchorByte = at < 0 ? 0 : bytes[at]!;
  return {
    next(buf, from) {
      if (at < 0) {
        const found = buf.indexOf(bytes, from);
        return found < 0 ? null : { start: found, end: found + bytes.length };
      }
      for (let p = buf.indexOf(anchorByte, from + at); p >= 0; p = buf.indexOf(anchorByte, p + 1)) {
        const start = p - at;
        if (start + bytes.length <= buf.length && buf.compare(bytes, 0, bytes.length, start, start + bytes.length) === 0) return { start, end: start + bytes.length };
      }
      return null;
    },
  };
}

/**
 * Occurrences of an ASCII word in any mix of upper and lower case. The chunk is read once as a
 * one-byte string and searched by a caseless regex (several times faster than a byte loop in JS);
 * the string is kept while the same chunk is screened.
 */
export function caselessScreen(word: string): ByteScreen {
  const re = new RegExp(word.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`), 'gi');
  let lastChunk: Buffer | undefined;
  let text = '';
  return {
    next(buf, from) {
      if (buf !== lastChunk) {
        lastChunk = buf;
        text = buf.toString('latin1');
      }
      re.lastIndex = from;
      const m = re.exec(text);
      return m === null ? null : { start: m.index, end: m.index + m[0].length };
    },
  };
}

/**
 * Runs of at least `minDigits` ASCII digits in which single `separators` may stand between
 * digits: the whole run is the candidate. Such a run lies inside a stretch of at least
 * `minDigits` consecutive bytes that are all digits or separators, so the search looks for those
 * stretches the way Boyer–Moore looks for words: it tests the last byte of the next window and
 * reads backwards, and the first byte that is neither moves the window past it. Most bytes of
 * most text are never read; only whole stretches are checked digit by digit.
 */
export function digitRunScreen(minDigits: number, separators: string): ByteScreen {
  // 0: neither, 1: digit, 2: separator; `other` is 1 for neither.
  const kind = new Uint8Array(256);
  for (let c = 48; c <= 57; c++) kind[c] = 1;
  for (const c of Buffer.from(separators, 'latin1')) kind[c] = 2;
  const other = kind.map((k) => (k === 0 ? 1 : 0));
  const next: CandidateSearch = (buf, from) => {
    const n = buf.length;
    let i = from; // no stretch of interest starts before i
    window: while (i + minDigits <= n) {
      // Is buf[i, i + minDigits) all digits or separators? Read it from the end, four bytes at a
      // time into a bit mask (no branch per byte: on digit-heavy text the branches are what cost).
      let q = i + minDigits - 1;
      while (q - 3 >= i) {
        const m = other[buf[q - 3]!]! | (other[buf[q - 2]!]! << 1) | (other[buf[q - 1]!]! << 2) | (other[buf[q]!]! << 3);
        if (m !== 0) {
          i = q - 3 + (31 - Math.clz32(m)) + 1; // just past the last byte that is neither
          continue window;
        }
        q -= 4;
      }
      while (q >= i && kind[buf[q]!] !== 0) q--;
      if (q >= i) {
        i = q + 1;
        continue;
      }
      // A stretch starts at i: find its end, then the runs of single-separated digits in it.
      let end = i + minDigits;
      while (end < n && kind[buf[end]!] !== 0) end++;
      let runStart = -1;
      let digits = 0;
      for (let j = i; j < end; j++) {
        if (kind[buf[j]!] === 1) {
          if (runStart < 0) runStart = j;
          digits++;
          if (digits >= minDigits) {
            // The candidate is the whole run: extend it to its last digit.
            let k = j + 1;
            while (k < end && (kind[buf[k]!] === 1 || (k + 1 < end && kind[buf[k + 1]!] === 1 && kind[buf[k - 1]!] === 1))) k++;
            return { start: runStart, end: k };
          }
        } else if (!(digits > 0 && j + 1 < end && kind[buf[j + 1]!] === 1 && kind[buf[j - 1]!] === 1)) {
          // Not a single separator between digits: the run (if any) ends here.
          runStart = -1;
          digits = 0;
        }
      }
      i = end + 1;
    }
    return null;
  };
  return { next };
}

/**
 * The same candidates, each looked at more closely by `confirm` (given the candidate's text within
 * the value, read as latin1: exact for ASCII candidates). Sound when every match of the detector
 * lies inside one candidate and `confirm` says yes whenever the finder could find it there, as for
 * card numbers: a card lies inside one digit run, and the finder looks only at that run (and, to
 * reject it, at the bytes touching it, which `confirm` does not need to see).
 */
export function confirmedScreen(inner: ByteScreen, confirm: (text: string) => boolean): ByteScreen {
  return { next: inner.next, confirm };
}

/**
 * One received chunk, screened lazily for a set of screens: `mayMatch` answers for a range of it,
 * searching each screen forward only as far as needed (each screen passes over the chunk about
 * once in all). Valid while the chunk's bytes are unchanged: reset for every chunk.
 */
export class ChunkScreen {
  private chunk: Buffer | undefined;
  private readonly next: (Candidate | null | undefined)[];
  /** Where each screen's cached search began. */
  private readonly searchedFrom: number[];
  /** After a full check at `clearFrom`, no candidate starts before `clearBefore`. */
  private clearFrom = 0;
  private clearBefore = -1;

  /**
   * `screens` holds one entry per screen; `undefined` (a detector without one) matches everywhere.
   * Views longer than `maxViewBytes` always count as candidates (the masker treats those whole).
   */
  constructor(
    private readonly screens: readonly (ByteScreen | undefined)[],
    private readonly maxViewBytes = Infinity,
  ) {
    this.next = screens.map(() => undefined);
    this.searchedFrom = screens.map(() => 0);
  }

  reset(chunk: Buffer): void {
    this.chunk = chunk;
    this.next.fill(undefined);
    this.searchedFrom.fill(0);
    this.clearBefore = -1;
  }

  /** Whether the current chunk holds `view` (a slice of it, e.g. one message of it). */
  holds(view: Buffer): boolean {
    const c = this.chunk;
    return c !== undefined && view.buffer === c.buffer && view.byteOffset >= c.byteOffset && view.byteOffset + view.length <= c.byteOffset + c.length;
  }

  /**
   * False when no screen has a candidate overlapping `view`; true for a view the chunk does not
   * hold (a message reassembled from several chunks): nothing is promised about it.
   */
  mayMatch(view: Buffer): boolean {
    if (!this.holds(view)) return true;
    const start = view.byteOffset - this.chunk!.byteOffset;
    return this.mayMatchRange(this.chunk!, start, start + view.length);
  }

  /** The same for `chunk[start, end)`; true for any other buffer than the screened chunk. */
  mayMatchRange(chunk: Buffer, start: number, end: number): boolean {
    if (chunk !== this.chunk || end - start > this.maxViewBytes) return true;
    // Rows before the nearest known candidate are cleared without asking each screen again.
    if (start >= this.clearFrom && end <= this.clearBefore) return false;
    this.clearBefore = -1;
    for (let i = 0; i < this.screens.length; i++) {
      const screen = this.screens[i];
      if (screen === undefined) return true;
      let c = this.next[i];
      // Candidates are found in order; one that ends before this range can no longer matter.
      // A search that began after this range's start may have cut a candidate short: redo it.
      if (c === undefined || (c !== null && c.end <= start) || start < this.searchedFrom[i]!) {
        this.next[i] = c = screen.next(chunk, start);
        this.searchedFrom[i] = start;
      }
      // Every candidate overlapping the range, unless a closer look clears it within the range.
      while (c !== null && c.start < end) {
        if (!screen.confirm) return true;
        if (screen.confirm(chunk.toString('latin1', Math.max(c.start, start), Math.min(c.end, end)))) return true;
        // Cleared here. One that reaches past the range stays for the ranges it reaches into;
        // otherwise the search goes on from its end (and is remembered, not repeated).
        if (c.end > end) break;
        this.searchedFrom[i] = c.end;
        this.next[i] = c = screen.next(chunk, c.end);
      }
    }
    // Every cache is now valid from `start` on: until the nearest cached candidate, nothing waits.
    let nearest = Infinity;
    for (const c of this.next) if (c) nearest = Math.min(nearest, c.start);
    this.clearFrom = start;
    this.clearBefore = nearest;
    return false;
  }
}
