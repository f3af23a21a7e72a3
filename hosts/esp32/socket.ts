// TCP for the SSH server over Moddable's ECMA-419 sockets (embedded:io/socket/listener and
// embedded:io/socket/tcp, lwIP callback API; Moddable SDK 8.2.3).
//
// Input: onReadable(n) -> read the waiting bytes into one reusable buffer, in pieces, and feed the
// connection. lwIP re-opens its receive window (tcp_recved) only as bytes are read, so a busy
// device pushes back on the client instead of buffering without bound.
// Output: TCP.write is all-or-nothing and throws "would block" past lwIP's send buffer (TCP_SND_BUF,
// 8192 bytes in Moddable's sdkconfig). ConnectionHost.write takes every byte: what does not fit
// waits in a queue here and write returns false; onWritable drains the queue, then calls
// conn.resumeOutput() so the core produces more. The core stops after a false, so the queue holds
// about one packet (at most a 32 KiB channel packet plus its framing).

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import type { ServerConnection } from "../../modules/ssh/connection.js";
import type { SshServer } from "../../modules/ssh/server.js";

/** Bytes read from lwIP per read() call: the reusable receive buffer (one TCP_WND's worth is 8192;
 * smaller pieces keep each callback short and the buffer out of the way of the chunk heap). */
export const RECEIVE_PIECE = 2048;
/** Largest single TCP.write: half of lwIP's send buffer, so a write usually fits whole. */
const SEND_PIECE = 4096;
/** Smallest piece tried before waiting for onWritable. */
const SEND_MIN = 256;
/** A socket we close gets this long to flush our queue before it is closed anyway. */
const CLOSE_LINGER_MS = 2000;

export class SshListener {
  private readonly listener: Listener;
  readonly sockets = new Set<SshSocket>();
  /** One receive buffer for every socket: callbacks never overlap (one JS thread). Made at the first
   * read, not when the module runs (a buffer made then would be preloaded into flash, read-only), and
   * kept here rather than in a module-level `let`, which xsl would keep in RAM as an alias. */
  private receiveBuffer: Uint8Array | null = null;

  constructor(private readonly ssh: SshServer, readonly port: number, private readonly log: (line: string) => void) {
    // An arrow function: the SDK calls back with `this` = the Listener, not this object.
    this.listener = new Listener({ port, onReadable: (requests) => this.accept(requests) });
  }

  private accept(requests: number): void {
    while (requests-- > 0) {
      const from = this.listener.read();
      if (!from) return;
      try {
        const s = new SshSocket(this.ssh, from, this.log, (done) => this.sockets.delete(done), () => (this.receiveBuffer ??= new Uint8Array(RECEIVE_PIECE)));
        if (!s.isClosed) this.sockets.add(s); // a refused connection (server full) is closed already
      } catch (e) {
        // lwIP out of memory ("no memory"): drop this one, keep serving the others.
        this.log(`accept failed: ${(e as Error).message}`);
        try {
          from.close();
        } catch {
          // already gone
        }
      }
    }
  }
}

export class SshSocket {
  private readonly tcp: TCP;
  private readonly conn: ServerConnection | null = null;
  private readonly remote: string;
  /** Bytes the connection wrote that lwIP could not take yet, oldest first. */
  private readonly queue: Uint8Array[] = [];
  private closing = false;
  private closed = false;
  private lingerTimer: Timer | null = null;

  constructor(
    ssh: SshServer,
    from: TCP,
    private readonly log: (line: string) => void,
    private readonly gone: (s: SshSocket) => void,
    /** The listener's receive buffer (RECEIVE_PIECE bytes), shared by its sockets. */
    private readonly receiveBuffer: () => Uint8Array,
  ) {
    this.tcp = new TCP({
      from,
      nodelay: true, // interactive keystrokes: no Nagle delay
      onReadable: (bytes) => this.readable(bytes),
      onWritable: () => this.writable(),
      onError: () => this.error(),
    });
    this.remote = `${this.tcp.remoteAddress ?? "?"}:${this.tcp.remotePort ?? 0}`;
    this.conn = ssh.accept(
      {
        write: (bytes) => this.write(bytes),
        close: () => this.close(),
      },
      this.remote,
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private readable(bytes: number): void {
    // Read exactly what is waiting (read(buffer) throws when asked for more), in pieces.
    while (bytes > 0 && !this.closed) {
      const n = bytes < RECEIVE_PIECE ? bytes : RECEIVE_PIECE;
      const buffer = this.receiveBuffer();
      const view = n === RECEIVE_PIECE ? buffer : buffer.subarray(0, n);
      this.tcp.read(view);
      bytes -= n;
      this.conn?.receive(view);
    }
  }

  /** ConnectionHost.write: takes every byte (copying what must wait); false when lwIP is full. */
  private write(bytes: Uint8Array): boolean {
    if (this.closed || bytes.length === 0) return true;
    if (this.queue.length === 0) {
      const taken = this.send(bytes);
      if (taken === bytes.length) return true;
      bytes = bytes.subarray(taken);
    }
    this.queue.push(bytes.slice()); // the core may reuse its buffer after we return
    return false;
  }

  /** Writes as much of `bytes` as lwIP takes now; returns the count. A write that does not fit
   * throws without writing anything, so on "would block" the piece is halved until it fits or is
   * down to SEND_MIN (then onWritable follows once lwIP has room). */
  private send(bytes: Uint8Array): number {
    let done = 0;
    let size = SEND_PIECE;
    while (done < bytes.length) {
      const n = Math.min(size, bytes.length - done);
      try {
        this.tcp.write(bytes.subarray(done, done + n));
      } catch {
        if (n <= SEND_MIN) return done;
        size = n >> 1;
        continue;
      }
      done += n;
    }
    return done;
  }

  private writable(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const taken = this.send(head);
      if (taken < head.length) {
        this.queue[0] = head.subarray(taken);
        return;
      }
      this.queue.shift();
    }
    if (this.closing) return this.finish();
    this.conn?.resumeOutput();
  }

  /** ConnectionHost.close: close once our queue has drained (lwIP sends what it holds, then FIN). */
  private close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    if (this.queue.length === 0) return this.finish();
    this.lingerTimer = Timer.set(() => {
      this.lingerTimer = null;
      this.finish();
    }, CLOSE_LINGER_MS);
  }

  private error(): void {
    // The peer closed or the link failed; everything readable was delivered before this.
    if (this.closed) return;
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    if (this.lingerTimer) Timer.clear(this.lingerTimer);
    this.lingerTimer = null;
    try {
      this.tcp.close();
    } catch {
      // already closed by the SDK
    }
    this.gone(this);
    this.conn?.socketClosed();
  }
}
