// Write-behind for the node host's flash store: writes to a new file (an upload's temp file) are
// copied into a bounded ring in shared memory and written to disk by a worker thread, so the SSH
// thread's crypto and the disk's copying overlap (OpenSSH gets the same overlap from two processes,
// sshd and sftp-server or scp). The store interface stays synchronous, as the core wants it (the
// ESP32's file module is): a write returns once its bytes are in the ring, and blocks only while the
// ring is full (the backpressure: the SSH thread waits for the disk, as with plain writes, and the
// client's window stays closed meanwhile). Reads, truncation, fsync and close wait for the ring to be
// written out first, so every later operation sees every earlier write.
//
// Errors are never lost: a write that fails in the worker marks its handle's lane; the handle's next
// write, truncate, sync or close throws it as a StoreError (SFTP answers that request with the error
// status, so the upload is dropped at CLOSE and the old file stays). The lane's later records are
// skipped. Every wait is bounded (WRITER_STALL_MS): a worker that stops making progress is an EIO.
//
// Ring records (8-byte aligned): int32 op, lane, fd, length, offset low, offset high; then the data,
// padded to 8. A record that does not fit before the end of the ring is preceded by a WRAP record
// (or, when fewer than HEADER bytes remain, by nothing: both sides skip such a tail).

import { Worker } from "node:worker_threads";

/** Bytes the ring holds: 32 OpenSSH SFTP WRITEs of 32 KiB (the client keeps 64 outstanding, 2 MiB;
 * the disk writes one while the next ones are decrypted). What the host holds in flight per process. */
export const WRITE_BEHIND_BYTES = 1 << 20;
/** The worker is woken when this much is queued (or when the SSH thread waits for it), not at every
 * record: a wake-up per 32 KiB write cost more (a thread switch on a 2-core machine that also runs
 * the client) than the write itself. Once awake it writes until the ring is empty. */
export const WAKE_BYTES = 128 * 1024;
/** Largest piece one record carries; longer writes are split. */
export const MAX_RECORD_DATA = 64 * 1024;
/** Handles that can write behind at once (process-wide); a handle beyond them writes synchronously. */
export const WRITE_BEHIND_LANES = 64;
/** A wait for the worker that sees no progress for this long fails with EIO (a stuck disk or a dead
 * worker must not hang the server forever). */
export const WRITER_STALL_MS = 30_000;

const HEADER = 24;
const OP_WRAP = 0;
const OP_WRITE = 1;
/** Control words: [0] bytes used in the ring; [LANE_ERR + lane] the lane's first error (an index
 * into ERROR_CODES, +1; 0 = none). */
const USED = 0;
const LANE_ERR = 1;

/** errno names the worker reports; others become EIO. */
export const ERROR_CODES = ["ENOSPC", "EDQUOT", "EFBIG", "EIO", "EBADF", "EROFS", "EINVAL"] as const;

// The worker is plain CommonJS evaluated from this string (no loader needed: tsx's --import does not
// reach an eval'd worker, and this code has no TypeScript in it).
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { data, ctl, codes } = workerData;
const size = data.byteLength;
const bytes = new Uint8Array(data);
const words = new Int32Array(data);
const c = new Int32Array(ctl);
let tail = 0;
for (;;) {
  if (Atomics.load(c, ${USED}) === 0) {
    Atomics.wait(c, ${USED}, 0);
    continue;
  }
  let consumed;
  if (size - tail < ${HEADER} || words[tail >> 2] === ${OP_WRAP}) {
    consumed = size - tail;
    tail = 0;
  } else {
    const w = tail >> 2;
    const lane = words[w + 1], fd = words[w + 2], len = words[w + 3];
    const offset = (words[w + 4] >>> 0) + (words[w + 5] >>> 0) * 4294967296;
    if (Atomics.load(c, ${LANE_ERR} + lane) === 0) {
      try {
        let done = 0;
        while (done < len) done += writeSync(fd, bytes, tail + ${HEADER} + done, len - done, offset + done);
      } catch (e) {
        const i = codes.indexOf(e && e.code);
        Atomics.store(c, ${LANE_ERR} + lane, (i < 0 ? codes.indexOf("EIO") : i) + 1);
      }
    }
    consumed = ${HEADER} + ((len + 7) & ~7);
    tail += consumed;
    if (tail === size) tail = 0;
  }
  Atomics.sub(c, ${USED}, consumed);
  Atomics.notify(c, ${USED});
}
`;

export class WriterStalled extends Error {}

/** The process's one write-behind ring and its worker, made at the first write behind. */
class WriteBehind {
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly ctl: Int32Array;
  private head = 0;
  private readonly freeLanes: number[] = [];

  constructor() {
    const data = new SharedArrayBuffer(WRITE_BEHIND_BYTES);
    const ctl = new SharedArrayBuffer(4 * (LANE_ERR + WRITE_BEHIND_LANES));
    this.bytes = new Uint8Array(data);
    this.words = new Int32Array(data);
    this.ctl = new Int32Array(ctl);
    for (let i = WRITE_BEHIND_LANES - 1; i >= 0; i--) this.freeLanes.push(i);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { data, ctl, codes: ERROR_CODES } });
    worker.unref();
  }

  /** A lane for a new handle, or -1 when all are taken (the handle then writes synchronously). */
  takeLane(): number {
    const lane = this.freeLanes.pop();
    if (lane === undefined) return -1;
    Atomics.store(this.ctl, LANE_ERR + lane, 0);
    return lane;
  }

  /** Gives a lane back; the caller has drained the ring since its last write. */
  releaseLane(lane: number): void {
    this.freeLanes.push(lane);
  }

  /** The lane's first write error (an errno name), or null. */
  error(lane: number): string | null {
    const e = Atomics.load(this.ctl, LANE_ERR + lane);
    return e === 0 ? null : ERROR_CODES[e - 1];
  }

  /** Marks the lane failed so that the worker skips what is still queued for it (an upload dropped). */
  cancel(lane: number): void {
    Atomics.compareExchange(this.ctl, LANE_ERR + lane, 0, ERROR_CODES.indexOf("EIO") + 1);
  }

  /** Queues data[from, to) for fd at offset; blocks while the ring is full. */
  write(lane: number, fd: number, data: Uint8Array, offset: number): void {
    for (let at = 0; at < data.length; at += MAX_RECORD_DATA) {
      const len = Math.min(MAX_RECORD_DATA, data.length - at);
      this.record(lane, fd, data.subarray(at, at + len), offset + at);
    }
  }

  private record(lane: number, fd: number, data: Uint8Array, offset: number): void {
    const size = this.bytes.length;
    const rec = HEADER + ((data.length + 7) & ~7);
    const skip = size - this.head < rec ? size - this.head : 0;
    this.waitFor((used) => size - used >= skip + rec);
    if (skip > 0) {
      if (skip >= HEADER) this.words[this.head >> 2] = OP_WRAP;
      this.head = 0;
    }
    const w = this.head >> 2;
    this.words[w] = OP_WRITE;
    this.words[w + 1] = lane;
    this.words[w + 2] = fd;
    this.words[w + 3] = data.length;
    this.words[w + 4] = offset >>> 0;
    this.words[w + 5] = Math.floor(offset / 4294967296);
    this.bytes.set(data, this.head + HEADER);
    this.head += rec;
    if (this.head === size) this.head = 0;
    // The Atomics.add publishes the record (a full barrier) before the worker is woken.
    const before = Atomics.add(this.ctl, USED, skip + rec);
    if (before < WAKE_BYTES && before + skip + rec >= WAKE_BYTES) Atomics.notify(this.ctl, USED);
  }

  /** True while anything is queued. */
  busy(): boolean {
    return Atomics.load(this.ctl, USED) !== 0;
  }

  /** Waits until everything queued is on disk (written; fsync is the caller's). */
  drain(): void {
    this.waitFor((used) => used === 0);
  }

  /** Waits until ok(bytes used) holds, failing after WRITER_STALL_MS without progress. */
  private waitFor(ok: (used: number) => boolean): void {
    let used = Atomics.load(this.ctl, USED);
    if (ok(used)) return;
    // Whatever is queued below WAKE_BYTES has not woken the worker yet.
    Atomics.notify(this.ctl, USED);
    let since = Date.now();
    while (!ok(used)) {
      Atomics.wait(this.ctl, USED, used, 1000);
      const now = Atomics.load(this.ctl, USED);
      if (now !== used) {
        used = now;
        since = Date.now();
      } else if (Date.now() - since > WRITER_STALL_MS) {
        throw new WriterStalled(`the flash writer made no progress for ${WRITER_STALL_MS / 1000} s`);
      }
    }
  }
}

let shared: WriteBehind | null = null;

/** The process's write-behind ring (made on first use). */
export function writeBehind(): WriteBehind {
  return (shared ??= new WriteBehind());
}

export type { WriteBehind };
