// TCP for the SSH server in the QEMU firmware: nativeNet (hosts/qemu/firmware/xs_net.c over lwIP)
// adapted to the core's ConnectionHost, with the node host's semantics (hosts/node/server.ts).
//
// Input: readable(n) -> read the waiting bytes into one shared buffer, RECEIVE_PIECE at a time, and
// feed the connection. lwIP re-opens the TCP window only as bytes are read.
// Output: nativeNet.write takes what fits lwIP's send buffer (TCP_SND_BUF, 8 KiB). ConnectionHost.write
// must take every byte: what lwIP did not take is kept (copied) and write returns false; the core
// then stops producing channel data, so what is kept is the rest of that one write plus, at most, a
// few small control packets the core still sends (window adjusts, replies). writable(id) sends what
// is kept and, once it is all gone, calls conn.resumeOutput().

import type { ServerConnection } from "../../modules/ssh/connection.js";
import type { SshServer } from "../../modules/ssh/server.js";
import type { NativeNet } from "./natives.js";

/** Bytes moved per read: TCP_MSS-sized pieces keep each receive() call short. */
export const RECEIVE_PIECE = 2048;
/** A socket the core closed gets this long to send what is kept before it is reset. */
const CLOSE_LINGER_MS = 5000;

/** One buffer for every connection's input: callbacks never overlap (one JS thread). */
const receiveBuffer = new Uint8Array(RECEIVE_PIECE);

export class SshListener {
  private readonly sockets = new Map<number, SshSocket>();

  constructor(
    private readonly net: NativeNet,
    private readonly ssh: SshServer,
    port: number,
    private readonly log: (line: string) => void,
    private readonly accepted?: (remote: string) => void,
  ) {
    net.listen(port, {
      accept: (id, address, remotePort) => this.accept(id, `${address}:${remotePort}`),
      readable: (id, available) => this.sockets.get(id)?.readable(available),
      writable: (id) => this.sockets.get(id)?.writable(),
      ended: (id) => this.sockets.get(id)?.gone(false),
      error: (id, code) => this.sockets.get(id)?.gone(true, code),
    });
  }

  get open(): number {
    return this.sockets.size;
  }

  private accept(id: number, remote: string): void {
    this.accepted?.(remote);
    const s = new SshSocket(this.net, id, remote, this.log, () => this.sockets.delete(id));
    this.sockets.set(id, s);
    s.attach(this.ssh);
  }
}

class SshSocket {
  private conn: ServerConnection | null = null;
  /** What the core wrote that lwIP has not taken yet, oldest first. */
  private kept: Uint8Array[] = [];
  private closing = false;
  private closed = false;
  private linger: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly net: NativeNet,
    private readonly id: number,
    private readonly remote: string,
    private readonly log: (line: string) => void,
    private readonly forget: () => void,
  ) {}

  attach(ssh: SshServer): void {
    this.conn = ssh.accept({ write: (bytes) => this.write(bytes), close: () => this.close() }, this.remote);
  }

  readable(available: number): void {
    while (available > 0 && !this.closed) {
      const n = this.net.read(this.id, available < RECEIVE_PIECE ? receiveBuffer.subarray(0, available) : receiveBuffer);
      if (n <= 0) return;
      available -= n;
      this.conn?.receive(receiveBuffer.subarray(0, n));
    }
  }

  private write(bytes: Uint8Array): boolean {
    if (this.closed || bytes.length === 0) return true;
    if (this.kept.length === 0) {
      const n = this.net.write(this.id, bytes);
      if (n < 0) return true; // gone: error() follows
      if (n === bytes.length) return true;
      bytes = bytes.subarray(n);
    }
    this.kept.push(bytes.slice()); // the core may reuse its buffer once we return
    return false;
  }

  writable(): void {
    while (this.kept.length > 0) {
      const head = this.kept[0];
      const n = this.net.write(this.id, head);
      if (n < 0) return;
      if (n < head.length) {
        this.kept[0] = head.subarray(n);
        return;
      }
      this.kept.shift();
    }
    if (this.closing) this.finish(false);
    else this.conn?.resumeOutput();
  }

  /** ConnectionHost.close: FIN once everything kept has gone to lwIP. */
  private close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    if (this.kept.length === 0) this.finish(false);
    else this.linger = setTimeout(() => this.finish(true), CLOSE_LINGER_MS);
  }

  private finish(abort: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.linger) clearTimeout(this.linger);
    this.kept = [];
    if (abort) this.net.abort(this.id);
    else this.net.close(this.id);
    this.forget();
  }

  /** The peer ended (FIN) or the connection broke (reset: already freed by lwIP). */
  gone(broken: boolean, code = 0): void {
    if (this.closed) return;
    if (broken) {
      this.closed = true;
      if (this.linger) clearTimeout(this.linger);
      this.kept = [];
      this.forget();
      if (!this.closing) this.log(`${this.remote}: connection reset (lwIP error ${code})`);
    } else {
      this.finish(false);
    }
    this.conn?.socketClosed();
  }
}
