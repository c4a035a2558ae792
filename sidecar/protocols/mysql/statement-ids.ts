// Prepared statements as the server's replies assign them: an id exists only once a PREPARE_OK
// carrying it came back for a statement sidegate decided, and it is gone once closed or the
// connection reset. An execute naming any other id is refused before it reaches the server, so a
// client can never run a statement under an id whose inspection it did not go through.
import type { Decision } from '../../../core/vocabulary.js';
import type { ParameterType } from './command-packets.js';
import type { MaskingSources } from './masking-sources.js';
import type { ColumnDefinition41 as ColumnDefinition } from './result-packets.js';

export interface PreparedStatement<I> {
  /** The server's statement id (clients use it as given). */
  readonly id: number;
  /** The statement's inspection, decided at prepare. */
  readonly inspection: I;
  /** The decision at prepare: every execute runs under it, rechecked (CommandRuns.recheck). */
  readonly decision: Decision;
  /** Parameters the server counted. */
  readonly params: number;
  /** Result columns the server announced at prepare. */
  readonly columns: readonly ColumnDefinition[];
  /** Parameter types from the last execute that bound them (a later one may send none). */
  paramTypes?: ParameterType[];
  /** COM_STMT_SEND_LONG_DATA chunks per parameter since the last execute or reset. */
  longData: Map<number, Buffer[]>;
  longDataBytes: number;
  /** More long data than the bound: the next execute is refused. */
  longDataOverflow: boolean;
  /** A cursor the last execute opened (rows come by COM_STMT_FETCH), with its columns and rule. */
  cursor?: { columns: readonly ColumnDefinition[]; rule: string; sources?: MaskingSources };
}

/** MariaDB's `max_prepared_stmt_count` default; more are refused by the server anyway. */
export const MAX_PREPARED_STATEMENTS = 16382;
/** COM_STMT_EXECUTE with this id means the statement prepared last (MariaDB's direct execute). */
export const LAST_PREPARED = 0xffffffff;

export class StatementIds<I> {
  private readonly byId = new Map<number, PreparedStatement<I>>();
  private last?: PreparedStatement<I>;

  /** The server replied PREPARE_OK with this id. */
  add(entry: { id: number; inspection: I; decision: Decision; params: number; columns: readonly ColumnDefinition[] }): PreparedStatement<I> {
    if (this.byId.size >= MAX_PREPARED_STATEMENTS && !this.byId.has(entry.id)) throw new Error(`more than ${MAX_PREPARED_STATEMENTS} prepared statements`);
    const stmt: PreparedStatement<I> = { ...entry, longData: new Map(), longDataBytes: 0, longDataOverflow: false };
    this.byId.set(entry.id, stmt);
    this.last = stmt;
    return stmt;
  }

  get(id: number): PreparedStatement<I> | undefined {
    return this.byId.get(id);
  }

  /** `get`, with MariaDB's id -1 resolved to the statement prepared last (if it still exists). */
  resolve(id: number): PreparedStatement<I> | undefined {
    if (id === LAST_PREPARED) return this.last && this.byId.get(this.last.id) === this.last ? this.last : undefined;
    return this.byId.get(id);
  }

  close(id: number): void {
    const stmt = this.byId.get(id);
    this.byId.delete(id);
    if (stmt && this.last === stmt) this.last = undefined;
  }

  /** Long data is appended; past `max` bytes the statement's next execute is refused. */
  addLongData(stmt: PreparedStatement<I>, param: number, data: Buffer, max: number): void {
    if (stmt.longDataOverflow) return;
    if (stmt.longDataBytes + data.length > max) {
      stmt.longDataOverflow = true;
      stmt.longData.clear();
      stmt.longDataBytes = 0;
      return;
    }
    const chunks = stmt.longData.get(param) ?? [];
    chunks.push(Buffer.from(data));
    stmt.longData.set(param, chunks);
    stmt.longDataBytes += data.length;
  }

  /** COM_STMT_RESET (or an execute consuming the long data): long data gone, a cursor closed. */
  reset(stmt: PreparedStatement<I>, opts: { keepCursor?: boolean } = {}): void {
    stmt.longData.clear();
    stmt.longDataBytes = 0;
    stmt.longDataOverflow = false;
    if (!opts.keepCursor) stmt.cursor = undefined;
  }

  /** COM_RESET_CONNECTION: the server forgot every statement. */
  clear(): void {
    this.byId.clear();
    this.last = undefined;
  }

  get size(): number {
    return this.byId.size;
  }
}
