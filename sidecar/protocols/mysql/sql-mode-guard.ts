// Which sql_mode values a session may switch to: those under which sidegate's lexer still reads
// statements as the server does. ANSI_QUOTES (`"` quotes names) and NO_BACKSLASH_ESCAPES (`\` is
// an ordinary character) change lexing, and so do the combination modes that include them
// (ANSI, ORACLE, POSTGRESQL, MSSQL, DB2, MAXDB; MariaDB's ORACLE mode changes the grammar too).
// An allow-list, so a mode this list does not know, a numeric bit mask or an expression is
// refused: the server would apply it before sidegate could tell what it means.

/** Modes that change neither how strings and names are lexed nor the grammar sidegate applies. */
const READABLE_MODES = new Set([
  '',
  'ALLOW_INVALID_DATES',
  'EMPTY_STRING_IS_NULL',
  'ERROR_FOR_DIVISION_BY_ZERO',
  'HIGH_NOT_PRECEDENCE',
  'IGNORE_BAD_TABLE_OPTIONS',
  'IGNORE_SPACE',
  'NO_AUTO_CREATE_USER',
  'NO_AUTO_VALUE_ON_ZERO',
  'NO_DIR_IN_CREATE',
  'NO_ENGINE_SUBSTITUTION',
  'NO_FIELD_OPTIONS',
  'NO_KEY_OPTIONS',
  'NO_TABLE_OPTIONS',
  'NO_UNSIGNED_SUBTRACTION',
  'NO_ZERO_DATE',
  'NO_ZERO_IN_DATE',
  'ONLY_FULL_GROUP_BY',
  'PAD_CHAR_TO_FULL_LENGTH',
  'PIPES_AS_CONCAT',
  'REAL_AS_FLOAT',
  'SIMULTANEOUS_ASSIGNMENT',
  'STRICT_ALL_TABLES',
  'STRICT_TRANS_TABLES',
  'TIME_ROUND_FRACTIONAL',
  'TRADITIONAL',
  'MYSQL323',
  'MYSQL40',
]);

/** Whether a statement may set sql_mode to `mode` (upper case literal, or '?' for an expression). */
export function sqlModeReadable(mode: string): boolean {
  if (mode === '?') return false;
  return mode.split(',').every((m) => READABLE_MODES.has(m.trim()));
}
