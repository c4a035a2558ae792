// Detectors: find sensitive values inside arbitrary text. Each is a compiled pattern plus, where
// a pattern alone is too loose, a check (Luhn for card numbers, a decodable header for JWTs).
import type { DetectorSpec } from '../../policies/model.js';

export interface Detector {
  name: string;
  pattern: RegExp;
  accept?: (match: string) => boolean;
}

export interface Match {
  start: number;
  end: number;
  detector: string;
}

const BUILTIN: Record<string, () => Detector> = {
  email: () => ({ name: 'email', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g }),
  'payment-card': () => ({ name: 'payment-card', pattern: /(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/g, accept: luhnValid }),
  jwt: () => ({ name: 'jwt', pattern: /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, accept: jwtHeaderValid }),
  'aws-access-key': () => ({
    name: 'aws-access-key',
    pattern: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])|(?<=aws_secret_access_key\s*[=:]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
  }),
  'pem-private-key': () => ({
    name: 'pem-private-key',
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/g,
  }),
};

export function compileDetectors(specs: readonly DetectorSpec[]): Detector[] {
  return specs.map((s) => {
    if (s.kind === 'builtin') {
      const make = BUILTIN[s.name];
      if (!make) throw new Error(`unknown detector "${s.name}"`);
      return make();
    }
    const flags = new Set((s.flags ?? '').split(''));
    flags.add('g');
    return { name: s.name, pattern: new RegExp(s.pattern, [...flags].join('')) };
  });
}

/** Non-overlapping matches of all detectors, in order; the earliest (then longest) match wins. */
export function findSensitive(text: string, detectors: readonly Detector[]): Match[] {
  const found: Match[] = [];
  for (const d of detectors) {
    d.pattern.lastIndex = 0;
    for (let m = d.pattern.exec(text); m !== null; m = d.pattern.exec(text)) {
      if (m[0].length === 0) {
        d.pattern.lastIndex++; // a custom regex that can match empty must not loop forever
        continue;
      }
      if (d.accept && !d.accept(m[0])) continue;
      found.push({ start: m.index, end: m.index + m[0].length, detector: d.name });
    }
  }
  if (found.length <= 1) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  let end = -1;
  for (const m of found) {
    if (m.start >= end) {
      out.push(m);
      end = m.end;
    }
  }
  return out;
}

export function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function jwtHeaderValid(candidate: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(candidate.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof header['alg'] === 'string';
  } catch {
    return false;
  }
}
