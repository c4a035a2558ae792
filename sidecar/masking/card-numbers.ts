// Payment card numbers inside text: 13–19 digits, optionally grouped by single spaces or dashes,
// accepted only when the Luhn check passes and the number stands apart from the text around it
// (not glued to a letter or underscore). Without that, one in ten long digit runs inside hex
// digests and tokens (`…a3f4539876543210123b…`) would pass Luhn and be masked as a "card"
// (docs/BENCHMARKS.md, Design measurements).
//
// A plain regex is not enough: `ref 1 4111 1111 1111 1111` is one run of 17 digits whose Luhn
// check fails, yet it ends in a real card number. So a run is cut into its digit groups and every
// window of consecutive groups holding 13–19 digits is tried (longest first), which finds the card
// without starting inside a group (starting mid-group would turn random long numbers into
// "cards"). Work per group is bounded by 19 windows of at most 19 digits: linear overall.

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

export function luhnValid(candidate: string): boolean {
  const compact = candidate.replace(/[ -]/g, '');
  if (compact.length < MIN_DIGITS || compact.length > MAX_DIGITS || !/^[0-9]+$/.test(compact)) return false;
  return luhnDigitsValid(compact);
}

interface DigitGroup {
  /** Character range in the text. */
  start: number;
  end: number;
  /** Range in the run's digit list. */
  firstDigit: number;
  endDigit: number;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isSeparator = (c: number): boolean => c === 32 || c === 45;

/** Calls `emit` for each card number found, in order, non-overlapping. */
export function findCardNumbers(text: string, emit: (start: number, end: number) => void): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    // One run: digit groups joined by exactly one separator.
    const gluedStart = i > 0 && isWordByte(text.charCodeAt(i - 1));
    const groups: DigitGroup[] = [];
    const digits: number[] = [];
    for (;;) {
      const start = i;
      const firstDigit = digits.length;
      while (i < n && isDigit(text.charCodeAt(i))) digits.push(text.charCodeAt(i++) - 48);
      groups.push({ start, end: i, firstDigit, endDigit: digits.length });
      if (i + 1 < n && isSeparator(text.charCodeAt(i)) && isDigit(text.charCodeAt(i + 1))) {
        i++;
        continue;
      }
      break;
    }
    if (digits.length >= MIN_DIGITS && insideUuid(text, groups[0]!.start, i)) continue;
    const gluedEnd = i < n && isWordByte(text.charCodeAt(i));
    scanRun(groups, digits, gluedStart, gluedEnd, emit);
  }
}

const UUID_LENGTH = 36;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const isHexOrDash = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 45;

/**
 * Whether text[start, end) lies inside a UUID: 8-4-4-4-12 hex digits joined by dashes, the whole
 * stretch of hex digits and dashes around the run. A UUID whose groups happen to be all digits
 * holds dash-joined runs of 13–19 digits, one in ten of them passing Luhn, so random UUIDs would
 * now and then be masked in part. No card is written in that layout. Looks
 * at most a UUID's length either side, so the scan stays linear.
 */
function insideUuid(text: string, start: number, end: number): boolean {
  let from = start;
  while (from > 0 && end - from < UUID_LENGTH && isHexOrDash(text.charCodeAt(from - 1))) from--;
  let to = end;
  while (to < text.length && to - from < UUID_LENGTH && isHexOrDash(text.charCodeAt(to))) to++;
  if (to - from !== UUID_LENGTH) return false;
  // The stretch goes on past the UUID's length: longer hex-and-dash text, not a UUID.
  if ((from > 0 && isHexOrDash(text.charCodeAt(from - 1))) || (to < text.length && isHexOrDash(text.charCodeAt(to)))) return false;
  return UUID.test(text.slice(from, to));
}

/** A letter or underscore: a digit run touching one is part of a word, not a number on its own. */
const isWordByte = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * A window may not start at the run's first group when the run is glued to a word before it, nor
 * end at its last group when glued to a word after it (inner groups are bounded by separators).
 */
function scanRun(groups: readonly DigitGroup[], digits: readonly number[], gluedStart: boolean, gluedEnd: boolean, emit: (start: number, end: number) => void): void {
  const last = groups.length - 1;
  let g = gluedStart ? 1 : 0;
  while (g < groups.length) {
    let best = -1;
    const from = groups[g]!.firstDigit;
    // No card number starts with 0 (ISO/IEC 7812 issues none under that industry digit), and
    // runs of zeros pass Luhn: `avg()` prints 2.0000000000000000.
    if (digits[from] === 0) {
      g++;
      continue;
    }
    // Luhn sums of digits[from, k) kept incrementally for both parities, so each longer window
    // costs only its new digits: `evenLast` doubles digits at odd offsets from `from` (right when
    // the window's last digit sits at an even offset), `oddLast` the others.
    let evenLast = 0;
    let oddLast = 0;
    let k = from;
    for (let h = g; h < groups.length; h++) {
      const to = groups[h]!.endDigit;
      if (to - from > MAX_DIGITS) break;
      for (; k < to; k++) {
        const d = digits[k]!;
        const twice = d * 2 > 9 ? d * 2 - 9 : d * 2;
        if ((k - from) % 2 === 0) {
          evenLast += d;
          oddLast += twice;
        } else {
          evenLast += twice;
          oddLast += d;
        }
      }
      const count = to - from;
      if (count >= MIN_DIGITS && !(gluedEnd && h === last) && ((count - 1) % 2 === 0 ? evenLast : oddLast) % 10 === 0) best = h;
    }
    if (best >= 0) {
      emit(groups[g]!.start, groups[best]!.end);
      g = best + 1;
    } else {
      g++;
    }
  }
}

/**
 * Whether `findCardNumbers` finds anything in `text` taken on its own. A text that is one run of
 * digits without separators (what the COPY/result screen hands over most often: ids, digests) is
 * one group, so it holds a card exactly when it is 13–19 digits long and passes Luhn, checked
 * without the scanner's allocations. (Within a longer value the finder may still reject the run
 * for the word it touches: this answers "maybe" for it, which is what a screen needs.)
 */
export function holdsCardNumber(text: string): boolean {
  if (/^[0-9]+$/.test(text)) return text.length >= MIN_DIGITS && text.length <= MAX_DIGITS && text[0] !== '0' && luhnDigitsValid(text);
  let found = false;
  findCardNumbers(text, () => (found = true));
  return found;
}

/** Luhn check of a string of ASCII digits: every second digit from the right doubled. */
function luhnDigitsValid(digits: string): boolean {
  let sum = 0;
  for (let k = digits.length - 1, doubled = false; k >= 0; k--, doubled = !doubled) {
    let d = digits.charCodeAt(k) - 48;
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Cheap pre-check: is there any run holding 13+ digits (single separators allowed)? Most values
 * (ids, hex digests, words) fail it without the scanner's allocations.
 */
export function mayHoldCardNumber(text: string): boolean {
  let digits = 0;
  let previousWasDigit = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      if (++digits >= MIN_DIGITS) return true;
      previousWasDigit = true;
    } else if (isSeparator(c) && previousWasDigit) {
      previousWasDigit = false;
    } else {
      digits = 0;
      previousWasDigit = false;
    }
  }
  return false;
}
