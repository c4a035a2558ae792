// MySQL/MariaDB built-in functions by effect (pure data). A SELECT can read a server file, sleep,
// take a named lock or advance a sequence: each effect is a kind of its own so that a `read` rule
// never covers it by accident. Same vocabulary as the PostgreSQL table (sidecar/protocols/postgres/
// sql-functions.ts): one policy reads the same across protocols.

export interface FunctionEffect {
  /** Kinds the call adds, most specific first. */
  kinds: readonly string[];
  /** The call is decided as a nested command of its own (it needs an allow of its own). */
  separate: boolean;
}

const FILE_READ: FunctionEffect = { kinds: ['server-file-read', 'server-file'], separate: true };
const SLEEP: FunctionEffect = { kinds: ['sleep'], separate: false };
const ADVISORY_LOCK: FunctionEffect = { kinds: ['advisory-lock', 'lock'], separate: false };
const SEQUENCE_WRITE: FunctionEffect = { kinds: ['sequence-write'], separate: true };
// lib_mysqludf_sys, the usual way to run a program from SQL once a UDF is installed.
const SERVER_PROGRAM: FunctionEffect = { kinds: ['server-program'], separate: true };

function each(names: string, effect: FunctionEffect): [string, FunctionEffect][] {
  return names.split(/\s+/).filter(Boolean).map((n) => [n, effect]);
}

/** By lower-case name: MySQL function names are case-insensitive. */
export const MYSQL_FUNCTIONS: ReadonlyMap<string, FunctionEffect> = new Map([
  ['load_file', FILE_READ],
  ...each('sleep benchmark', SLEEP),
  ...each('get_lock release_lock release_all_locks is_free_lock is_used_lock', ADVISORY_LOCK),
  ...each('nextval setval lastval', SEQUENCE_WRITE),
  ...each('sys_exec sys_eval', SERVER_PROGRAM),
]);

/** The effect of a call to `name` (as written, `db.f` or `f`), if it is a built-in with one. */
export function functionEffect(name: string): FunctionEffect | undefined {
  // A qualified name is a stored function in that schema, never the built-in.
  return name.includes('.') ? undefined : MYSQL_FUNCTIONS.get(name);
}
