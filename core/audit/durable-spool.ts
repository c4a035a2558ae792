// A durable FIFO of text records (one JSON line each) in a directory: the audit spool.
//
// Layout: numbered segment files (`segment-0000000000000001.jsonl`, appended to and fsync'd once
// per batch) and `committed.json` ({segment, offset}: everything before it has been delivered).
// Committing writes that file atomically (temp + fsync + rename + directory fsync) and deletes
// segments wholly before it; a segment is rolled when it grows past `segmentBytes`, so delivered
// data is reclaimed without copying. Opening the spool after a crash drops a torn last line (a
// batch that never finished its fsync was never acknowledged to anyone) and resumes from the
// committed position, so undelivered records are delivered by the next run (at least once).
//
// What this process appends is also kept in memory (bounded) until it is committed, so while the
// exporter keeps up a batch is served without reading back what was just written; the disk copy
// is what survives a crash, the memory copy only saves the read.
//
// One writer (append) and one reader (readBatch/commit) may run concurrently: they touch
// disjoint state (the reader never reads past the size the writer has made durable, and only
// deletes segments older than the one being written).
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolBufferPool, type PooledBuffer } from './spool-buffer-pool.js';

export interface SpoolCursor {
  segment: number;
  offset: number;
}

export interface SpoolBatch {
  /** Each record's bytes (no newline); views of what was read or written, not copies. */
  records: Buffer[];
  /** Position of the first record and just after the last one. */
  start: SpoolCursor;
  end: SpoolCursor;
  /** Bytes the batch occupies on disk (records plus newlines). */
  bytes: number;
  /** Served from this process's memory copy of its own appends (not read back from disk). */
  fromMemory: boolean;
}

export interface DurableSpoolOptions {
  /** Roll to a new segment past this size (default 8 MiB). */
  segmentBytes?: number;
  /** Most bytes of appended, uncommitted records kept in memory (default 16 MiB). */
  memoryBytes?: number;
}

/**
 * A record appended by this process, with its place on disk. Its bytes stay in the buffer that
 * was written: off the JS heap, so the garbage collector does not copy span records again and
 * again while they wait for export.
 */
interface RecentRecord {
  segment: number;
  offset: number;
  data: Buffer;
  /** Where the record starts in `data`. */
  at: number;
  /** On disk, newline included. */
  bytes: number;
  /** Set on a batch's last record: its buffer goes back to the pool when this record is dropped. */
  batch?: PooledBuffer;
}

interface Segment {
  n: number;
  path: string;
  /** Durable size: only complete, fsync'd batches. */
  size: number;
}

const SEGMENT_RE = /^segment-(\d{16})\.jsonl$/;
const COMMITTED = 'committed.json';
/** A single record longer than this is treated as corruption rather than read into memory. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export class DurableSpool {
  private readonly segments: Segment[];
  private cursor: SpoolCursor;
  private writer?: FileHandle;
  private readonly segmentBytes: number;
  /** Monotonic byte counters for this process: what was appended (incl. what a previous run left) and committed. */
  private appended: number;
  private committed = 0;
  private recent: RecentRecord[] = [];
  private recentHead = 0;
  private recentBytes = 0;
  /** Something was left out after the memory copy: nothing more joins it until it is drained. */
  private recentClosed = false;
  private readonly memoryBytes: number;
  private readonly buffers = new SpoolBufferPool();

  private constructor(
    readonly dir: string,
    segments: Segment[],
    cursor: SpoolCursor,
    opts: DurableSpoolOptions,
    /** Bytes of torn trailing data removed while opening. */
    readonly repairedBytes: number,
    /** Undelivered records a previous run left, and when (at the latest) they were written. */
    readonly carried: { records: number; sinceUnixMs: number },
  ) {
    this.segments = segments;
    this.cursor = cursor;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.memoryBytes = opts.memoryBytes ?? 16 * 1024 * 1024;
    this.appended = this.pendingBytes;
  }

  static async open(dir: string, opts: DurableSpoolOptions = {}): Promise<DurableSpool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = await readdir(dir);
    const segments: Segment[] = [];
    for (const name of names) {
      const m = SEGMENT_RE.exec(name);
      if (m) segments.push({ n: Number(m[1]), path: join(dir, name), size: (await stat(join(dir, name))).size });
    }
    segments.sort((a, b) => a.n - b.n);
    let cursor = await readCommitted(dir);
    // Segments before the committed one are delivered (a crash between commit and delete leaves them).
    while (segments.length > 0 && cursor && segments[0]!.n < cursor.segment) await unlink(segments.shift()!.path);
    if (!cursor || !segments.some((s) => s.n === cursor!.segment)) cursor = { segment: segments[0]?.n ?? 1, offset: 0 };
    let repaired = 0;
    for (const seg of segments) repaired += await repairTornTail(seg);
    const first = segments.find((s) => s.n === cursor!.segment);
    if (first && cursor.offset > first.size) cursor = { segment: cursor.segment, offset: first.size };
    return new DurableSpool(dir, segments, cursor, opts, repaired, await carriedRecords(segments, cursor));
  }

  /** Bytes appended and not yet committed. */
  get pendingBytes(): number {
    let n = -this.cursor.offset;
    for (const s of this.segments) if (s.n >= this.cursor.segment) n += s.size;
    return Math.max(0, n);
  }

  /** Logical positions (bytes) for waiting on progress: appended so far, committed so far. */
  get position(): { appended: number; committed: number } {
    return { appended: this.appended, committed: this.committed };
  }

  /**
   * Appends records (no newlines inside) in one write and fsyncs before resolving. Records may
   * come as bytes already (the audit sink encodes spans as they end, so no span text waits on the
   * JS heap for the disk).
   */
  async append(records: readonly (string | Buffer)[]): Promise<void> {
    if (records.length === 0) return;
    const bytes = records.map((r) => (typeof r === 'string' ? Buffer.from(r, 'utf8') : r));
    const sizes: number[] = new Array<number>(bytes.length);
    let total = 0;
    for (let i = 0; i < bytes.length; i++) total += sizes[i] = bytes[i]!.length + 1;
    let seg = this.segments[this.segments.length - 1];
    if (!seg || !this.writer || seg.size >= this.segmentBytes) seg = await this.startSegment(seg);
    // Taken only once nothing can fail before the try below: a batch never released would pin
    // its chunk for good (appends are retried while the disk fails).
    const batch = this.buffers.take(total);
    const data = batch.bytes;
    let len = 0;
    for (const b of bytes) {
      len += b.copy(data, len);
      data[len++] = 0x0a;
    }
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await this.writer!.write(data, written, data.length - written, seg.size + written);
        written += bytesWritten;
      }
      await this.writer!.sync();
    } catch (err) {
      batch.release();
      // Leave no partial line behind: the next append must start on a record boundary.
      await this.writer!.truncate(seg.size).catch(() => {});
      throw err;
    }
    this.remember(batch, sizes, seg);
    seg.size += data.length;
    this.appended += data.length;
  }

  private remember(batch: PooledBuffer, sizes: readonly number[], seg: Segment): void {
    const data = batch.bytes;
    const total = data.length;
    // The memory copy must be contiguous: once a record is left out (over the bound), later ones
    // are left out too until the reader has caught up with what memory holds.
    if (this.recentClosed || this.recentBytes + total > this.memoryBytes) {
      this.recentClosed ||= this.recentHead < this.recent.length;
      batch.release();
      return;
    }
    let at = 0;
    for (let i = 0; i < sizes.length; i++) {
      const bytes = sizes[i]!;
      this.recent.push({ segment: seg.n, offset: seg.size + at, data, at, bytes, batch: i === sizes.length - 1 ? batch : undefined });
      at += bytes;
    }
    this.recentBytes += total;
  }

  private forgetRecent(): void {
    for (let i = this.recentHead; i < this.recent.length; i++) this.recent[i]!.batch?.release();
    this.recent = [];
    this.recentHead = 0;
    this.recentBytes = 0;
    this.recentClosed = false;
  }

  /** Index of the memory copy's record at the read position, if the copy reaches back that far. */
  private recentAtCursor(): number {
    if (this.recentHead >= this.recent.length) return -1;
    const first = this.recent[this.recentHead]!;
    if (first.segment === this.cursor.segment && first.offset === this.cursor.offset) return this.recentHead;
    // The cursor at the very end of a full segment is the start of the next one.
    const seg = this.segments.find((s) => s.n === this.cursor.segment);
    if (first.offset === 0 && seg && this.cursor.offset >= seg.size && this.segments.find((s) => s.n > seg.n)?.n === first.segment) return this.recentHead;
    return -1;
  }

  private async startSegment(last: Segment | undefined): Promise<Segment> {
    // Re-use the last segment after a restart unless it is full; otherwise begin the next one.
    let seg = last;
    if (!seg || seg.size >= this.segmentBytes) {
      const n = (last?.n ?? this.cursor.segment - 1) + 1;
      seg = { n, path: join(this.dir, `segment-${String(n).padStart(16, '0')}.jsonl`), size: 0 };
      this.segments.push(seg);
    }
    await this.writer?.close();
    this.writer = undefined;
    this.writer = await open(seg.path, seg.size === 0 ? 'w' : 'r+', 0o600);
    if (seg.size === 0) await syncDir(this.dir); // the new file's name is durable too
    return seg;
  }

  /** Reads up to `maxRecords` records / about `maxBytes` from the committed position on. */
  async readBatch(maxRecords: number, maxBytes: number): Promise<SpoolBatch> {
    const start = { ...this.cursor };
    const at = this.recentAtCursor();
    if (at >= 0) {
      const records: Buffer[] = [];
      let bytes = 0;
      let i = at;
      for (; i < this.recent.length && records.length < maxRecords && (records.length === 0 || bytes + this.recent[i]!.bytes <= maxBytes); i++) {
        const r = this.recent[i]!;
        records.push(r.data.subarray(r.at, r.at + r.bytes - 1));
        bytes += r.bytes;
      }
      const last = this.recent[i - 1]!;
      return { records, start, end: { segment: last.segment, offset: last.offset + last.bytes }, bytes, fromMemory: true };
    }
    const records: Buffer[] = [];
    let pos = { ...this.cursor };
    let bytes = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const seg = this.segments.find((s) => s.n >= pos.segment);
      if (!seg) break;
      if (seg.n !== pos.segment) pos = { segment: seg.n, offset: 0 };
      if (pos.offset >= seg.size) {
        const next = this.segments.find((s) => s.n > seg.n);
        if (!next) break;
        pos = { segment: next.n, offset: 0 };
        continue;
      }
      const { lines, consumed } = await readLines(seg, pos.offset, maxRecords - records.length, Math.max(maxBytes - bytes, 1));
      records.push(...lines);
      pos = { segment: seg.n, offset: pos.offset + consumed };
      bytes += consumed;
    }
    return { records, start, end: pos, bytes, fromMemory: false };
  }

  /**
   * Visits every record not yet committed, oldest first, from disk (what survives this process),
   * without moving the read position: what a stop reports as not delivered.
   */
  async forEachPending(visit: (record: Buffer) => void): Promise<void> {
    for (const seg of this.segments) {
      if (seg.n < this.cursor.segment) continue;
      let offset = seg.n === this.cursor.segment ? this.cursor.offset : 0;
      while (offset < seg.size) {
        let read: { lines: Buffer[]; consumed: number };
        try {
          read = await readLines(seg, offset, 4096, 4 * 1024 * 1024);
        } catch (err) {
          // An export abandoned in flight may still commit, deleting a delivered segment.
          if ((err as { code?: string }).code === 'ENOENT') break;
          throw err;
        }
        for (const line of read.lines) visit(line);
        offset += read.consumed;
      }
    }
  }

  /** Marks a batch (read from the current position) as delivered. */
  async commit(batch: SpoolBatch): Promise<void> {
    if (batch.start.segment !== this.cursor.segment || batch.start.offset !== this.cursor.offset) {
      throw new Error('audit spool: batches must be committed in order');
    }
    const tmp = join(this.dir, COMMITTED + '.tmp');
    const h = await open(tmp, 'w', 0o600);
    try {
      await h.writeFile(JSON.stringify(batch.end));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, join(this.dir, COMMITTED));
    await syncDir(this.dir);
    this.cursor = { ...batch.end };
    this.committed += batch.bytes;
    this.dropRecentBefore(this.cursor);
    // Segments wholly delivered and no longer written to.
    while (this.segments.length > 1 && this.segments[0]!.n < this.cursor.segment) await unlink(this.segments.shift()!.path);
  }

  private dropRecentBefore(c: SpoolCursor): void {
    while (this.recentHead < this.recent.length) {
      const r = this.recent[this.recentHead]!;
      if (r.segment > c.segment || (r.segment === c.segment && r.offset >= c.offset)) break;
      this.recentBytes -= r.bytes;
      r.batch?.release();
      this.recentHead++;
    }
    if (this.recentHead === this.recent.length) this.forgetRecent();
    else if (this.recentHead > 4096) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.writer = undefined;
  }
}

async function readCommitted(dir: string): Promise<SpoolCursor | undefined> {
  try {
    const h = await open(join(dir, COMMITTED), 'r');
    try {
      const c = JSON.parse(await h.readFile('utf8')) as SpoolCursor;
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && c.offset >= 0) return c;
    } finally {
      await h.close();
    }
  } catch {
    /* none yet, or unreadable: start from the oldest segment (at least once) */
  }
  return undefined;
}

/** Truncates a segment after its last newline; returns the bytes removed. */
async function repairTornTail(seg: Segment): Promise<number> {
  if (seg.size === 0) return 0;
  const h = await open(seg.path, 'r+');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    let end = seg.size;
    while (end > 0) {
      const from = Math.max(0, end - chunk.length);
      const { bytesRead } = await h.read(chunk, 0, end - from, from);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) {
        const keep = from + nl + 1;
        if (keep === seg.size) return 0;
        await h.truncate(keep);
        await h.sync();
        const removed = seg.size - keep;
        seg.size = keep;
        return removed;
      }
      end = from;
    }
    await h.truncate(0);
    await h.sync();
    const removed = seg.size;
    seg.size = 0;
    return removed;
  } finally {
    await h.close();
  }
}

/** Counts the records from the cursor on (one newline each) and dates them by the first segment's last write. */
async function carriedRecords(segments: readonly Segment[], cursor: SpoolCursor): Promise<{ records: number; sinceUnixMs: number }> {
  let records = 0;
  let sinceUnixMs = Date.now();
  const chunk = Buffer.alloc(1024 * 1024);
  for (const seg of segments) {
    if (seg.n < cursor.segment) continue;
    const from = seg.n === cursor.segment ? cursor.offset : 0;
    if (from >= seg.size) continue;
    const h = await open(seg.path, 'r');
    try {
      if (records === 0) sinceUnixMs = Math.min(sinceUnixMs, (await h.stat()).mtimeMs);
      for (let at = from; at < seg.size; ) {
        const { bytesRead } = await h.read(chunk, 0, Math.min(chunk.length, seg.size - at), at);
        if (bytesRead === 0) break;
        for (let i = chunk.indexOf(0x0a, 0); i >= 0 && i < bytesRead; i = chunk.indexOf(0x0a, i + 1)) records++;
        at += bytesRead;
      }
    } finally {
      await h.close();
    }
  }
  return { records, sinceUnixMs: Math.floor(sinceUnixMs) };
}

/** Reads whole lines from `offset`, at most `maxLines`, stopping after about `maxBytes`. */
async function readLines(seg: Segment, offset: number, maxLines: number, maxBytes: number): Promise<{ lines: Buffer[]; consumed: number }> {
  const h = await open(seg.path, 'r');
  try {
    let want = Math.min(seg.size - offset, Math.max(maxBytes, 64 * 1024));
    for (;;) {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await h.read(buf, 0, want, offset);
      const data = buf.subarray(0, bytesRead);
      const lines: Buffer[] = [];
      let consumed = 0;
      while (lines.length < maxLines && (consumed < maxBytes || lines.length === 0)) {
        const nl = data.indexOf(0x0a, consumed);
        if (nl < 0) break;
        lines.push(data.subarray(consumed, nl));
        consumed = nl + 1;
      }
      if (lines.length > 0) return { lines, consumed };
      // One record longer than the window: widen it (the durable size always ends with a newline).
      if (want >= seg.size - offset || want >= MAX_RECORD_BYTES) throw new Error('audit spool: record without an end');
      want = Math.min(want * 2, seg.size - offset, MAX_RECORD_BYTES);
    }
  } finally {
    await h.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
