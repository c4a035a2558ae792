// The per-result masking plan: computed once from the result's columns (a RowDescription, a
// MySQL column definition list…), then applied to each value as rows stream. Column rules mask
// whole values; detectors from every rule run over the textual values no column rule took. A
// result no rule can touch gets no plan at all (null), so the adapter forwards its rows untouched.
//
// Size bound: detectors run over at most `maxValueBytes` (default 1 MiB) of one value. A larger
// value that detectors would have to scan is replaced whole by `[REDACTED:oversized]` rather than
// scanned in part: a secret past the scanned prefix would otherwise pass, and the policy asked for
// this value to be checked. Column rules need no bound (every strategy is one linear pass).
import { ChunkScreen, type ByteScreen } from './byte-screen.js';
import type { MaskingRule, MaskStrategy } from '../../core/vocabulary.js';
import { compileDetectors, findSensitive, type Detector, type Match } from './detectors.js';
import { applyStrategy, keyedHash, redact, REDACTED, strategyStrength } from './strategies.js';
import { columnMatches, compileColumnPattern, type ColumnPattern, type ColumnTable } from './column-patterns.js';
import { maskJsonText } from './json-text-masking.js';

export interface ResultColumn {
  /** Name as the result labels it (may be an alias). */
  name: string;
  /** The underlying table column's own name when known (catalog), so an alias cannot hide it. */
  sourceColumn?: string;
  table?: ColumnTable;
  /**
   * Other tables the column may come from, matched like `table` (the relations its statement
   * names: a cached table name is never the only evidence, catalog-names.ts).
   */
  alsoTables?: readonly ColumnTable[];
  /** Other names the column may go by (an alias's possible sources). */
  alsoNames?: readonly string[];
  /** A strategy decided by the caller (a column derived from masked columns, derived-columns.ts). */
  forced?: MaskStrategy;
  /** Whether the value's bytes are text detectors can scan (text format, or a textual type). */
  textual: boolean;
  /**
   * Whether every value is a short numeric text (see Detector.skipsShortNumericText): an int4 or a
   * date in text format, say. Detectors that skip such text do not look at the column.
   */
  shortNumericText?: boolean;
}

export interface MaskResult<T> {
  value: T;
  /** How many whole values or matches were replaced. */
  masked: number;
}

export interface MaskingOptions {
  /** Key of the `hash` strategy; required when any rule uses it. */
  hashKey?: Buffer;
  /** Largest value detectors scan; larger ones are masked whole. Default 1 MiB. */
  maxValueBytes?: number;
}

export interface ResultMasker {
  /** Whether a column rule covers this column (its whole value is replaced). */
  columnRule(index: number): boolean;
  /** Whether detectors run over this column's values. */
  scans(index: number): boolean;
  /**
   * Whether this column's values are touched only by detectors that all have byte screens: a
   * value a ChunkScreen of those detectors clears needs no masking.
   */
  screenable(index: number): boolean;
  /**
   * For a screenable column: a screen of received chunks that tells which values could hold a
   * match at all (the others need no masking). Null for any other column.
   */
  chunkScreen(index: number, extra?: readonly ByteScreen[]): ChunkScreen | null;
  maskText(index: number, value: string): MaskResult<string>;
  /** UTF-8 bytes in, UTF-8 bytes out; the same Buffer object when nothing changed. */
  maskUtf8(index: number, value: Buffer): MaskResult<Buffer>;
  /** Like maskText for a JSON document: the result is still valid JSON. */
  maskJsonText(index: number, value: string): MaskResult<string>;
  /** Like maskUtf8 for a JSON document; the same Buffer object when nothing changed. */
  maskJsonUtf8(index: number, value: Buffer): MaskResult<Buffer>;
  /**
   * How many detector matches `text` holds (an oversized text counts as one), without masking or
   * counting anything: for values that cannot hold a replacement and are withheld whole instead.
   */
  probeText(index: number, text: string): number;
  /** Values and matches replaced so far by this masker. */
  readonly totalMasked: number;
  /** Counts replacements a format-specific caller made itself (e.g. a binary value sent as NULL). */
  recordMasked(n: number): void;
}

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
export const OVERSIZED = redact('oversized');

interface ScanningDetector extends Detector {
  readonly strategy: MaskStrategy;
}

interface CompiledRule {
  patterns: ColumnPattern[];
  detectors: Detector[];
}

// Rules come from the policy once per session; compiling their regexes once per rule object (not
// once per result) keeps planning cheap for sessions that run many different queries.
const compiledRules = new WeakMap<MaskingRule, CompiledRule>();

function compileRule(rule: MaskingRule): CompiledRule {
  let compiled = compiledRules.get(rule);
  if (!compiled) {
    compiled = { patterns: rule.columns.map(compileColumnPattern), detectors: compileDetectors(rule.detectors) };
    compiledRules.set(rule, compiled);
  }
  return compiled;
}

/**
 * Plans masking for one result. Null when no rule can change any of its values. Throws (a message
 * safe to show) when a rule's regex is invalid or a rule uses `hash` without a key.
 */
export function planResultMasking(rules: readonly MaskingRule[], columns: readonly ResultColumn[], opts: MaskingOptions = {}): ResultMasker | null {
  if (rules.length === 0 || columns.length === 0) return null;
  const key = opts.hashKey;
  for (const r of rules) {
    if (r.strategy === 'hash' && (!key || key.length === 0)) throw new Error(`masking rule "${r.name}" uses strategy hash but no masking key is configured`);
  }
  const compiled = rules.map(compileRule);
  const perColumn = columns.map((col) => columnStrategy(rules, compiled, col));
  const detectors = scanningDetectors(rules, compiled);
  const anyColumnRule = perColumn.some((s) => s !== null);
  // Detectors look at textual columns, except short numeric ones when none of them could match there.
  const skipShortNumeric = detectors.every((d) => d.skipsShortNumericText === true);
  const scanned = columns.map((c) => detectors.length > 0 && c.textual && !(c.shortNumericText === true && skipShortNumeric));
  if (!anyColumnRule && !scanned.includes(true)) return null;
  return new PlannedMasker(perColumn, scanned, detectors, key, opts.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
}

/** The strongest strategy of the rules whose patterns cover the column, or null. */
function columnStrategy(rules: readonly MaskingRule[], compiled: readonly CompiledRule[], col: ResultColumn): MaskStrategy | null {
  const names = col.sourceColumn && col.sourceColumn !== col.name ? [col.name, col.sourceColumn] : [col.name];
  if (col.alsoNames) names.push(...col.alsoNames);
  let best: MaskStrategy | null = col.forced ?? null;
  rules.forEach((rule, i) => {
    if (best !== null && strategyStrength(rule.strategy) <= strategyStrength(best)) return;
    const covers = (p: ColumnPattern) => columnMatches(p, names, col.table) || (col.alsoTables?.some((t) => columnMatches(p, names, t)) ?? false);
    if (compiled[i]!.patterns.some(covers)) best = rule.strategy;
  });
  return best;
}

/** Every rule's detectors, each scanned once, with the strongest strategy any rule gives it. */
function scanningDetectors(rules: readonly MaskingRule[], compiled: readonly CompiledRule[]): ScanningDetector[] {
  const byKey = new Map<string, ScanningDetector>();
  rules.forEach((rule, i) => {
    for (const d of compiled[i]!.detectors) {
      const seen = byKey.get(d.key);
      if (!seen || strategyStrength(rule.strategy) > strategyStrength(seen.strategy)) byKey.set(d.key, { ...d, strategy: rule.strategy });
    }
  });
  return [...byKey.values()];
}

const REDACTED_BYTES = Buffer.from(REDACTED);
const OVERSIZED_BYTES = Buffer.from(OVERSIZED);

class PlannedMasker implements ResultMasker {
  private total = 0;
  /** Whether every detector has byte screens; asked for each value of a result, so known once. */
  private readonly allScreened: boolean;

  constructor(
    private readonly perColumn: readonly (MaskStrategy | null)[],
    /** Per column: whether detectors look at its values. */
    private readonly scanned: readonly boolean[],
    private readonly detectors: readonly ScanningDetector[],
    private readonly key: Buffer | undefined,
    private readonly maxValueBytes: number,
  ) {
    this.allScreened = detectors.every((d) => d.screens !== undefined);
  }

  get totalMasked(): number {
    return this.total;
  }

  recordMasked(n: number): void {
    this.total += n;
  }

  columnRule(index: number): boolean {
    return (this.perColumn[index] ?? null) !== null;
  }

  scans(index: number): boolean {
    return this.scanned[index] === true;
  }

  screenable(index: number): boolean {
    return this.allScreened && !this.perColumn[index] && this.scans(index);
  }

  chunkScreen(index: number, extra: readonly ByteScreen[] = []): ChunkScreen | null {
    return this.screenable(index) ? new ChunkScreen([...this.detectors.flatMap((d) => d.screens!), ...extra], this.maxValueBytes) : null;
  }

  maskText(index: number, value: string): MaskResult<string> {
    const strategy = this.perColumn[index];
    if (strategy) return this.count({ value: applyStrategy(strategy, value, this.key), masked: 1 });
    if (!this.scans(index)) return { value, masked: 0 };
    if (this.oversizedText(value)) return this.count({ value: OVERSIZED, masked: 1 });
    return this.count(this.maskDetected(value, this.candidates(value, false)));
  }

  probeText(index: number, text: string): number {
    if (!this.scans(index)) return 0;
    if (this.oversizedText(text)) return 1;
    const candidates = this.candidates(text, false);
    return candidates.length === 0 ? 0 : findSensitive(text, candidates).length;
  }

  maskUtf8(index: number, value: Buffer): MaskResult<Buffer> {
    const strategy = this.perColumn[index];
    if (strategy === 'redact') return this.count({ value: REDACTED_BYTES, masked: 1 });
    // Hash the bytes as they are: equal to hashing the decoded text for valid UTF-8, and stable
    // even for invalid sequences (decoding would fold them all into U+FFFD).
    if (strategy === 'hash') return this.count({ value: Buffer.from(keyedHash(value, this.key!)), masked: 1 });
    if (strategy) return this.count({ value: Buffer.from(applyStrategy(strategy, value.toString('utf8'), this.key)), masked: 1 });
    if (!this.scans(index)) return { value, masked: 0 };
    if (value.length > this.maxValueBytes) return this.count({ value: OVERSIZED_BYTES, masked: 1 });
    const text = value.toString('utf8');
    const candidates = this.candidates(text, false);
    if (candidates.length === 0) return { value, masked: 0 };
    const r = this.maskDetected(text, candidates);
    if (r.masked === 0) return { value, masked: 0 };
    return this.count({ value: Buffer.from(r.value, 'utf8'), masked: r.masked });
  }

  maskJsonText(index: number, value: string): MaskResult<string> {
    const strategy = this.perColumn[index];
    if (strategy) return this.count({ value: JSON.stringify(applyStrategy(strategy, topLevelString(value) ?? value, this.key)), masked: 1 });
    if (!this.scans(index)) return { value, masked: 0 };
    if (this.oversizedText(value)) return this.count({ value: JSON.stringify(OVERSIZED), masked: 1 });
    return this.count(this.maskJson(value, this.candidates(value, value.includes('\\'))));
  }

  maskJsonUtf8(index: number, value: Buffer): MaskResult<Buffer> {
    if (this.perColumn[index]) {
      const r = this.maskJsonText(index, value.toString('utf8'));
      return { value: Buffer.from(r.value, 'utf8'), masked: r.masked };
    }
    if (!this.scans(index)) return { value, masked: 0 };
    if (value.length > this.maxValueBytes) return this.count({ value: Buffer.from(JSON.stringify(OVERSIZED)), masked: 1 });
    const text = value.toString('utf8');
    // An escape sequence can spell anything, so a document with backslashes meets every detector.
    const candidates = this.candidates(text, text.includes('\\'));
    if (candidates.length === 0) return { value, masked: 0 };
    const r = this.maskJson(text, candidates);
    if (r.masked === 0) return { value, masked: 0 };
    return this.count({ value: Buffer.from(r.value, 'utf8'), masked: r.masked });
  }

  private count<T>(r: MaskResult<T>): MaskResult<T> {
    this.total += r.masked;
    return r;
  }

  private oversizedText(value: string): boolean {
    // A string of n UTF-16 units is between n and 3n UTF-8 bytes: measure only when it matters.
    return value.length > this.maxValueBytes || (value.length * 3 > this.maxValueBytes && Buffer.byteLength(value, 'utf8') > this.maxValueBytes);
  }

  /** Detectors whose cheap pre-check passes (all of them when `all`). */
  private candidates(text: string, all: boolean): readonly ScanningDetector[] {
    if (all) return this.detectors;
    let out: ScanningDetector[] | null = null;
    for (const d of this.detectors) if (!d.mayMatch || d.mayMatch(text)) (out ??= []).push(d);
    return out ?? [];
  }

  private maskDetected(text: string, detectors: readonly ScanningDetector[]): MaskResult<string> {
    const matches = findSensitive(text, detectors);
    if (matches.length === 0) return { value: text, masked: 0 };
    let out = '';
    let at = 0;
    for (const m of matches) {
      out += text.slice(at, m.start) + this.replaceMatch(text.slice(m.start, m.end), m, detectors);
      at = m.end;
    }
    return { value: out + text.slice(at), masked: matches.length };
  }

  private maskJson(text: string, detectors: readonly ScanningDetector[]): MaskResult<string> {
    const r = maskJsonText(text, {
      find: (t) => findSensitive(t, detectors),
      maskScalar: (v) => this.maskDetected(v, this.detectors),
      replaceScalar: (v, m) => this.replaceMatch(v, m, detectors),
    });
    if (r) return r;
    // Not JSON after all (the server would not send that): any detection masks the whole value,
    // as a JSON string so a client that parses it still can.
    const plain = this.maskDetected(text, detectors);
    return plain.masked === 0 ? plain : { value: JSON.stringify(REDACTED), masked: plain.masked };
  }

  private replaceMatch(text: string, m: Match, detectors: readonly ScanningDetector[]): string {
    return applyStrategy(detectors[m.index]!.strategy, text, this.key, m.detector);
  }
}

/** The content of a JSON document that is a single string (`"ada@example.com"`), else null. */
function topLevelString(json: string): string | null {
  const t = json.trim();
  if (t.length < 2 || t[0] !== '"' || t[t.length - 1] !== '"') return null;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}
