// A file whose parsed content is cached until the file changes. Used for the projected
// ServiceAccount token (kubelet rotates it by swapping a `..data` symlink, so the inode changes),
// a JWKS file and the credentials file (edited or re-mounted in place).
//
// Change detection stats the path on every read — one syscall — and compares inode, size and the
// nanosecond mtime/ctime: a same-second rewrite or a chmod (ctime) are both noticed, and nothing
// relies on fs.watch, which misses symlink swaps on some filesystems.
import { open, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';

export type FileProblem = 'missing' | 'empty' | 'not-a-file' | 'too-large' | 'unreadable';

/** Why a file could not be read. The message names the file, never its content. */
export class FileReadError extends Error {
  override readonly name = 'FileReadError';

  constructor(
    readonly problem: FileProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface ReloadingFileOptions<T> {
  /** Larger files are refused without being read. */
  maxBytes: number;
  /** Turns the text into the cached value; throw to refuse it (the next read tries again). */
  parse: (text: string) => T;
  /** Checks the file's metadata before it is read (e.g. permissions); throw to refuse it. */
  check?: (stats: BigIntStats) => void;
}

function versionOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.mode}`;
}

export class ReloadingFile<T> {
  private cached: { version: string; value: T } | undefined;

  constructor(
    readonly path: string,
    private readonly opts: ReloadingFileOptions<T>,
  ) {}

  /** The parsed content, re-read and re-parsed only when the file changed since the last read. */
  async read(): Promise<T> {
    const version = versionOf(await this.statPath());
    if (this.cached?.version === version) return this.cached.value;
    const { text, stats } = await this.readBounded();
    const value = this.opts.parse(text);
    // Cache under the version of what was actually read, so a change racing this read is picked
    // up by the next one instead of being hidden behind a stale version.
    this.cached = { version: versionOf(stats), value };
    return value;
  }

  private async statPath(): Promise<BigIntStats> {
    try {
      return await stat(this.path, { bigint: true });
    } catch (err) {
      throw this.describe(err);
    }
  }

  private async readBounded(): Promise<{ text: string; stats: BigIntStats }> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      throw this.describe(err);
    }
    try {
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) throw new FileReadError('not-a-file', `${this.path} is not a regular file`);
      this.opts.check?.(stats);
      if (stats.size > BigInt(this.opts.maxBytes)) throw this.tooLarge();
      // Read one byte past the bound: the file may have grown since fstat.
      const buffer = Buffer.alloc(this.opts.maxBytes + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > this.opts.maxBytes) throw this.tooLarge();
      }
      return { text: buffer.subarray(0, length).toString('utf8'), stats };
    } catch (err) {
      throw err instanceof FileReadError ? err : this.describe(err);
    } finally {
      await handle.close();
    }
  }

  private tooLarge(): FileReadError {
    return new FileReadError('too-large', `${this.path} is larger than ${this.opts.maxBytes} bytes`);
  }

  private describe(err: unknown): Error {
    if (err instanceof FileReadError) return err;
    // Errors raised by `check` or `parse` (e.g. a permission refusal) pass through unchanged;
    // only system errors (they carry a numeric errno) are described here.
    if (typeof (err as NodeJS.ErrnoException).errno !== 'number') return err as Error;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new FileReadError('missing', `${this.path} does not exist`);
    if (code === 'EISDIR') return new FileReadError('not-a-file', `${this.path} is not a regular file`);
    if (code === 'EACCES' || code === 'EPERM') return new FileReadError('unreadable', `${this.path} is not readable by this process (${code})`);
    return new FileReadError('unreadable', `${this.path} could not be read (${code ?? 'unknown error'})`);
  }
}
