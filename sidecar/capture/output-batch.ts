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
    // A few small parts are cheaper copied into one; large ones go out as they are (writev).
    if (parts.length <= 8 && bytes <= 16384) return dest.write(Buffer.concat(parts, bytes));
    dest.cork();
    let ok = true;
    for (const p of parts) ok = dest.write(p) && ok;
    dest.uncork();
    return ok;
  }
}
