// The masking plan of one result set and its rows: which columns are a base table's own (column
// rules match them by schema.table.column from their definitions, aliases undone by org_name),
// which are derived (an expression, a view's column, an unknown table's) and take the strategy of
// the column rules covering what the statement reads, and how each row's values are masked.
//
// A derived column of a type that cannot carry a masked value (a narrow number, a date) is left
// to the detectors; a derived wide number (BIGINT, DOUBLE, DECIMAL) is withheld only when it has
// as many digits as a card number, so `COUNT(*)` over a table with a masked column still works.
import type { MaskStrategy, MaskingRule } from '../../../core/vocabulary.js';
import type { ResultColumn, ResultMasker } from '../../masking/result-masker.js';
import { parseBinaryRow, parseTextRow, serializeBinaryRow, serializeTextRow, type ColumnDefinition41 } from './result-packets.js';
import type { MaskingSources } from './masking-sources.js';
import { isScannedColumn, isShortNumericColumn, isWideNumberColumn, maskBinaryValue, maskTextValue, numberDigitCount, canCarryText } from './value-format.js';

/** A derived number with this many digits could spell a card number: it is withheld. */
const WIDE_NUMBER_DIGITS = 13;

export interface ResultRowsContext {
  rules: readonly MaskingRule[];
  /** The session's database, for columns whose definition names no schema. */
  database: string;
  plan(columns: readonly ResultColumn[]): ResultMasker | null;
}

export class ResultRows {
  /** Values withheld here (derived wide numbers), beyond what the masker counted. */
  private withheld = 0;

  private constructor(
    private readonly columns: readonly ColumnDefinition41[],
    private readonly binary: boolean,
    private readonly masker: ResultMasker | null,
    private readonly wide: readonly boolean[] | null,
  ) {}

  /** The plan for `columns`; null when nothing in them needs masking. */
  static plan(ctx: ResultRowsContext, columns: readonly ColumnDefinition41[], binary: boolean, sources: MaskingSources | undefined): ResultRows | null {
    if (ctx.rules.length === 0) return null;
    let wide: boolean[] | null = null;
    const derived = sources?.derived(ctx.rules) ?? null;
    const planned = columns.map((c, i): ResultColumn => {
      const format = { type: c.type, characterSet: c.characterSet };
      let forced: MaskStrategy | undefined;
      if (sources && derived !== null && !sources.isBaseTable(c.schema || ctx.database, c.orgTable)) {
        if (isWideNumberColumn(format)) (wide ??= new Array<boolean>(columns.length).fill(false))[i] = true;
        else if (canCarryText(format)) forced = derived;
      }
      return {
        name: c.name,
        ...(c.orgName ? { sourceColumn: c.orgName } : {}),
        ...(c.orgTable ? { table: { schema: c.schema || undefined, name: c.orgTable } } : {}),
        ...(c.table && c.table !== c.orgTable ? { alsoTables: [{ schema: c.schema || undefined, name: c.table }] } : {}),
        ...(forced ? { forced } : {}),
        textual: isScannedColumn(format, binary),
        shortNumericText: !binary && isShortNumericColumn(format),
      };
    });
    const masker = ctx.plan(planned);
    if (!masker && !wide) return null;
    return new ResultRows(columns, binary, masker, wide);
  }

  /** Values masked or withheld so far. */
  get masked(): number {
    return (this.masker?.totalMasked ?? 0) + this.withheld;
  }

  /** One row's payload, masked; the same Buffer when nothing changed. */
  mask(payload: Buffer): Buffer {
    const columns = this.columns;
    const values = this.binary ? parseBinaryRow(payload, columns) : parseTextRow(payload, columns.length);
    let changed = false;
    for (let i = 0; i < values.length; i++) {
      const before: Buffer | null = values[i] ?? null;
      const format = { type: columns[i]!.type, characterSet: columns[i]!.characterSet };
      let after: Buffer | null = before;
      if (this.wide?.[i] === true && before !== null && numberDigitCount(format, before, this.binary) >= WIDE_NUMBER_DIGITS) {
        after = null;
        this.withheld++;
      } else if (this.masker) {
        after = (this.binary ? maskBinaryValue : maskTextValue)(this.masker, i, format, before).value;
      }
      if (after !== before) {
        values[i] = after;
        changed = true;
      }
    }
    if (!changed) return payload;
    return this.binary ? serializeBinaryRow(columns, values) : serializeTextRow(values);
  }
}
