// The shape of one result (RowDescription) and, when masking applies, the plan that rewrites its
// DataRows. Rows stream: each DataRow is masked on its own and forwarded, nothing is buffered.
import type { MaskingRule, MaskStrategy, TableRef } from '../../../core/vocabulary.js';
import { planResultMasking, isOpaqueRelation, type ResultMasker } from '../../masking/index.js';
import { maskPgValue, isScannedBinaryPgType, isScreenablePgValue, isShortNumericTextPgType, isWideNumberPgType, pgNumberDigitCount } from './value-format.js';
import type { ChunkScreen } from '../../masking/byte-screen.js';
import * as wire from './wire.js';

export type RowField = wire.RowDescriptionField;

export interface TableName {
  schema?: string;
  name: string;
  /** pg_class.relkind: a view's columns may hold any table's data (derived-columns.ts). */
  relkind?: string;
  /** attnum → column name, so an alias in the query cannot hide the real column from a rule. */
  columns?: ReadonlyMap<number, string>;
}

/** What a result's statement says about where its columns come from (derived-columns.ts). */
export interface StatementSources {
  /** The relations the statement names. */
  tables: readonly TableRef[];
  /** The statement's text: the identifiers in it are what an alias may stand for. */
  text: string;
  /** Strategy for a column without a source of its own; null: none applies. */
  derived: MaskStrategy | null;
  /** Strongest of all column rules: for a column of a view (or the like). */
  opaque: MaskStrategy | null;
  /** The statement's sources cannot be known: even the system views' columns take `opaque`. */
  unknown?: boolean;
}

/** A derived number with this many digits could spell a card number: it is withheld. */
const WIDE_NUMBER_DIGITS = 13;

export class RowShape {
  private readonly values: (Buffer | null)[];

  private constructor(
    readonly fields: readonly RowField[],
    private readonly masker: ResultMasker | null,
    /** Per column: a number derived from masked columns, withheld when it is wide (WIDE_NUMBER_DIGITS). */
    private readonly wideDerived: readonly boolean[] | null = null,
  ) {
    this.values = new Array(fields.length);
    this.screenable = fields.map((f) => isScreenablePgValue(f.format === 1 ? 1 : 0, f.typeOid));
  }

  /** Per column: whether a value's wire bytes are the text detectors read (a byte screen can clear it). */
  private readonly screenable: readonly boolean[];

  /** A result without rows (NoData). */
  static empty(): RowShape {
    return new RowShape([], null);
  }

  static tableOids(fields: readonly RowField[]): number[] {
    const oids = new Set<number>();
    for (const f of fields) if (f.tableOid !== 0) oids.add(f.tableOid);
    return [...oids];
  }

  /**
   * Plans masking for this result. `names` maps table OIDs to names; `null` means the lookup
   * failed, and then every table-qualified column pattern is widened to any table (fail closed).
   */
  static plan(
    fields: readonly RowField[],
    names: ReadonlyMap<number, TableName> | null,
    rules: readonly MaskingRule[],
    hashKey: Buffer | undefined,
    sources?: StatementSources,
  ): RowShape {
    const effective = names === null ? rules.map(widenToAnyTable) : rules;
    const alsoTables = sources?.tables.map((t) => ({ schema: t.schema, name: t.name }));
    let identifiers: string[] | undefined;
    let wide: boolean[] | null = null;
    const masker = planResultMasking(
      effective,
      fields.map((f, i) => {
        // A whole-row reference (`SELECT c FROM customers c`) names its table with column 0: it
        // has no column of its own, like an expression.
        const ownColumn = f.tableOid !== 0 && f.columnAttr > 0;
        const table = ownColumn ? names?.get(f.tableOid) : undefined;
        const sourceColumn = table?.columns?.get(f.columnAttr);
        let forced: MaskStrategy | undefined;
        let alsoNames: string[] | undefined;
        if (sources && !ownColumn && sources.derived !== null && isScannedBinaryPgType(f.typeOid)) {
          // An expression over the statement's relations: it may carry a masked column's value.
          if (isWideNumberPgType(f.typeOid)) (wide ??= new Array<boolean>(fields.length).fill(false))[i] = true;
          else forced = sources.derived;
        } else if (sources && table && (isOpaqueRelation(table.relkind, table) || (sources.unknown === true && table.relkind === 'v')) && sources.opaque !== null) {
          forced = sources.opaque;
        } else if (sources && table && sourceColumn !== f.name) {
          // An alias of a column the statement names is that column; otherwise (a column renamed
          // since it was cached, and still so after a fresh lookup) any column the statement
          // names may be its source.
          identifiers ??= sqlIdentifiers(sources.text);
          if (sourceColumn === undefined || !identifiers.some((n) => n.toLowerCase() === sourceColumn.toLowerCase())) alsoNames = identifiers;
        }
        return {
          name: f.name,
          sourceColumn,
          table: table ? { schema: table.schema, name: table.name } : undefined,
          alsoTables: table ? alsoTables : undefined,
          alsoNames,
          forced,
          textual: f.format === 0 || isScannedBinaryPgType(f.typeOid),
          shortNumericText: f.format === 0 && isShortNumericTextPgType(f.typeOid),
        };
      }),
      { hashKey },
    );
    return new RowShape(fields, masker, wide);
  }

  get masking(): boolean {
    return this.masker !== null || this.wideDerived !== null;
  }

  /**
   * Masks one DataRow body; null when nothing changed (forward the original bytes). `screen`,
   * reset for the chunk the row arrived in, was made from this session's detectors: values it
   * clears in columns only detectors touch are not decoded at all (byte-screen.ts). Values with a
   * backslash are always looked at: in array, JSON or bytea text an escape can spell anything.
   */
  maskDataRow(body: Buffer, screen?: ChunkScreen | null): { message: Buffer; masked: number } | null {
    const masker = this.masker;
    const wide = this.wideDerived;
    if (!masker && !wide) return null;
    const values = this.values;
    const count = wire.readDataRow(body, values);
    let masked = 0;
    for (let i = 0; i < count && i < this.fields.length; i++) {
      const field = this.fields[i]!;
      const before = values[i] ?? null;
      if (wide?.[i] === true && before !== null && pgNumberDigitCount(field.format === 1 ? 1 : 0, field.typeOid, before) >= WIDE_NUMBER_DIGITS) {
        values[i] = null;
        masked++;
        continue;
      }
      if (!masker) continue;
      if (screen && before !== null && this.screenable[i] && masker.screenable(i) && before.indexOf(0x5c) < 0 && !screen.mayMatch(before)) continue;
      const result = maskPgValue(masker, i, field.format === 1 ? 1 : 0, field.typeOid, before);
      if (result.masked > 0) {
        masked += result.masked;
        values[i] = result.value;
      }
    }
    if (masked === 0) return null;
    return { message: wire.serializeDataRow(values.slice(0, count)), masked };
  }

  /** A row whose shape we could not learn while masking applies: every value becomes NULL. */
  static nullRow(body: Buffer): { message: Buffer; masked: number } {
    const values: (Buffer | null)[] = [];
    const count = wire.readDataRow(body, values);
    let masked = 0;
    for (let i = 0; i < count; i++) {
      if (values[i] !== null) masked++;
      values[i] = null;
    }
    return { message: wire.serializeDataRow(values.slice(0, count)), masked };
  }

  static maskCopyLine(body: Buffer, masker: ResultMasker): { line: Buffer; masked: number } {
    const result = masker.maskUtf8(0, body);
    return { line: result.value, masked: result.masked };
  }
}

/** The identifiers a statement's text holds (words and double-quoted names), each once. */
export function sqlIdentifiers(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/"((?:[^"]|"")+)"|([A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)/g)) out.add(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!);
  return [...out];
}

function widenToAnyTable(rule: MaskingRule): MaskingRule {
  return {
    ...rule,
    columns: rule.columns.map((pattern) => {
      const dot = pattern.lastIndexOf('.');
      return dot === -1 ? pattern : `*.${pattern.slice(dot + 1)}`;
    }),
  };
}
