// "embedded:io/socket/tcp" as Moddable SDK 8.2.3 implements it on ESP32 (modules/io/socket/lwip/tcp.c,
// lwIP's callback API), over a real node socket.
//
// The lwIP side (class Pcb):
// - send buffer: TCP_SND_BUF = 8192 bytes (Moddable's sdkconfig). tcp_sndbuf() is 8192 minus the bytes
//   written and not yet acknowledged; here a write counts until node's write callback for it fires
//   (the bytes reached the kernel: lwIP's tcp_sent). Each such "ack" triggers onWritable.
// - receive window: TCP_WND = 8192. At most that many bytes wait unread; the window re-opens as read()
//   consumes whole pbufs (tcp_recved). What the peer sent beyond it stays with the peer (node's socket
//   is paused), as a full window would keep it there.
// - a peer's FIN (tcp_recv with a NULL pbuf) arrives after its data; a reset or error (tcp_err) frees
//   the pcb at once.
// - tcp_close after everything was read: FIN after the queued bytes; with unread bytes: RST (lwIP's
//   tcp_close on a pcb whose receive window was not given back).
// The JavaScript side (class TCP) follows tcp.c line by line: triggers are collected and delivered as
// one message (tcpDeliver): onReadable(bytes waiting), then onWritable(tcp_sndbuf) or, once an error
// was seen and every byte read, onError(). write() is all or nothing ("would block" beyond
// tcp_sndbuf), silently does nothing after an error, throws "not ready" before the connection is up.
// read() gives an ArrayBuffer of everything waiting; read(buffer) fills all of buffer and throws
// "invalid" when fewer bytes wait (or none are asked for); read(count) reads count bytes.

import type { Socket } from "node:net";
import { bufferBytes, onCommand, post } from "./board.js";

export const TCP_SND_BUF = 8192;
export const TCP_WND = 8192;
/** lwIP's TCP_FIN_WAIT_TIMEOUT: a closed pcb waits this long for the peer's FIN. */
const FIN_WAIT_MS = 20_000;

/** What the test can ask ({cmd: "tcp"}): how often the send buffer was full and onWritable ran. */
const stats = { connections: 0, writes: 0, bytesWritten: 0, wouldBlock: 0, onWritable: 0, onReadable: 0, maxInflight: 0 };
onCommand("tcp", () => ({ ...stats }));

const WRITABLE = 1 << 0;
const READABLE = 1 << 1;
const ERROR = 1 << 2;
const OUTPUT = 1 << 3;

/** What a pcb calls back into (lwIP's tcp_arg): the TCP object that owns it now. */
interface PcbOwner {
  pcbReceive(bytes: Uint8Array): void;
  pcbFin(): void;
  pcbError(): void;
  pcbSent(): void;
}

/** lwIP's tcp_pcb for one connection, over a node socket. */
export class Pcb {
  owner: PcbOwner | null = null;
  /** Bytes written (tcp_write) and not yet acknowledged (node's write callback). */
  private inflight = 0;
  /** Bytes handed to the owner and not yet given back with tcp_recved. */
  private unrecved = 0;
  /** What the peer sent beyond our receive window: not accepted yet. */
  private readonly held: Uint8Array[] = [];
  private finSeen = false;
  private finDelivered = false;
  private gone = false;
  private closing = false;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(readonly socket: Socket) {
    socket.pause();
    this.remoteAddress = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    this.remotePort = socket.remotePort ?? 0;
    socket.on("data", (d: Buffer) => {
      this.held.push(new Uint8Array(d.buffer, d.byteOffset, d.length));
      this.accept();
    });
    socket.on("end", () => {
      this.finSeen = true;
      this.accept();
    });
    socket.on("error", () => this.fail());
    socket.on("close", () => {
      if (!this.closing && !this.finDelivered) this.fail();
    });
  }

  get sndbuf(): number {
    return this.gone ? 0 : TCP_SND_BUF - this.inflight;
  }

  /** tcp_arg: who gets the callbacks from now on. Pending input then flows (listenerReceive refused it). */
  setOwner(owner: PcbOwner | null): void {
    this.owner = owner;
    if (owner) setImmediate(() => this.accept());
  }

  /** Moves held input into the owner's buffers while the window allows (lwIP's tcp_recv). */
  private accept(): void {
    if (!this.owner || this.gone || this.closing) return;
    while (this.held.length > 0 && this.unrecved < TCP_WND) {
      const chunk = this.held[0];
      const n = Math.min(chunk.length, TCP_WND - this.unrecved);
      const piece = chunk.slice(0, n);
      if (n === chunk.length) this.held.shift();
      else this.held[0] = chunk.subarray(n);
      this.unrecved += n;
      this.owner.pcbReceive(piece);
    }
    if (this.held.length > 0) this.socket.pause();
    else if (this.finSeen) {
      if (!this.finDelivered) {
        this.finDelivered = true;
        this.owner.pcbFin();
      }
    } else this.socket.resume();
  }

  /** tcp_recved: the owner consumed `n` bytes (applied by the lwIP task, later). */
  recved(n: number): void {
    this.unrecved -= n;
    setImmediate(() => this.accept());
  }

  /** tcp_write (+ tcp_output): queues a copy of the bytes. */
  write(bytes: Uint8Array): void {
    const copy = Buffer.from(bytes);
    this.inflight += copy.length;
    if (this.inflight > stats.maxInflight) stats.maxInflight = this.inflight;
    this.socket.write(copy, () => {
      this.inflight -= copy.length;
      if (!this.gone) this.owner?.pcbSent();
    });
  }

  setNoDelay(on: boolean): void {
    this.socket.setNoDelay(on);
  }

  /** tcp_err: reset or error; lwIP has freed the pcb. */
  private fail(): void {
    if (this.gone) return;
    this.gone = true;
    const owner = this.owner;
    this.owner = null;
    owner?.pcbError();
  }

  /** tcp_close: FIN after what is queued, or RST when received bytes were never read. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.owner = null;
    if (this.gone) return;
    if (this.unrecved > 0 || this.held.length > 0) {
      this.socket.resetAndDestroy();
      return;
    }
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), FIN_WAIT_MS);
    timer.unref();
    this.socket.once("close", () => clearTimeout(timer));
  }
}

type Callback = (this: TCP, ...args: number[]) => void;

interface TcpOptions {
  from?: TCP;
  address?: string;
  port?: number;
  nodelay?: boolean;
  onReadable?: (this: TCP, bytes: number) => void;
  onWritable?: (this: TCP, bytes: number) => void;
  onError?: (this: TCP) => void;
  format?: string;
  target?: unknown;
}

/** Listener.read(): a TCP object for a pending connection (xs_listener_read). */
export let adoptPending: (tcp: TCP, pcb: Pcb) => void;

export default class TCP implements PcbOwner {
  #live = true;
  #pcb: Pcb | null = null;
  /** Received pbufs not read yet. */
  #buffers: Uint8Array[] = [];
  #triggerable = 0;
  #triggered = 0;
  #error = false;
  #ready = false;
  #format: "buffer" | "number" = "buffer";
  #onReadable: Callback | null = null;
  #onWritable: Callback | null = null;
  #onError: Callback | null = null;
  /** tcp_sent installed (only with onWritable; removed with the other callbacks). */
  #sentInstalled = false;
  target: unknown;

  static {
    adoptPending = (tcp, pcb) => {
      tcp.#pcb = pcb;
      pcb.setOwner(tcp);
      tcp.#ready = true;
    };
  }

  constructor(options?: TcpOptions) {
    if (arguments.length === 0 || options === undefined) return; // the bare object Listener.read fills in
    const format = options.format ?? "buffer";
    if (format !== "buffer" && format !== "number") throw new RangeError("unimplemented");
    this.#format = format;
    const fn = (f: unknown): Callback | null => (typeof f === "function" ? (f as Callback) : null);
    this.#onReadable = fn(options.onReadable);
    this.#onWritable = fn(options.onWritable);
    this.#onError = fn(options.onError);
    if (this.#onReadable) this.#triggerable |= READABLE;
    if (this.#onWritable) this.#triggerable |= WRITABLE;
    if (this.#onError) this.#triggerable |= ERROR;
    if ("target" in options) this.target = options.target;
    if (!("from" in options)) throw new Error("sim: outgoing TCP connections are not simulated");
    const from = options.from;
    if (!(from instanceof TCP) || !from.#live) throw new TypeError("invalid from");
    if (!from.#pcb) throw new Error("invalid from");
    const pcb = from.#pcb;
    let triggered = from.#triggered;
    this.#buffers = from.#buffers;
    this.#ready = from.#ready;
    if (this.#triggerable & WRITABLE && pcb.sndbuf > 0) triggered |= WRITABLE;
    if (this.#triggerable & READABLE && this.#buffers.length > 0) triggered |= READABLE;
    from.#pcb = null;
    from.#buffers = [];
    from.#triggered = 0;
    from.doClose();
    if (options.nodelay !== undefined) pcb.setNoDelay(!!options.nodelay);
    this.#pcb = pcb;
    stats.connections++;
    pcb.setOwner(this);
    this.#sentInstalled = this.#onWritable !== null;
    if (triggered) this.#trigger(triggered);
  }

  // ---- lwIP callbacks (tcpReceive, tcpError, tcpSent) ----

  pcbReceive(bytes: Uint8Array): void {
    this.#buffers.push(bytes);
    if (this.#triggerable & READABLE) this.#trigger(READABLE);
  }

  pcbFin(): void {
    this.#removeCallbacks();
    this.#trigger(ERROR);
  }

  pcbError(): void {
    this.#removeCallbacks();
    this.#pcb = null; // "pcb is already freed when this callback is called"
    if (this.#triggerable & ERROR) this.#trigger(ERROR);
  }

  pcbSent(): void {
    if (this.#sentInstalled) this.#trigger(WRITABLE);
  }

  #removeCallbacks(): void {
    this.#sentInstalled = false;
    this.#triggerable &= ~WRITABLE;
  }

  #trigger(bits: number): void {
    const before = this.#triggered;
    this.#triggered |= bits;
    if (!before) post(() => this.#deliver());
  }

  /** tcpDeliver: one message, all triggers collected since it was posted. */
  #deliver(): void {
    let triggered = this.#triggered;
    this.#triggered = 0;
    if (triggered & ERROR) {
      triggered &= ~(OUTPUT | WRITABLE);
      this.#error = true;
      this.#ready = false;
    }
    if (triggered & this.#triggerable & READABLE && this.#buffers.length > 0) {
      stats.onReadable++;
      this.#onReadable!.call(this, this.#available());
    }
    if (this.#buffers.length > 0 && this.#error) {
      // the error is delivered once the receive buffers are empty
    } else if (!this.#error) {
      if (triggered & this.#triggerable & WRITABLE && this.#pcb) {
        stats.onWritable++;
        this.#onWritable!.call(this, this.#pcb.sndbuf);
      }
    } else if (this.#triggerable & ERROR) {
      this.#onError!.call(this);
    }
  }

  #available(): number {
    let n = 0;
    for (const b of this.#buffers) n += b.length;
    return n;
  }

  #check(): void {
    if (!this.#live) throw new Error("closed");
  }

  // ---- the API ----

  get remoteAddress(): string {
    this.#check();
    if (!this.#pcb) throw new Error("sim: remoteAddress of a freed pcb (a NULL dereference on the board)");
    return this.#pcb.remoteAddress;
  }

  get remotePort(): number {
    this.#check();
    if (!this.#pcb) throw new Error("sim: remotePort of a freed pcb (a NULL dereference on the board)");
    return this.#pcb.remotePort;
  }

  get format(): string {
    return this.#format;
  }

  set format(value: string) {
    if (value !== "buffer" && value !== "number") throw new RangeError("unimplemented");
    this.#format = value;
  }

  read(...args: unknown[]): number | ArrayBuffer | undefined {
    this.#check();
    if (this.#buffers.length === 0) return undefined;
    let out: Uint8Array;
    let result: number | ArrayBuffer;
    let requested: number;
    if (this.#format === "buffer") {
      const available = this.#available();
      const arg = args[0];
      if (args.length === 0) {
        requested = available;
        out = new Uint8Array(requested > 0 ? requested : 0);
        result = out.buffer as ArrayBuffer;
      } else if (typeof arg === "object" && arg !== null) {
        out = bufferBytes(arg);
        requested = out.length;
        result = requested;
      } else {
        requested = Math.trunc(Number(arg)) || 0;
        out = new Uint8Array(requested > 0 ? requested : 0);
        result = out.buffer as ArrayBuffer;
      }
      if (requested <= 0 || requested > available) throw new Error("invalid");
    } else {
      requested = 1;
      out = new Uint8Array(1);
      result = 0;
    }
    let at = 0;
    let freed = 0;
    while (at < requested) {
      const head = this.#buffers[0];
      const use = Math.min(head.length, requested - at);
      out.set(head.subarray(0, use), at);
      at += use;
      if (use === head.length) {
        this.#buffers.shift();
        freed += head.length;
      } else this.#buffers[0] = head.subarray(use);
    }
    if (freed > 0) this.#pcb?.recved(freed);
    if (this.#buffers.length === 0 && this.#error) this.#trigger(ERROR);
    return this.#format === "number" ? out[0] : result;
  }

  write(value: unknown): number | undefined {
    this.#check();
    if (!this.#ready) throw new Error("not ready");
    if (this.#error || !this.#pcb) return undefined;
    const bytes = this.#format === "buffer" ? bufferBytes(value) : Uint8Array.of(Math.trunc(Number(value)) & 0xff);
    if (bytes.length > this.#pcb.sndbuf) {
      stats.wouldBlock++;
      throw new Error("would block");
    }
    stats.writes++;
    stats.bytesWritten += bytes.length;
    if (bytes.length > 0) this.#pcb.write(bytes);
    this.#trigger(OUTPUT);
    return this.#pcb.sndbuf;
  }

  close(): void {
    this.doClose();
  }

  /** doClose: forget the callbacks and the object; the pcb is closed (xs_tcp_destructor). */
  private doClose(): void {
    if (!this.#live) return;
    this.#live = false;
    this.#ready = false;
    this.#removeCallbacks();
    this.#triggerable = 0;
    this.#triggered = 0;
    const pcb = this.#pcb;
    this.#pcb = null;
    if (pcb) {
      // Unread pbufs keep the window shut: lwIP resets such a connection instead of closing it.
      pcb.close();
    }
    this.#buffers = [];
  }
}
