// Session settings that change how the server reads the client's bytes (pure): the character
// set it decodes statements in (character_set_client, SET NAMES, SET CHARACTER SET) and sql_mode
// (ANSI_QUOTES, NO_BACKSLASH_ESCAPES change how a statement is lexed). The proxy refuses values
// under which its own reading could differ from the server's; these functions only report them.
import type { Assignment } from './sql-statement-facts.js';
import type { Token } from './sql-lexer.js';

export interface SessionSettings {
  /** The client character set the statement sets: lower case, or '?' when not a literal. */
  charset?: string;
  /** The sql_mode the statement sets: upper case, or '?' when not a literal. */
  sqlMode?: string;
}

/** Variables whose assignment changes how the server decodes the client's bytes. */
const CLIENT_CHARSET_VARIABLES: ReadonlySet<string> = new Set(['character_set_client']);

/** What a SET's assignments do to the session's charset and sql_mode. The last assignment wins. */
export function sessionSettings(assignments: readonly Assignment[], strings: readonly string[]): SessionSettings {
  const out: SessionSettings = {};
  for (const a of assignments) {
    if (a.name === undefined) continue;
    if (CLIENT_CHARSET_VARIABLES.has(a.name)) out.charset = literalValue(a.value, strings)?.toLowerCase() ?? '?';
    if (a.name === 'sql_mode') out.sqlMode = literalValue(a.value, strings)?.toUpperCase() ?? '?';
  }
  return out;
}

/** A string literal (through its stand-in) or a bare word (`SET sql_mode = ANSI`). */
function literalValue(value: unknown, strings: readonly string[]): string | undefined {
  const v = value as Record<string, unknown> | undefined;
  if (!v) return undefined;
  if ((v['type'] === 'single_quote_string' || v['type'] === 'double_quote_string') && typeof v['value'] === 'string') {
    const m = /^s(\d+)$/.exec(v['value']);
    return m ? strings[Number(m[1])] : undefined;
  }
  if (v['type'] === 'column_ref' && !v['table'] && typeof v['column'] === 'string') {
    // DEFAULT restores the global value, which the statement does not say.
    return v['column'].toUpperCase() === 'DEFAULT' ? undefined : v['column'];
  }
  return undefined;
}

/**
 * For a statement the grammar rejected: whether its words could change the charset or sql_mode,
 * read as widely as possible (any SET mentioning NAMES, CHARSET, CHARACTER, character_set_client
 * or sql_mode), so a statement no one could parse cannot change them unseen.
 */
export function possibleSessionSettings(tokens: readonly Token[]): SessionSettings {
  const first = tokens[0];
  if (!first || first.kind !== 'word' || first.value.toUpperCase() !== 'SET') return {};
  const out: SessionSettings = {};
  for (const t of tokens) {
    if (t.kind !== 'word' && t.kind !== 'quoted-name' && t.kind !== 'variable') continue;
    // @user variables are the client's own: only @@system variables are settings.
    if (t.kind === 'variable' && !t.value.startsWith('@@')) continue;
    const v = t.value.toLowerCase();
    if (/(^|[.@])(names|charset|character|character_set_client)$/.test(v)) out.charset = '?';
    if (/(^|[.@])sql_mode$/.test(v)) out.sqlMode = '?';
  }
  return out;
}
