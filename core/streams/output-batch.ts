// Collects what one pass over incoming bytes produces for the other side, then writes it at once.
//
// Forwarded messages are views into the chunk they arrived in, so consecutive forwarded messages
// are usually adjacent in memory: merging adjacent views turns "forward 500 DataRows" into one
// write of one slice of the original chunk, with no copy. Only messages the proxy rewrote or
// generated break the run.
import type { Writable } from 'node:stream';

export class OutputBatch {
  private parts: Buffer[] = [];
  private bytes = 0;

  add(buf: Buffer): void {
    if (buf.length === 0) return;
    const last = this.parts[this.parts.length - 1];
    if (last !== undefined && last.buffer === buf.buffer && last.byteOffset + last.length === buf.byteOffset) {
      this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + buf.length);
    } else {
      this.parts.push(buf);
    }
    this.bytes += buf.length;
  }

  get size(): number {
    return this.bytes;
  }

  /** Writes everything collected; returns false when the destination asked us to slow down. */
  flushTo(dest: Writable): boolean {
    if (this.parts.length === 0) return true;
    const parts = this.parts;
    const bytes = this.bytes;
    this.parts = [];
    this.bytes = 0;
    if (dest.destroyed) return true;
    if (parts.length === 1) return dest.write(parts[0]);
    if (bytes <= COALESCE_BYTES) return dest.write(Buffer.concat(parts, bytes));
    // A turn's worth of a large reply: rewritten rows are many small buffers, forwarded runs a
    // few large slices. Small neighbours are copied together, large slices go as they are, and
    // the whole goes out as one writev.
    dest.cork();
    let ok = true;
    let group: Buffer[] = [];
    let groupBytes = 0;
    const writeGroup = () => {
      if (group.length === 0) return;
      ok = dest.write(group.length === 1 ? group[0] : Buffer.concat(group, groupBytes)) && ok;
      group = [];
      groupBytes = 0;
    };
    for (const p of parts) {
      if (p.length >= LARGE_PART_BYTES) {
        writeGroup();
        ok = dest.write(p) && ok;
        continue;
      }
      group.push(p);
      groupBytes += p.length;
      if (groupBytes >= COALESCE_BYTES) writeGroup();
    }
    writeGroup();
    dest.uncork();
    return ok;
  }
}

/** Up to this much in small parts is copied into one buffer rather than written part by part. */
const COALESCE_BYTES = 16 * 1024;
/** A part this large is written as it is (no copy). */
const LARGE_PART_BYTES = 4 * 1024;
