/**
 * Keep only the last `limit` bytes of a stream, holding at most `limit` plus
 * one chunk at any time, so a command that prints gigabytes costs a few
 * megabytes here.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  private dropped = false;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.chunks.length > 1 && this.held - this.chunks[0]!.length >= this.limit) {
      const first = this.chunks.shift()!;
      this.held -= first.length;
      if (first.length > 0) this.dropped = true;
    }
  }

  /** The last `limit` bytes, and whether anything before them was dropped. */
  result(): { bytes: Buffer; truncated: boolean } {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return { bytes: all, truncated: this.dropped };
    return { bytes: all.subarray(all.length - this.limit), truncated: true };
  }
}
