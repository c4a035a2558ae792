// What each packet of the server's reply to one command is. MySQL replies carry no type tag a
// proxy could read alone: a packet's meaning depends on the command that asked, on the packets
// before it in the reply, and on the capabilities negotiated (CLIENT_DEPRECATE_EOF). This is that
// state machine, pure: it classifies packets, the session parses and masks them. Only one command
// is in flight at a time (the session serialises them), so a reply is always read against the
// command that caused it.
import { CLIENT_DEPRECATE_EOF, SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_CURSOR_EXISTS, hasFlag } from './capabilities.js';
import { classifyRowPacket, isEof, parseEof, parseOk, parseRowsEnd, type ResponseOptions } from './response-packets.js';
import { parseColumnCount, parseStmtPrepareOk } from './result-packets.js';
import { MalformedPacket } from './wire-reader.js';

/** The shape of reply a command gets. */
export type ReplyShape =
  /** COM_QUERY, COM_STMT_EXECUTE: one or more results (OK, ERR, or a result set), text or binary rows. */
  | 'results'
  /** COM_STMT_PREPARE: ERR, or PREPARE_OK with parameter and column definitions. */
  | 'prepare'
  /** COM_STMT_FETCH: binary rows of an open cursor, then a terminator (or ERR). */
  | 'fetch'
  /** COM_FIELD_LIST: column definitions, then a terminator (or ERR). */
  | 'field-list'
  /** COM_PING, COM_INIT_DB, COM_STMT_RESET, COM_RESET_CONNECTION, COM_SET_OPTION: one OK, EOF or ERR. */
  | 'status'
  /** COM_STATISTICS: one packet of text. */
  | 'statistics';

export type ReplyPacket =
  /** A result that is an OK packet (ends that result). */
  | { kind: 'ok' }
  | { kind: 'error' }
  /** LOCAL INFILE request: the server asks the client for a file. */
  | { kind: 'local-infile' }
  /** A result set's column count; its definitions follow. */
  | { kind: 'column-count'; columns: number }
  /** A column definition of a result set (or of COM_FIELD_LIST); `last` once all of a result set's arrived. */
  | { kind: 'column'; index: number; last: boolean }
  /** The EOF after the column definitions (without CLIENT_DEPRECATE_EOF). */
  | { kind: 'columns-end' }
  | { kind: 'row' }
  /** The EOF or OK that ends a result set's rows (or a cursor's fetched rows). */
  | { kind: 'rows-end' }
  /** PREPARE_OK: how many parameter and column definitions follow. */
  | { kind: 'prepare-ok'; params: number; columns: number }
  | { kind: 'param'; index: number }
  /** The EOF after the parameter definitions of a PREPARE_OK. */
  | { kind: 'params-end' }
  | { kind: 'statistics' };

/** SERVER_MORE_RESULTS_EXISTS: another result follows this one. */
const MORE_RESULTS = SERVER_MORE_RESULTS_EXISTS;
/** A COM_STMT_EXECUTE opened a cursor; its rows come by COM_STMT_FETCH. */
const CURSOR_EXISTS = SERVER_STATUS_CURSOR_EXISTS;

type State =
  | { at: 'result-start' }
  | { at: 'columns'; total: number; seen: number }
  | { at: 'columns-eof' }
  | { at: 'rows' }
  | { at: 'params'; params: number; seen: number; columns: number }
  | { at: 'params-eof'; columns: number }
  | { at: 'prepare-columns'; total: number; seen: number }
  | { at: 'prepare-columns-eof' }
  | { at: 'done' };

/**
 * Reads one reply. `next(payload)` classifies each packet in order; `done` tells when the reply is
 * complete (the next packet from the server, if any, is not part of it). A packet that cannot be
 * where it is throws MalformedPacket: the session closes, it never guesses.
 */
export class ReplyReader {
  private state: State;
  /** Set once the reply is complete. */
  done = false;
  /** Status flags of the packet that ended the last result (OK or EOF). */
  lastStatus = 0;
  /** The reply opened a cursor (COM_STMT_EXECUTE with a cursor type). */
  cursorOpened = false;

  constructor(
    readonly shape: ReplyShape,
    private readonly options: ResponseOptions,
  ) {
    this.state = shape === 'field-list' ? { at: 'columns', total: Infinity, seen: 0 } : shape === 'fetch' ? { at: 'rows' } : { at: 'result-start' };
  }

  private get deprecateEof(): boolean {
    return hasFlag(this.options.capabilities, CLIENT_DEPRECATE_EOF);
  }

  next(payload: Buffer): ReplyPacket {
    if (this.done) throw new MalformedPacket('the server sent a packet after its reply was complete');
    if (payload.length === 0) throw new MalformedPacket('empty packet in a reply');
    const head = payload[0]!;
    const state = this.state;
    switch (state.at) {
      case 'result-start':
        return this.resultStart(payload, head);
      case 'columns':
        if (this.shape === 'field-list') {
          const kind = classifyRowPacket(payload, this.options);
          if (kind === 'err') return this.error();
          if (kind === 'end') {
            this.finish(parseRowsEnd(payload, this.options).statusFlags);
            return { kind: 'rows-end' };
          }
        }
        if (head === 0xff && this.shape !== 'field-list') throw new MalformedPacket('an error among column definitions');
        state.seen++;
        if (state.seen === state.total) this.state = this.deprecateEof ? { at: 'rows' } : { at: 'columns-eof' };
        return { kind: 'column', index: state.seen - 1, last: state.seen === state.total };
      case 'columns-eof':
        if (!isEof(payload)) throw new MalformedPacket('expected the EOF after the column definitions');
        // A cursor's result set ends here: its rows come later, by COM_STMT_FETCH.
        if (parseEof(payload, this.options).statusFlags & CURSOR_EXISTS) {
          this.cursorOpened = true;
          this.endResult(parseEof(payload, this.options).statusFlags);
          return { kind: 'columns-end' };
        }
        this.state = { at: 'rows' };
        return { kind: 'columns-end' };
      case 'rows':
        const kind = classifyRowPacket(payload, this.options);
        if (kind === 'err') return this.error();
        if (kind === 'end') {
          const status = parseRowsEnd(payload, this.options).statusFlags;
          if (this.shape === 'fetch') this.finish(status);
          else {
            if (status & CURSOR_EXISTS) this.cursorOpened = true;
            this.endResult(status);
          }
          return { kind: 'rows-end' };
        }
        return { kind: 'row' };
      case 'params':
        state.seen++;
        if (state.seen === state.params) {
          this.state = this.deprecateEof ? this.afterParams(state.columns) : { at: 'params-eof', columns: state.columns };
        }
        return { kind: 'param', index: state.seen - 1 };
      case 'params-eof':
        if (!isEof(payload)) throw new MalformedPacket('expected the EOF after the parameter definitions');
        this.state = this.afterParams(state.columns);
        return { kind: 'params-end' };
      case 'prepare-columns':
        state.seen++;
        if (state.seen === state.total) {
          if (this.deprecateEof) this.finish(0);
          else this.state = { at: 'prepare-columns-eof' };
        }
        return { kind: 'column', index: state.seen - 1, last: state.seen === state.total };
      case 'prepare-columns-eof':
        if (!isEof(payload)) throw new MalformedPacket('expected the EOF after the column definitions');
        this.finish(parseEof(payload, this.options).statusFlags);
        return { kind: 'columns-end' };
      case 'done':
        throw new MalformedPacket('the server sent a packet after its reply was complete');
    }
  }

  private resultStart(payload: Buffer, head: number): ReplyPacket {
    if (head === 0xff) return this.error();
    switch (this.shape) {
      case 'statistics':
        this.finish(0);
        return { kind: 'statistics' };
      case 'status':
        // COM_SET_OPTION answers with an EOF (MariaDB's is the bare 0xFE byte); the others with an OK.
        if (isEof(payload)) this.finish(payload.length === 1 ? 0 : parseEof(payload, this.options).statusFlags);
        else if (head === 0x00) this.finish(parseOk(payload, this.options).statusFlags);
        else throw new MalformedPacket(`unexpected packet 0x${head.toString(16)} where OK was expected`);
        return { kind: 'ok' };
      case 'prepare': {
        const { columnCount: columns, paramCount: params } = parseStmtPrepareOk(payload);
        if (params > 0) this.state = { at: 'params', params, seen: 0, columns };
        else this.state = this.afterParams(columns);
        return { kind: 'prepare-ok', params, columns };
      }
      default:
        break;
    }
    if (head === 0x00) {
      this.endResult(parseOk(payload, this.options).statusFlags);
      return { kind: 'ok' };
    }
    if (head === 0xfb) {
      // Refused by the session; reading on would mean waiting for a file the server asked for.
      this.finish(0);
      return { kind: 'local-infile' };
    }
    const { count: columns } = parseColumnCount(payload);
    // A table has at most 4096 columns; a result can be wider, but not this wide.
    if (columns === 0 || columns > 65535) throw new MalformedPacket(`implausible column count ${columns}`);
    this.state = { at: 'columns', total: columns, seen: 0 };
    return { kind: 'column-count', columns };
  }

  private afterParams(columns: number): State {
    if (columns > 0) return { at: 'prepare-columns', total: columns, seen: 0 };
    this.finish(0);
    return { at: 'done' };
  }

  private error(): ReplyPacket {
    // An error ends the whole reply: nothing after it runs.
    this.finish(0);
    return { kind: 'error' };
  }

  /** A result ended: another follows when the server says so. */
  private endResult(status: number): void {
    this.lastStatus = status;
    if (status & MORE_RESULTS) this.state = { at: 'result-start' };
    else this.finish(status);
  }

  private finish(status: number): void {
    this.lastStatus = status;
    this.state = { at: 'done' };
    this.done = true;
  }
}
