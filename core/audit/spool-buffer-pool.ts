// Buffers for the spool's write batches, recycled once the records in them are delivered.
//
// Why: a batch stays in memory from its write until the export that delivers it is committed
// (a few hundred milliseconds, the spool's memory copy), long enough for V8 to move it to the
// old generation, where only a full collection frees it. Allocating a fresh batch buffer every
// few milliseconds (hundreds of KiB each) therefore keeps V8 running full mark-compact
// collections back to back under load (figures in docs/BENCHMARKS.md, Design measurements).
//
// Batches are carved from chunks one after another; a chunk goes back to the free list when the
// last batch in it is released. A batch larger than a chunk gets a buffer of its own.

export interface PooledBuffer {
  readonly bytes: Buffer;
  /** The bytes are no longer used (idempotent). */
  release(): void;
}

interface Chunk {
  buffer: Buffer;
  /** Bytes handed out from the start of the chunk. */
  used: number;
  /** Batches handed out and not yet released. */
  live: number;
}

export class SpoolBufferPool {
  private current?: Chunk;
  private readonly free: Chunk[] = [];
  /** Chunks ever allocated (for tests and the curious). */
  allocatedChunks = 0;

  constructor(
    private readonly chunkBytes = 1 << 20,
    /** Chunks kept for reuse beyond the one in use: memory held after a burst. */
    private readonly maxFree = 3,
  ) {}

  /** A buffer of exactly `n` bytes (contents undefined). */
  take(n: number): PooledBuffer {
    if (n > this.chunkBytes) return { bytes: Buffer.allocUnsafeSlow(n), release: () => {} };
    let chunk = this.current;
    // A current chunk with nothing live in it was started over (release), so it always fits n:
    // one left here still has batches in use and joins the free list when the last is released.
    if (!chunk || chunk.used + n > this.chunkBytes) {
      chunk = this.free.pop() ?? this.newChunk();
      chunk.used = 0;
      this.current = chunk;
    }
    const bytes = chunk.buffer.subarray(chunk.used, chunk.used + n);
    chunk.used += n;
    chunk.live++;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.release(chunk);
      },
    };
  }

  private release(chunk: Chunk): void {
    chunk.live--;
    if (chunk.live > 0) return;
    if (chunk === this.current) chunk.used = 0; // nothing in it is in use: start it over
    else this.keep(chunk);
  }

  private keep(chunk: Chunk): void {
    if (this.free.length < this.maxFree) this.free.push(chunk);
  }

  private newChunk(): Chunk {
    this.allocatedChunks++;
    return { buffer: Buffer.allocUnsafeSlow(this.chunkBytes), used: 0, live: 0 };
  }
}
