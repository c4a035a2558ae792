// Detectors: find sensitive values inside arbitrary text. Built-ins cover the common secrets and
// personal data; policies add their own regexes. Every built-in is linear in the length of the
// text (no pattern that can backtrack quadratically), because the text comes from the target
// system and may be large or hostile. Custom regexes are the policy author's responsibility; the
// masker bounds the text they run over (see result-masker.ts, maxValueBytes).
import type { DetectorName, DetectorSpec } from '../../core/vocabulary.js';
import { findCardNumbers, holdsCardNumber, mayHoldCardNumber } from './card-numbers.js';
import { findEmailAddresses } from './email-addresses.js';
import { findPemPrivateKeys } from './pem-private-keys.js';
import { caselessScreen, confirmedScreen, digitRunScreen, needleScreen, type ByteScreen } from './byte-screen.js';

export type Emit = (start: number, end: number) => void;

export interface Detector {
  /** Name shown in `[REDACTED:name]`: the built-in's name or the custom detector's name. */
  readonly name: string;
  /** Identity for de-duplication across rules: the same detector in two rules scans once. */
  readonly key: string;
  /** Calls `emit` for every match; matches of different detectors may overlap. */
  find(text: string, emit: Emit): void;
  /** Cheap check (substring tests): false means `find` cannot match, so it need not run. */
  mayMatch?(text: string): boolean;
  /** The same for raw UTF-8 bytes (byte-screen.ts): every match lies in a range one of them reports. */
  screens?: readonly ByteScreen[];
  /**
   * True when no match can lie in a "short numeric" text: at most 16 characters of digits in
   * groups of at most 10, signs, '.', ':', '/', '-', ' ', 'e', and the words PostgreSQL prints
   * for small numbers, dates, times and booleans (t, f, NaN, Infinity, infinity, BC). All
   * built-ins (a card needs 13 digits in a row or grouped by spaces or dashes, the others need
   * '@', 'eyJ', 'AKIA'/'ASIA'/'secret' or 'PRIVATE KEY'); never a custom regex, which could
   * match anything.
   */
  skipsShortNumericText?: boolean;
}

/** A sensitive range of the text: [start, end) in UTF-16 units, found by `detectors[index]`. */
export interface Match {
  start: number;
  end: number;
  detector: string;
  index: number;
}

const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const AWS_ACCESS_KEY_ID = /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g;
/** A 40-character secret access key is only recognisable by its label (`aws_secret_access_key=…`). */
const AWS_SECRET_LENGTH = 40;
const AWS_LABELLED_SECRET = new RegExp(
  `(?:${caseless('aws')}[_-]?)?${caseless('secret')}[_-]?(?:${caseless('access')}[_-]?)?${caseless('key')}` +
    `["']?[ \\t]{0,16}(?:=>|[:=])[ \\t]{0,16}["']?[A-Za-z0-9/+]{${AWS_SECRET_LENGTH}}(?![A-Za-z0-9/+=])`,
  'g',
);

const SECRET_WORD = /secret/i;

const BUILTIN: Record<DetectorName, Omit<Detector, 'name' | 'key'>> = {
  email: {
    find: findEmailAddresses,
    mayMatch: (t) => t.includes('@'),
    screens: [needleScreen('@')],
  },
  'payment-card': {
    find: findCardNumbers,
    mayMatch: mayHoldCardNumber,
    // Only runs that hold a Luhn-valid number: most long digit runs (ids, hex digests) do not.
    screens: [confirmedScreen(digitRunScreen(13, ' -'), holdsCardNumber)],
  },
  jwt: {
    find: (text, emit) => findRegex(JWT, text, (s, e) => jwtHeaderValid(text.slice(s, e)) && emit(s, e)),
    mayMatch: (t) => t.includes('eyJ'),
    // Anchored on J: every e of a hex digest would otherwise start a comparison.
    screens: [needleScreen('eyJ', 'J')],
  },
  'aws-access-key': {
    find(text, emit) {
      findRegex(AWS_ACCESS_KEY_ID, text, emit);
      // Only the secret itself is sensitive; its label stays readable.
      findRegex(AWS_LABELLED_SECRET, text, (_s, e) => emit(e - AWS_SECRET_LENGTH, e));
    },
    // The label is matched in any case (`Secret_Key=` too), so the check is caseless as well.
    mayMatch: (t) => t.includes('AKIA') || t.includes('ASIA') || SECRET_WORD.test(t),
    screens: [needleScreen('AKIA'), needleScreen('ASIA'), caselessScreen('secret')],
  },
  'pem-private-key': {
    find: findPemPrivateKeys,
    mayMatch: (t) => t.includes('PRIVATE KEY'),
    screens: [needleScreen('PRIVATE KEY')],
  },
};

export const BUILTIN_DETECTOR_NAMES = Object.keys(BUILTIN) as DetectorName[];

/**
 * Compiles detector specs once (regexes are validated here, so a bad pattern fails at plan time,
 * not per value). Throws an Error naming the detector for an unknown built-in or invalid regex.
 */
export function compileDetectors(specs: readonly DetectorSpec[]): Detector[] {
  return specs.map((spec) => (spec.kind === 'builtin' ? builtin(spec.name) : customRegex(spec.name, spec.pattern, spec.flags)));
}

function builtin(name: DetectorName): Detector {
  const impl = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
  if (!impl) throw new Error(`unknown masking detector "${name}"`);
  return { name, key: `builtin:${name}`, skipsShortNumericText: true, ...impl };
}

function customRegex(name: string, pattern: string, flags = ''): Detector {
  // Always global (we iterate all matches); never sticky (sticky would stop at the first gap).
  const effective = [...new Set(flags.replace(/[gy]/g, '') + 'g')].join('');
  let re: RegExp;
  try {
    re = new RegExp(pattern, effective);
  } catch (err) {
    throw new Error(`masking detector "${name}": ${(err as Error).message}`);
  }
  return { name, key: `regex:${name}:${effective}:${pattern}`, find: (text, emit) => findRegex(re, text, emit) };
}

function findRegex(re: RegExp, text: string, emit: Emit): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++; // a pattern that can match empty must still move forward
      continue;
    }
    emit(m.index, m.index + m[0].length);
  }
}

/**
 * Non-overlapping matches of all detectors, in text order. Overlapping matches are merged into
 * one range (attributed to the one that starts first, then the longest): dropping the later one
 * instead would leave its tail unmasked (`x ada@example.com` with a custom `x a` would show
 * `da@example.com`).
 */
export function findSensitive(text: string, detectors: readonly Detector[]): Match[] {
  const found: Match[] = [];
  detectors.forEach((d, index) => d.find(text, (start, end) => void found.push({ start, end, detector: d.name, index })));
  if (found.length <= 1) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  let end = -1;
  for (const m of found) {
    if (m.start >= end) {
      out.push({ ...m });
      end = m.end;
    } else if (m.end > end) {
      out[out.length - 1]!.end = end = m.end;
    }
  }
  return out;
}

function jwtHeaderValid(candidate: string): boolean {
  const dot = candidate.indexOf('.');
  try {
    const header: unknown = JSON.parse(Buffer.from(candidate.slice(0, dot), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as Record<string, unknown>)['alg'] === 'string';
  } catch {
    return false;
  }
}

/** `abc` → `[aA][bB][cC]`: case-insensitive label inside an otherwise case-sensitive regex. */
function caseless(word: string): string {
  return [...word].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
}
