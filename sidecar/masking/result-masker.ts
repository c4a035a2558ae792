// The per-result masking plan: computed once from the result's columns (RowDescription), then
// applied to each value as rows stream. Column rules mask whole values; detectors from every
// rule run over the values no column rule took. A result no rule can touch gets no plan at all,
// so its rows are forwarded untouched.
import type { MaskingRule, MaskStrategy } from '../../policies/model.js';
import { compileDetectors, findSensitive, type Detector } from './detectors.js';
import { applyStrategy } from './strategies.js';
import { columnMatches, compileColumnPattern } from './column-patterns.js';

export interface ResultColumn {
  /** Name as the result labels it (may be an alias). */
  name: string;
  /** The underlying table column's own name when known (catalog), so an alias cannot hide it. */
  sourceColumn?: string;
  table?: { schema?: string; name: string };
  /** Whether the value's bytes are text (text format, or a textual type in binary format). */
  textual: boolean;
}

export interface MaskResult<T> {
  value: T;
  masked: number;
}

export interface ResultMasker {
  /** Whether a column rule covers this column (its whole value is replaced). */
  columnRule(index: number): boolean;
  maskText(index: number, value: string): MaskResult<string>;
  /** Returns the same Buffer when nothing changed: no copy on the hot path. */
  maskUtf8(index: number, value: Buffer): MaskResult<Buffer>;
  readonly totalMasked: number;
}

/** Values larger than this with any rule applying are masked whole: scanning them is unbounded work. */
const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

export function planResultMasking(
  rules: readonly MaskingRule[],
  columns: readonly ResultColumn[],
  opts: { hashKey?: Buffer; maxValueBytes?: number } = {},
): ResultMasker | null {
  if (rules.length === 0 || columns.length === 0) return null;
  for (const r of rules) {
    if (r.strategy === 'hash' && !opts.hashKey) throw new Error(`masking rule "${r.name}" uses hash but no masking key is configured`);
  }
  const perColumn: (MaskStrategy | null)[] = columns.map((col) => {
    const names = col.sourceColumn && col.sourceColumn !== col.name ? [col.name, col.sourceColumn] : [col.name];
    for (const r of rules) {
      for (const p of r.columns) if (columnMatches(compileColumnPattern(p), names, col.table)) return r.strategy;
    }
    return null;
  });
  const detectors: { detector: Detector; strategy: MaskStrategy }[] = [];
  for (const r of rules) for (const d of compileDetectors(r.detectors)) detectors.push({ detector: d, strategy: r.strategy });
  const anyColumn = perColumn.some((s) => s !== null);
  if (!anyColumn && detectors.length === 0) return null;
  const textualAny = columns.some((c) => c.textual);
  if (!anyColumn && !textualAny) return null;

  const maxBytes = opts.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const allDetectors = detectors.map((d) => d.detector);
  const strategyOf = new Map(detectors.map((d) => [d.detector.name, d.strategy]));
  let total = 0;

  const maskText = (index: number, value: string): MaskResult<string> => {
    const strategy = perColumn[index];
    if (strategy) {
      total++;
      return { value: applyStrategy(strategy, value, opts.hashKey), masked: 1 };
    }
    if (allDetectors.length === 0 || !columns[index]?.textual) return { value, masked: 0 };
    if (Buffer.byteLength(value) > maxBytes) {
      // Fail closed: an oversized value is not scanned partially and passed on.
      total++;
      return { value: '[REDACTED:oversized]', masked: 1 };
    }
    const matches = findSensitive(value, allDetectors);
    if (matches.length === 0) return { value, masked: 0 };
    let out = '';
    let at = 0;
    for (const m of matches) {
      out += value.slice(at, m.start) + applyStrategy(strategyOf.get(m.detector) ?? 'redact', value.slice(m.start, m.end), opts.hashKey, m.detector);
      at = m.end;
    }
    out += value.slice(at);
    total += matches.length;
    return { value: out, masked: matches.length };
  };

  return {
    columnRule: (i) => perColumn[i] !== null && perColumn[i] !== undefined,
    maskText,
    maskUtf8(index, value) {
      if (!perColumn[index] && (allDetectors.length === 0 || !columns[index]?.textual)) return { value, masked: 0 };
      const r = maskText(index, value.toString('utf8'));
      return r.masked === 0 ? { value, masked: 0 } : { value: Buffer.from(r.value, 'utf8'), masked: r.masked };
    },
    get totalMasked() {
      return total;
    },
  };
}
