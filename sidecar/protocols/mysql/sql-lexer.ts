// The MySQL/MariaDB lexer (pure): statement boundaries, comments and executable comments read
// exactly as the server reads them (sql_lex.cc), which no parser package does. The grammar then
// parses each statement's canonical text, where nothing can mean one thing to sidegate and
// another to the server: comments are gone, executable comments are code, string literals are
// stand-ins whose decoded values are kept here, and `--` that is not a comment reads `- -`.

export type TokenKind =
  /** Unquoted identifier or keyword (`SELECT`, `t`, `_utf8mb4`, `1abc`). */
  | 'word'
  /** `` `name` ``: value is the name with doubled backticks undone. */
  | 'quoted-name'
  /** '…', "…", N'…', _charset'…': value is the decoded text. */
  | 'string'
  /** X'…', 0x…, B'…', 0b…, with or without a _charset introducer. */
  | 'binary-literal'
  | 'number'
  /** @name, @'name', @@name, @@session.name. */
  | 'variable'
  /** `?` */
  | 'placeholder'
  /** Any other punctuation or operator character (`-` always alone). */
  | 'symbol';

export interface Token {
  kind: TokenKind;
  /** Source offsets (UTF-16 units) into the whole text. */
  start: number;
  end: number;
  /** Decoded value for strings and quoted names; the source text otherwise. */
  value: string;
  /** Inside an executable comment (`/*! … *\/`, `/*M! … *\/`). */
  executable?: boolean;
  /** Where the token starts in its statement's canonical text. */
  canonicalStart?: number;
}

export interface LexedStatement {
  /** Offsets of the statement in the whole text: from after the previous `;` to before its own. */
  start: number;
  end: number;
  /** The statement's own text: the source slice, trimmed. */
  text: string;
  tokens: Token[];
  /**
   * The text the grammar parses: comments as a space, executable-comment markers removed, string
   * literals as `'s<index>'` (index into `strings`), `-` always followed by a space. Not trimmed
   * at the start (tokens' `canonicalStart` point into it).
   */
  canonical: string;
  /** Decoded values of the statement's string literals, by their stand-in index. */
  strings: string[];
  /** Code arrived in an executable comment. */
  executableComment: boolean;
}

export interface LexOptions {
  dialect: 'mysql' | 'mariadb';
  /** sql_mode NO_BACKSLASH_ESCAPES: a backslash in a string is an ordinary character. */
  noBackslashEscapes?: boolean;
}

export type LexResult = { ok: true; statements: LexedStatement[] } | { ok: false; error: string };

/** Character sets a `_name` introducer can name (MySQL 8 and MariaDB 10.11). */
const CHARSETS: ReadonlySet<string> = new Set(
  ('big5 dec8 cp850 hp8 koi8r latin1 latin2 swe7 ascii ujis sjis hebrew tis620 euckr koi8u gb2312 greek cp1250 gbk latin5 ' +
    'armscii8 utf8 utf8mb3 ucs2 cp866 keybcs2 macce macroman cp852 latin7 utf8mb4 cp1251 utf16 utf16le cp1256 cp1257 utf32 ' +
    'binary geostd8 cp932 eucjpms gb18030 filename').split(' '),
);

/** The server's my_isspace for the `-- ` rule. */
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
/** my_iscntrl: a control character after `--` also makes a comment; so does the end of the text. */
const isControl = (c: string | undefined): boolean => c === undefined || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;
const isIdentChar = (c: string | undefined): boolean => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

const ESCAPES: Readonly<Record<string, string>> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };

class LexError extends Error {}

/**
 * Splits `text` into statements as the server does with multi-statements enabled. Statements
 * holding only comments and whitespace are dropped (the server answers them with an error and
 * runs nothing). Unterminated strings, names or comments, a nested executable comment, and an
 * executable comment the server might read differently (see `executableEnd`) are errors.
 */
export function lexMysql(text: string, opts: LexOptions): LexResult {
  try {
    return { ok: true, statements: new Lexer(text, opts).run() };
  } catch (err) {
    if (err instanceof LexError) return { ok: false, error: err.message };
    throw err;
  }
}

class Lexer {
  private pos = 0;
  /** Reading an executable comment's content as code; it ends at `executableClose`. */
  private inExecutable = false;
  private executableClose = -1;
  private statements: LexedStatement[] = [];
  private current = this.fresh(0);

  constructor(
    private readonly text: string,
    private readonly opts: LexOptions,
  ) {}

  private fresh(start: number): LexedStatement & { canonicalParts: string[]; canonicalLength: number } {
    return { start, end: start, text: '', tokens: [], canonical: '', strings: [], executableComment: false, canonicalParts: [], canonicalLength: 0 };
  }

  run(): LexedStatement[] {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      const next = t[this.pos + 1];
      if (isSpace(c)) {
        this.emitCanonical(c);
        this.pos++;
      } else if (c === '#') {
        this.lineComment();
      } else if (c === '-' && next === '-' && (isSpace(t[this.pos + 2]) || isControl(t[this.pos + 2]))) {
        this.lineComment();
      } else if (c === '/' && next === '*') {
        this.blockComment();
      } else if (c === '*' && next === '/' && this.inExecutable && this.pos === this.executableClose) {
        this.inExecutable = false;
        this.emitCanonical(' ');
        this.pos += 2;
      } else if (c === ';') {
        this.endStatement(this.pos);
        this.pos++;
        this.current = this.fresh(this.pos);
      } else if (c === "'" || c === '"') {
        const start = this.pos;
        const value = this.quoted(c, !this.opts.noBackslashEscapes);
        this.pushString(start, value);
      } else if (c === '`') {
        const start = this.pos;
        const value = this.quoted('`', false);
        this.push('quoted-name', start, value, t.slice(start, this.pos));
      } else if (c === '@') {
        this.variable();
      } else if (c === '?') {
        this.pos++;
        this.push('placeholder', this.pos - 1, '?', '?');
      } else if (isDigit(c) || (c === '.' && isDigit(next) && !this.afterName())) {
        this.numberOrWord();
      } else if (isIdentChar(c)) {
        this.word();
      } else {
        this.pos++;
        // `-` is always followed by a space for the grammar, so `--1` cannot become a comment there.
        this.push('symbol', this.pos - 1, c, c === '-' ? '- ' : c);
      }
      if (this.inExecutable && this.pos > this.executableClose) {
        throw new LexError('executable comment whose end depends on how the server reads it');
      }
    }
    if (this.inExecutable) throw new LexError('unterminated executable comment');
    this.endStatement(t.length);
    return this.statements;
  }

  /** A dot right after a name qualifies it (`t.5x`), it does not start a number. */
  private afterName(): boolean {
    const last = this.current.tokens[this.current.tokens.length - 1];
    return last !== undefined && last.end === this.pos && (last.kind === 'word' || last.kind === 'quoted-name');
  }

  private endStatement(end: number): void {
    const s = this.current;
    if (s.tokens.length === 0) return;
    s.end = end;
    s.text = this.text.slice(s.start, end).trim();
    // Leading space is kept: tokens' canonicalStart offsets count it.
    s.canonical = s.canonicalParts.join('').trimEnd();
    const { canonicalParts: _, canonicalLength: __, ...statement } = s;
    this.statements.push(statement);
  }

  private emitCanonical(piece: string): void {
    this.current.canonicalParts.push(piece);
    this.current.canonicalLength += piece.length;
  }

  private push(kind: TokenKind, start: number, value: string, canonical: string): Token {
    const token: Token = { kind, start, end: this.pos, value, canonicalStart: this.current.canonicalLength };
    if (this.inExecutable) {
      token.executable = true;
      this.current.executableComment = true;
    }
    this.current.tokens.push(token);
    this.emitCanonical(canonical);
    return token;
  }

  private pushString(start: number, value: string): void {
    const index = this.current.strings.length;
    this.current.strings.push(value);
    this.push('string', start, value, `'s${index}'`);
  }

  private lineComment(): void {
    const end = this.text.indexOf('\n', this.pos);
    this.pos = end === -1 ? this.text.length : end;
    this.emitCanonical(' ');
  }

  private blockComment(): void {
    const t = this.text;
    const start = this.pos;
    const bang = t[start + 2] === '!' ? 3 : t[start + 2] === 'M' && t[start + 3] === '!' ? 4 : 0;
    if (bang === 0) {
      // A plain comment (optimizer hints `/*+ … */` included) ends at the first `*/`.
      const end = t.indexOf('*/', start + 2);
      if (end === -1) throw new LexError('unterminated comment');
      this.pos = end + 2;
      this.emitCanonical(' ');
      return;
    }
    if (this.inExecutable) throw new LexError('nested executable comment');
    let at = start + bang;
    // A version: 5 digits; MariaDB reads a sixth one too. Whatever the version, the content is
    // read as code: if the server skips it instead, it runs less than sidegate decided on.
    let digits = 0;
    while (isDigit(t[at + digits])) digits++;
    if (digits >= 5) at += this.opts.dialect === 'mariadb' && digits >= 6 ? 6 : 5;
    // A server that skips the comment (version too high, `/*M!` on MySQL) ends it at the first
    // `*/`, strings or not; read as code, it must end there too (checked in `run`: no string,
    // name or `#` comment may span it), and a nested comment would end one reading early.
    const close = t.indexOf('*/', at);
    if (close === -1) throw new LexError('unterminated executable comment');
    if (t.slice(at, close).includes('/*')) throw new LexError('comment nested in an executable comment');
    this.executableClose = close;
    this.inExecutable = true;
    this.current.executableComment = true;
    this.emitCanonical(' ');
    this.pos = at;
  }

  /** A quoted string or name starting at `pos`; returns its decoded value. */
  private quoted(quote: string, backslashEscapes: boolean): string {
    const t = this.text;
    let at = this.pos + 1;
    let value = '';
    for (;;) {
      if (at >= t.length) throw new LexError(quote === '`' ? 'unterminated quoted name' : 'unterminated string');
      const c = t[at]!;
      if (c === '\\' && backslashEscapes) {
        if (at + 1 >= t.length) throw new LexError('unterminated string');
        const e = t[at + 1]!;
        value += ESCAPES[e] ?? e;
        at += 2;
      } else if (c === quote) {
        if (t[at + 1] === quote) {
          value += quote;
          at += 2;
        } else {
          at++;
          break;
        }
      } else {
        value += c;
        at++;
      }
    }
    this.pos = at;
    return value;
  }

  private variable(): void {
    const t = this.text;
    const start = this.pos;
    this.pos++;
    if (t[this.pos] === '@') this.pos++;
    const q = t[this.pos];
    if (q === "'" || q === '"' || q === '`') {
      // @'name': the quotes are part of the variable's name, not a literal.
      this.quoted(q, q !== '`' && !this.opts.noBackslashEscapes);
      const index = this.current.tokens.length;
      this.push('variable', start, t.slice(start, this.pos), `@quoted_${index}`);
      return;
    }
    // @@session.name, @@global.name: the dot belongs to the variable.
    while (isIdentChar(t[this.pos]) || (t[this.pos] === '.' && isIdentChar(t[this.pos + 1]) && t[start + 1] === '@')) this.pos++;
    const source = t.slice(start, this.pos);
    this.push('variable', start, source, source);
  }

  private numberOrWord(): void {
    const t = this.text;
    const start = this.pos;
    const hex = /^0x[0-9a-fA-F]+/.exec(t.slice(start, start + 4096));
    const bits = /^0b[01]+/.exec(t.slice(start, start + 4096));
    const special = hex ?? bits;
    if (special && !isIdentChar(t[start + special[0].length])) {
      this.pos = start + special[0].length;
      this.push('binary-literal', start, special[0], special[0]);
      return;
    }
    const m = /^\d*(?:\.\d*)?(?:[eE][+-]?\d+)?/.exec(t.slice(start, start + 4096))!;
    const end = start + m[0].length;
    // MySQL names may start with digits (`1abc`): a number followed by a name character is a name.
    if (m[0] !== '' && m[0] !== '.' && (!isIdentChar(t[end]) || m[0].includes('.'))) {
      this.pos = end;
      this.push('number', start, m[0], m[0]);
      return;
    }
    this.word();
  }

  private word(): void {
    const t = this.text;
    const start = this.pos;
    while (isIdentChar(t[this.pos])) this.pos++;
    const w = t.slice(start, this.pos);
    const lower = w.toLowerCase();
    const q = t[this.pos];
    if ((lower === 'x' || lower === 'b') && q === "'") {
      this.quoted("'", false);
      this.push('binary-literal', start, t.slice(start, this.pos), t.slice(start, this.pos));
      return;
    }
    if (lower === 'n' && q === "'") {
      const value = this.quoted("'", !this.opts.noBackslashEscapes);
      this.pushString(start, value);
      return;
    }
    if (lower.startsWith('_') && CHARSETS.has(lower.slice(1))) {
      // An introducer: `_utf8mb4'a'`, `_binary 0x41`, whitespace allowed between.
      let at = this.pos;
      while (isSpace(t[at])) at++;
      const c = t[at];
      if (c === "'" || c === '"') {
        this.pos = at;
        const value = this.quoted(c, !this.opts.noBackslashEscapes);
        this.pushString(start, value);
        return;
      }
      const literal = /^(?:0x[0-9a-fA-F]+|0b[01]+|[xXbB]'[^']*')/.exec(t.slice(at, at + 4096));
      if (literal && !isIdentChar(t[at + literal[0].length])) {
        this.pos = at + literal[0].length;
        this.push('binary-literal', start, t.slice(start, this.pos), literal[0]);
        return;
      }
    }
    this.push('word', start, w, w);
  }
}

/** Literal tokens: what `db.query.text` replaces with `?`. */
export function isLiteral(token: Token): boolean {
  return token.kind === 'string' || token.kind === 'number' || token.kind === 'binary-literal';
}

/**
 * The statement's own text with every literal replaced by `?` and every comment dropped
 * (db.query.text): a comment can carry a value (a pasted secret, sqlcommenter tags), and
 * executable comments keep only their code. Tokens are joined by one space where anything
 * separated them, and two `-` are never joined (`- -`, not a comment).
 */
export function literalFreeText(text: string, statement: LexedStatement): string {
  let out = '';
  let previous: Token | undefined;
  for (const tok of statement.tokens) {
    if (previous && (tok.start > previous.end || (tok.value === '-' && previous.value === '-'))) out += ' ';
    out += isLiteral(tok) ? '?' : text.slice(tok.start, tok.end);
    previous = tok;
  }
  return out;
}
