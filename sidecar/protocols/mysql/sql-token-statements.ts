// Statements node-sql-parser rejects but whose whole token sequence has one fixed form, read here
// exactly (pure): every token must match the form, or the statement is not recognised and stays
// unparsable. Statements that wrap another (DO, EXPLAIN ANALYZE, ANALYZE, SET STATEMENT … FOR,
// PREPARE … FROM '…') hand the wrapped text back to the grammar. See docs/MYSQL.md.
import type { Token } from './sql-lexer.js';

export type TokenForm =
  /** Facts known from the tokens alone. */
  | { kind: 'facts'; operation: string; kinds: string[]; flags: string[]; tables?: { schema?: string; name: string }[]; charset?: string; kill?: KillTarget }
  /** DO expr: the grammar reads `SELECT expr`; kinds are DO's plus what the expressions do. */
  | { kind: 'do'; select: string }
  /** EXPLAIN ANALYZE / ANALYZE stmt: runs `statement` (canonical text) and reports on it. */
  | { kind: 'analyze'; operation: string; statement: string }
  /** SET STATEMENT assignments FOR stmt: `set` is `SET <assignments>`, `statement` the rest. */
  | { kind: 'set-statement'; set: string; statement: string }
  /** PREPARE name FROM 'text': `text` is the literal's decoded value, inspected as SQL. */
  | { kind: 'prepare'; name: string; text: string };

export interface KillTarget {
  /** KILL QUERY cancels the statement running; KILL [CONNECTION] ends the connection. */
  scope: 'query' | 'connection';
  /** The connection (thread) id as the client wrote it. */
  id: string;
}

const upper = (t: Token | undefined): string => (t && t.kind === 'word' ? t.value.toUpperCase() : '');
const isName = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'word' || t.kind === 'quoted-name');
const isUserVariable = (t: Token | undefined): boolean => t !== undefined && t.kind === 'variable' && !t.value.startsWith('@@');

/**
 * The form of a statement's tokens, if it is one of the fixed forms; `canonical` is the
 * statement's canonical text, whose offsets the tokens do not share, so wrapped statements are
 * cut from it by the position of their first word.
 */
export function tokenForm(tokens: readonly Token[], canonical: string): TokenForm | undefined {
  const w = tokens.map(upper);
  const n = tokens.length;
  const facts = (operation: string, ...kinds: string[]): TokenForm => ({ kind: 'facts', operation, kinds, flags: [] });
  switch (w[0]) {
    case 'SET': {
      // SET NAMES x [COLLATE y] / SET CHARACTER SET x / SET CHARSET x
      const at = w[1] === 'NAMES' || w[1] === 'CHARSET' ? 2 : w[1] === 'CHARACTER' && w[2] === 'SET' ? 3 : -1;
      if (at > 0) {
        const value = tokens[at];
        const collate = w[1] === 'NAMES' && w[at + 1] === 'COLLATE' && (isName(tokens[at + 2]) || tokens[at + 2]?.kind === 'string') ? 2 : 0;
        if (n !== at + 1 + collate || !value || !(isName(value) || value.kind === 'string')) return undefined;
        const charset = w[at] === 'DEFAULT' ? '?' : value.value.toLowerCase();
        return { kind: 'facts', operation: 'SET', kinds: ['set', 'session'], flags: [], charset };
      }
      // SET [GLOBAL|SESSION] TRANSACTION characteristic [, characteristic]
      const scope = w[1] === 'GLOBAL' || w[1] === 'SESSION' ? 1 : 0;
      if (w[1 + scope] === 'TRANSACTION' && transactionCharacteristics(w.slice(2 + scope), tokens.slice(2 + scope))) {
        return scope === 1 && w[1] === 'GLOBAL' ? facts('SET', 'set', 'admin', 'write') : facts('SET', 'set', 'transaction', 'session');
      }
      if (w[1] === 'STATEMENT') {
        // The first FOR outside parentheses ends the assignments (their values are constants).
        let depth = 0;
        for (let i = 2; i < n; i++) {
          const t = tokens[i]!;
          if (t.kind === 'symbol' && t.value === '(') depth++;
          if (t.kind === 'symbol' && t.value === ')') depth--;
          if (depth === 0 && w[i] === 'FOR' && i > 2 && i < n - 1) {
            const set = `SET ${cutBetween(canonical, tokens, 2, i)}`;
            return { kind: 'set-statement', set, statement: cutFrom(canonical, tokens, i + 1) };
          }
        }
      }
      return undefined;
    }
    case 'KILL': {
      let i = 1;
      if (w[i] === 'HARD' || w[i] === 'SOFT') i++;
      const scope = w[i] === 'QUERY' ? 'query' : 'connection';
      if (w[i] === 'QUERY' || w[i] === 'CONNECTION') i++;
      const id = tokens[i];
      if (n !== i + 1 || id?.kind !== 'number' || !/^\d+$/.test(id.value)) return undefined;
      return { kind: 'facts', operation: 'KILL', kinds: ['kill', 'backend-signal', 'admin'], flags: [], kill: { scope, id: id.value } };
    }
    case 'SAVEPOINT':
      return n === 2 && isName(tokens[1]) ? facts('SAVEPOINT', 'transaction') : undefined;
    case 'RELEASE':
      return n === 3 && w[1] === 'SAVEPOINT' && isName(tokens[2]) ? facts('RELEASE', 'transaction') : undefined;
    case 'ROLLBACK': {
      let i = 1;
      if (w[i] === 'WORK') i++;
      if (w[i] !== 'TO') return undefined;
      i++;
      if (w[i] === 'SAVEPOINT') i++;
      return n === i + 1 && isName(tokens[i]) ? facts('ROLLBACK', 'transaction') : undefined;
    }
    case 'DEALLOCATE':
    case 'DROP':
      return n === 3 && w[1] === 'PREPARE' && isName(tokens[2]) ? facts('DEALLOCATE', 'deallocate', 'session') : undefined;
    case 'PREPARE': {
      if (n !== 4 || !isName(tokens[1]) || w[2] !== 'FROM') return undefined;
      const source = tokens[3]!;
      if (source.kind === 'string') return { kind: 'prepare', name: tokens[1]!.value, text: source.value };
      // The text is a variable's value: unknowable here.
      if (isUserVariable(source)) return { kind: 'facts', operation: 'PREPARE', kinds: ['prepare', 'dynamic-sql'], flags: ['dynamic-sql'] };
      return undefined;
    }
    case 'EXECUTE': {
      // EXECUTE IMMEDIATE runs an expression's value as SQL (MariaDB).
      if (w[1] === 'IMMEDIATE') return n > 2 ? { kind: 'facts', operation: 'EXECUTE', kinds: ['execute', 'dynamic-sql'], flags: ['dynamic-sql'] } : undefined;
      if (!isName(tokens[1])) return undefined;
      if (n === 2 || (w[2] === 'USING' && variableList(tokens.slice(3)))) {
        return { kind: 'facts', operation: 'EXECUTE', kinds: ['execute', 'dynamic-sql'], flags: ['dynamic-sql'] };
      }
      return undefined;
    }
    case 'DO':
      return n > 1 ? { kind: 'do', select: `SELECT ${cutFrom(canonical, tokens, 1)}` } : undefined;
    case 'EXPLAIN':
    case 'DESCRIBE':
    case 'DESC':
      return w[1] === 'ANALYZE' && n > 2 ? { kind: 'analyze', operation: 'EXPLAIN', statement: cutFrom(canonical, tokens, 2) } : undefined;
    case 'ANALYZE': {
      // MariaDB's ANALYZE [FORMAT=JSON] stmt runs the statement; ANALYZE TABLE is maintenance.
      let i = 1;
      if (w[1] === 'FORMAT' && tokens[2]?.value === '=' && isName(tokens[3])) i = 4;
      if (['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH'].includes(w[i] ?? '')) {
        return { kind: 'analyze', operation: 'ANALYZE', statement: cutFrom(canonical, tokens, i) };
      }
      return maintenance(w, tokens, 'ANALYZE');
    }
    case 'OPTIMIZE':
    case 'CHECK':
    case 'REPAIR':
    case 'CHECKSUM':
      return maintenance(w, tokens, w[0]);
    case 'FLUSH':
      // FLUSH [NO_WRITE_TO_BINLOG|LOCAL] option [, option]: only words and commas.
      return n > 1 && tokens.slice(1).every((t) => isName(t) || (t.kind === 'symbol' && t.value === ',')) ? facts('FLUSH', 'flush', 'admin') : undefined;
    default:
      return undefined;
  }
}

/** ANALYZE|OPTIMIZE|CHECK|REPAIR|CHECKSUM [NO_WRITE_TO_BINLOG|LOCAL] TABLE t [, t] [options]. */
function maintenance(w: readonly string[], tokens: readonly Token[], operation: string): TokenForm | undefined {
  let i = 1;
  if (w[i] === 'NO_WRITE_TO_BINLOG' || w[i] === 'LOCAL') i++;
  if (w[i] !== 'TABLE' && w[i] !== 'TABLES') return undefined;
  i++;
  const tables: { schema?: string; name: string }[] = [];
  for (;;) {
    const a = tokens[i];
    if (!isName(a)) return undefined;
    if (tokens[i + 1]?.value === '.' && tokens[i + 1]?.kind === 'symbol' && isName(tokens[i + 2])) {
      tables.push({ schema: a!.value, name: tokens[i + 2]!.value });
      i += 3;
    } else {
      tables.push({ name: a!.value });
      i++;
    }
    if (tokens[i]?.kind === 'symbol' && tokens[i]?.value === ',') {
      i++;
      continue;
    }
    break;
  }
  const OPTIONS = new Set(['QUICK', 'FAST', 'MEDIUM', 'EXTENDED', 'CHANGED', 'USE_FRM', 'FOR', 'UPGRADE', 'PERSISTENT', 'ALL']);
  if (!w.slice(i).every((x) => OPTIONS.has(x))) return undefined;
  return { kind: 'facts', operation: `${operation} TABLE`, kinds: ['maintenance', 'admin'], flags: [], tables };
}

/** ISOLATION LEVEL …, READ WRITE, READ ONLY, separated by commas. */
function transactionCharacteristics(w: readonly string[], tokens: readonly Token[]): boolean {
  const LEVELS = [['READ', 'UNCOMMITTED'], ['READ', 'COMMITTED'], ['REPEATABLE', 'READ'], ['SERIALIZABLE']];
  let i = 0;
  for (;;) {
    if (w[i] === 'ISOLATION' && w[i + 1] === 'LEVEL') {
      const level = LEVELS.find((l) => l.every((x, k) => w[i + 2 + k] === x));
      if (!level) return false;
      i += 2 + level.length;
    } else if (w[i] === 'READ' && (w[i + 1] === 'WRITE' || w[i + 1] === 'ONLY')) {
      i += 2;
    } else {
      return false;
    }
    if (i === tokens.length) return true;
    if (tokens[i]?.kind !== 'symbol' || tokens[i]?.value !== ',') return false;
    i++;
  }
}

/** @a [, @b …] */
function variableList(tokens: readonly Token[]): boolean {
  if (tokens.length === 0) return false;
  return tokens.every((t, i) => (i % 2 === 0 ? isUserVariable(t) : t.kind === 'symbol' && t.value === ',')) && tokens.length % 2 === 1;
}

/** The canonical text from token `from` on. */
function cutFrom(canonical: string, tokens: readonly Token[], from: number): string {
  return canonical.slice(canonicalOffset(canonical, tokens, from)).trim();
}

function cutBetween(canonical: string, tokens: readonly Token[], from: number, to: number): string {
  return canonical.slice(canonicalOffset(canonical, tokens, from), canonicalOffset(canonical, tokens, to)).trim();
}

/** Where token `index` starts in the canonical text (sql-lexer records it on each token). */
function canonicalOffset(_canonical: string, tokens: readonly Token[], index: number): number {
  const t = tokens[index];
  if (!t || t.canonicalStart === undefined) throw new Error('token without a canonical offset');
  return t.canonicalStart;
}
