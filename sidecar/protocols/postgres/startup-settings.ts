// What a client's StartupMessage may set. PostgreSQL applies every startup parameter other than
// user/database/options/replication as a setting (and `options` carries more, as `-c name=value`),
// before any statement runs: a setting that changes how names resolve, how literals parse or who
// the session is would escape policy entirely. So each setting is decided here: a short allowlist
// is forwarded, client_encoding is checked (the upstream is pinned to UTF8), and everything else
// is refused with an error naming it — a client's setting is never dropped without telling it.
import { checkClientEncoding } from './client-encoding.js';

/** Settings (lower-cased, as PostgreSQL compares them) a client may pass at startup. */
const FORWARDED_SETTINGS: ReadonlySet<string> = new Set([
  'application_name',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  // libpq sends PGGEQO's value; a planner switch.
  'geqo',
]);

/** How to tell a client what it may set, in refusals. */
const ALLOWED_LIST = 'application_name, DateStyle, TimeZone, IntervalStyle, extra_float_digits, statement_timeout, lock_timeout, idle_in_transaction_session_timeout, idle_session_timeout, geqo, client_encoding=UTF8';

/** PostgreSQL's parse_bool false spellings (replication=false is the same as no replication). */
const FALSE_WORDS: ReadonlySet<string> = new Set(['false', 'f', 'off', 'no', 'n', '0']);

export type StartupDecision =
  | {
      ok: true;
      /** Settings to send upstream as startup parameters (lower-cased names; options' first, as the server applies them). */
      forward: Record<string, string>;
      /** `_pq_.` protocol options the client asked for, none of which sidegate supports (NegotiateProtocolVersion). */
      unsupportedProtocolOptions: string[];
    }
  | { ok: false; sqlState: string; message: string };

/** Decides every setting of a StartupMessage's parameters (decoded strictly as UTF-8 by the framer). */
export function decideStartup(params: Readonly<Record<string, string>>): StartupDecision {
  const forward: Record<string, string> = Object.create(null) as Record<string, string>;
  const unsupportedProtocolOptions: string[] = [];
  // The server applies `options` first, then the other parameters in order (the last wins).
  const options = params['options'];
  if (options !== undefined) {
    const parsed = parseOptions(options);
    if (!parsed.ok) return parsed;
    for (const [name, value] of parsed.settings) {
      const refused = decideSetting(name, value, 'options', forward);
      if (refused) return refused;
    }
  }
  for (const [name, value] of Object.entries(params)) {
    if (name === 'user' || name === 'database' || name === 'options') continue;
    if (name === 'replication') {
      if (FALSE_WORDS.has(value.trim().toLowerCase())) continue;
      return { ok: false, sqlState: '0A000', message: 'sidegate: replication connections are not supported through sidegate' };
    }
    if (name.startsWith('_pq_.')) {
      unsupportedProtocolOptions.push(name);
      continue;
    }
    const refused = decideSetting(name, value, 'startup parameter', forward);
    if (refused) return refused;
  }
  return { ok: true, forward, unsupportedProtocolOptions };
}

function decideSetting(name: string, value: string, from: 'options' | 'startup parameter', forward: Record<string, string>): StartupDecision | undefined {
  const key = name.toLowerCase();
  if (key === 'client_encoding') {
    const verdict = checkClientEncoding(value);
    // Accepted means UTF-8 bytes either way: the upstream is always UTF8 (upstream-connection.ts).
    return verdict.ok ? undefined : { ok: false, sqlState: '22023', message: verdict.message };
  }
  if (FORWARDED_SETTINGS.has(key)) {
    forward[key] = value;
    return undefined;
  }
  const where = from === 'options' ? `in options (-c ${name.slice(0, 64)}=…)` : 'as a startup parameter';
  return {
    ok: false,
    sqlState: '42501',
    message: `sidegate: setting ${JSON.stringify(name.slice(0, 64))} ${where} is not allowed: it would change the session before any statement policy can see; sidegate accepts at startup only ${ALLOWED_LIST}`,
  };
}

export type ParsedOptions = { ok: true; settings: [string, string][] } | { ok: false; sqlState: string; message: string };

/**
 * The `options` startup parameter as PostgreSQL reads it (pg_split_opts, then
 * process_postgres_switches): words split at unescaped white space, `\` escaping the next
 * character; `-c name=value`, `-cname=value` and `--name=value` set `name` (dashes in the name
 * read as underscores). Every other switch (-B, -d, -e, -P, -S, …) is refused: each changes the
 * session in a way policy cannot see.
 */
export function parseOptions(options: string): ParsedOptions {
  const words = splitOptions(options);
  const settings: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let assignment: string | undefined;
    if (word === '-c') {
      assignment = words[++i];
      if (assignment === undefined) return refuseSwitch('-c requires a name=value argument');
    } else if (word.startsWith('-c')) {
      assignment = word.slice(2);
    } else if (word.startsWith('--') && word.length > 2) {
      assignment = word.slice(2);
    } else {
      return refuseSwitch(`${JSON.stringify(word.slice(0, 64))} is not accepted (only -c name=value and --name=value are)`);
    }
    const eq = assignment.indexOf('=');
    if (eq <= 0) return refuseSwitch(`${JSON.stringify(assignment.slice(0, 64))} requires a value (name=value)`);
    settings.push([assignment.slice(0, eq).replace(/-/g, '_'), assignment.slice(eq + 1)]);
  }
  return { ok: true, settings };
}

function refuseSwitch(why: string): ParsedOptions {
  return { ok: false, sqlState: '42601', message: `sidegate: invalid options startup parameter: ${why}` };
}

/** pg_split_opts: C isspace separates words unless escaped by a backslash. */
function splitOptions(s: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
    if (i >= s.length) break;
    let word = '';
    let escaped = false;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (!escaped && isCSpace(s.charCodeAt(i))) break;
      if (!escaped && c === '\\') escaped = true;
      else {
        escaped = false;
        word += c;
      }
    }
    words.push(word);
  }
  return words;
}

function isCSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}
