// The shape of one result (RowDescription) and, when masking applies, the plan that rewrites its
// DataRows. Rows stream: each DataRow is masked on its own and forwarded, nothing is buffered.
import type { MaskingRule } from '../../../policies/model.js';
import { planResultMasking, maskPgValue, isScannedBinaryPgType, isScreenablePgValue, isShortNumericTextPgType, type ResultMasker } from '../../masking/index.js';
import type { ChunkScreen } from '../../masking/byte-screen.js';
import * as wire from './wire.js';

export type RowField = wire.RowDescriptionField;

export interface TableName {
  schema?: string;
  name: string;
  /** attnum → column name, so an alias in the query cannot hide the real column from a rule. */
  columns?: ReadonlyMap<number, string>;
}

export class RowShape {
  private readonly values: (Buffer | null)[];

  private constructor(
    readonly fields: readonly RowField[],
    private readonly masker: ResultMasker | null,
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
  ): RowShape {
    const effective = names === null ? rules.map(widenToAnyTable) : rules;
    const masker = planResultMasking(
      effective,
      fields.map((f) => {
        const table = f.tableOid !== 0 ? names?.get(f.tableOid) : undefined;
        return {
          name: f.name,
          sourceColumn: table?.columns?.get(f.columnAttr),
          table: table ? { schema: table.schema, name: table.name } : undefined,
          textual: f.format === 0 || isScannedBinaryPgType(f.typeOid),
          shortNumericText: f.format === 0 && isShortNumericTextPgType(f.typeOid),
        };
      }),
      { hashKey },
    );
    return new RowShape(fields, masker);
  }

  get masking(): boolean {
    return this.masker !== null;
  }

  /**
   * Masks one DataRow body; null when nothing changed (forward the original bytes). `screen`,
   * reset for the chunk the row arrived in, was made from this session's detectors: values it
   * clears in columns only detectors touch are not decoded at all (byte-screen.ts). Values with a
   * backslash are always looked at: in array, JSON or bytea text an escape can spell anything.
   */
  maskDataRow(body: Buffer, screen?: ChunkScreen | null): { message: Buffer; masked: number } | null {
    const masker = this.masker;
    if (!masker) return null;
    const values = this.values;
    const count = wire.readDataRow(body, values);
    let masked = 0;
    for (let i = 0; i < count && i < this.fields.length; i++) {
      const field = this.fields[i]!;
      const before = values[i] ?? null;
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

  /**
   * COPY TO lines carry no column metadata, so only detectors can apply, over the whole line.
   * Planned once per session.
   */
  static copyLineMasker(rules: readonly MaskingRule[], hashKey: Buffer | undefined): ResultMasker | null {
    return planResultMasking(rules, [{ name: '', textual: true }], { hashKey });
  }

  static maskCopyLine(body: Buffer, masker: ResultMasker): { line: Buffer; masked: number } {
    const result = masker.maskUtf8(0, body);
    return { line: result.value, masked: result.masked };
  }
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
