// A bounded byte ring: the one queue the core uses between a producer and a slower consumer (channel
// send queues, later UART buffers). Storage is allocated once, on first use.

export class ByteRing {
  private buf: Uint8Array | null = null;
  private head = 0; // next byte to read
  length = 0;
  constructor(readonly capacity: number) {}

  get free(): number {
    return this.capacity - this.length;
  }

  /** Appends as much of `data` as fits; returns how many bytes were taken. */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.length);
    if (n === 0) return 0;
    const buf = (this.buf ??= new Uint8Array(this.capacity));
    const tail = (this.head + this.length) % this.capacity;
    const first = Math.min(n, this.capacity - tail);
    buf.set(first === data.length ? data : data.subarray(0, first), tail);
    if (n > first) buf.set(data.subarray(first, n), 0);
    this.length += n;
    return n;
  }

  /** Appends all of `data`, dropping the oldest bytes to make room (a scrollback, or the queue of a
   * reader too slow to keep up). Returns how many old bytes were dropped. */
  writeOverwriting(data: Uint8Array): number {
    let d = data;
    if (d.length > this.capacity) d = d.subarray(d.length - this.capacity);
    const over = Math.max(0, this.length + d.length - this.capacity);
    const dropped = over + (data.length - d.length);
    this.skip(over);
    this.write(d);
    return dropped;
  }

  /** A copy of everything queued, oldest first (for a scrollback replay). */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.length);
    if (!this.buf || this.length === 0) return out;
    const first = Math.min(this.length, this.capacity - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < this.length) out.set(this.buf.subarray(0, this.length - first), first);
    return out;
  }

  /** A view of the next contiguous readable bytes, at most `max` of them (valid until the next write). */
  peek(max: number): Uint8Array {
    if (this.length === 0 || !this.buf) return EMPTY;
    const n = Math.min(max, this.length, this.capacity - this.head);
    return this.buf.subarray(this.head, this.head + n);
  }

  /** Drops `n` bytes from the front. */
  skip(n: number): void {
    const k = Math.min(n, this.length);
    this.head = (this.head + k) % this.capacity;
    this.length -= k;
    if (this.length === 0) this.head = 0;
  }

  /** Copies up to out.length bytes from the front into `out` and drops them; returns the count. */
  read(out: Uint8Array): number {
    let done = 0;
    while (done < out.length && this.length > 0) {
      const part = this.peek(out.length - done);
      out.set(part, done);
      done += part.length;
      this.skip(part.length);
    }
    return done;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}

/** Handed out for an empty ring: no bytes to write (preload: read-only). */
const EMPTY = new Uint8Array(0);
