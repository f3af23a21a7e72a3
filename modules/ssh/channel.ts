// Channels of the connection protocol (RFC 4254 section 5): windows honoured both ways, bounded send
// queues, and the EOF/CLOSE handshake.

import { EXTENDED_DATA_STDERR, MSG } from "./messages.js";
import { ByteRing } from "./ring.js";
import type { Transport } from "./transport.js";
import type { SshReader } from "./wire.js";

/** Default largest CHANNEL_DATA either way (advertised as maximum packet size, RFC 4254 5.1): the RFC
 * 4253 minimum payload every peer can send, and what OpenSSH uses itself. A small device lowers it
 * (ServerLimits.maxChannelPacket) so that its packet buffers stay small. */
export const MAX_CHANNEL_PACKET = 32768;
/** Default bytes a channel's app may queue for sending beyond what the peer's window takes now.
 * Writes past it are refused (the app waits for writable()), so a stalled client costs at most this
 * per stream (ServerLimits.channelSendQueue). */
export const CHANNEL_SEND_QUEUE = 64 * 1024;
/** A consumed amount that earns a WINDOW_ADJUST at once, when smaller than half the window: a big
 * window is re-opened in steps of this, so the peer always has most of it to send into (OpenSSH's
 * sshd re-opens after 3 packets, npm ssh2 at half of 2 MiB). Small windows (a board's 16 KiB) are
 * re-opened at half as before. */
export const WINDOW_ADJUST_STEP = 256 * 1024;
/** Largest window a peer can give us; window adjusts beyond it are capped (RFC 4254 5.2). */
const MAX_WINDOW = 0xffffffff;

/** What a channel's owner (a session) is told. */
export interface ChannelHandler {
  /** Data from the peer: a view valid only during the call. Call channel.consume(n) once n bytes
   * are processed; our window re-opens only then. */
  data(data: Uint8Array): void;
  /** SSH_MSG_CHANNEL_EXTENDED_DATA from the peer (no defined use client to server); consumed already. */
  extendedData?(type: number, data: Uint8Array): void;
  peerEof(): void;
  /** A channel request. The handler calls reply(ok) exactly once, at once (it is sent only when
   * want_reply was set), and may act after replying (start a program after CHANNEL_SUCCESS). */
  request(type: string, r: SshReader, reply: (ok: boolean) => void): void;
  /** Queued output drained (below half of CHANNEL_SEND_QUEUE): the app may write again. */
  writable(): void;
  /** The channel is gone (both CLOSE messages exchanged, or the connection ended). */
  closed(): void;
}

export class Channel {
  handler: ChannelHandler | null = null;
  /** Bytes the peer may still send us. */
  private localWindow: number;
  /** Bytes consumed by the app but not yet re-opened with a WINDOW_ADJUST. */
  private unacked = 0;
  /** Bytes we may still send / largest data packet the peer accepts. */
  remoteWindow: number;
  readonly remoteMaxPacket: number;
  private readonly out: ByteRing;
  private readonly err: ByteRing;
  /** Largest data packet either way: ours, and the peer's when smaller. */
  private readonly maxPacket: number;
  eofSent = false;
  eofReceived = false;
  closeSent = false;
  closeReceived = false;
  private finishing = false;
  private exitStatus: number | null = null;
  private exitSignal: string | null = null;
  private wasFull = false;
  /** Consumed bytes that trigger a WINDOW_ADJUST. */
  private readonly adjustAt: number;

  constructor(
    private readonly mux: ChannelSender,
    readonly type: string,
    readonly localId: number,
    readonly remoteId: number,
    remoteWindow: number,
    remoteMaxPacket: number,
    readonly windowSize: number,
    maxPacket = MAX_CHANNEL_PACKET,
    sendQueue = CHANNEL_SEND_QUEUE,
  ) {
    this.localWindow = windowSize;
    this.adjustAt = Math.min(windowSize / 2, WINDOW_ADJUST_STEP);
    this.remoteWindow = remoteWindow;
    this.maxPacket = maxPacket;
    this.remoteMaxPacket = Math.max(1, Math.min(remoteMaxPacket, maxPacket));
    this.out = new ByteRing(sendQueue);
    this.err = new ByteRing(sendQueue);
  }

  /** Bytes of output queued but not yet sent. */
  get queued(): number {
    return this.out.length + this.err.length;
  }

  /** Bytes write() would accept right now. */
  get writableBytes(): number {
    return this.closeSent || this.eofSent || this.finishing ? 0 : this.out.free;
  }

  /** Queues output to the peer (stdout, or stderr as extended data); returns how many bytes were
   * taken. What is not taken must wait for writable(). Sends at once what the window allows. */
  write(data: Uint8Array, stderr = false): number {
    if (this.closeSent || this.eofSent || this.finishing || data.length === 0) return 0;
    const ring = stderr ? this.err : this.out;
    let taken = 0;
    if (ring.length === 0) taken = this.sendDirect(data, stderr);
    if (taken < data.length) taken += ring.write(taken === 0 ? data : data.subarray(taken));
    if (taken < data.length) this.wasFull = true;
    return taken;
  }

  /** The app processed n bytes of received data: re-open our window (RFC 4254 5.2) once half of it,
   * or WINDOW_ADJUST_STEP when that is less, is used, so adjusts are few but the peer never waits
   * for one. */
  consume(n: number): void {
    if (this.closeSent || this.closeReceived) return;
    this.unacked += n;
    if (this.unacked >= this.adjustAt || this.localWindow < this.maxPacket) {
      this.mux.transport.begin(MSG.CHANNEL_WINDOW_ADJUST).uint32(this.remoteId).uint32(this.unacked);
      this.mux.transport.send();
      this.localWindow += this.unacked;
      this.unacked = 0;
    }
  }

  /** Ends the channel the way `ssh` expects (exit-status before EOF and CLOSE, after all queued
   * output is sent). */
  exit(status: number): void {
    if (this.finishing || this.closeSent) return;
    this.finishing = true;
    this.exitStatus = status >>> 0;
    this.flush();
  }

  /** Ends the channel reporting a signal (RFC 4254 6.10). */
  exitBySignal(signal: string): void {
    if (this.finishing || this.closeSent) return;
    this.finishing = true;
    this.exitSignal = signal;
    this.flush();
  }

  /** Sends EOF once queued output is gone (the app has no more to say but keeps reading). */
  sendEof(): void {
    if (this.eofSent || this.closeSent) return;
    if (this.queued === 0 && this.mux.canSendData()) {
      this.eofSent = true;
      this.mux.transport.begin(MSG.CHANNEL_EOF).uint32(this.remoteId);
      this.mux.transport.send();
    } else {
      this.pendingEof = true;
    }
  }
  private pendingEof = false;

  /** Closes the channel now, dropping queued output. */
  close(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.out.clear();
    this.err.clear();
    this.mux.transport.begin(MSG.CHANNEL_CLOSE).uint32(this.remoteId);
    this.mux.transport.send();
    if (this.closeReceived) this.mux.release(this);
  }

  /** Sends as much queued output as the peer's window, its packet size and the host allow, then
   * finishes a pending exit. Called on window adjusts, when output resumes and after a rekey. */
  flush(): void {
    if (this.closeSent) return;
    if (this.err.length > 0) this.drainRing(this.err, true);
    if (this.out.length > 0) this.drainRing(this.out, false);
    if (this.queued > 0) return;
    if (this.wasFull && !this.finishing) {
      this.wasFull = false;
      this.handler?.writable();
    }
    if (this.queued > 0 || !this.mux.canSendData()) return;
    if (this.pendingEof && !this.eofSent) this.sendEof();
    if (this.finishing) {
      const t = this.mux.transport;
      if (this.exitStatus !== null) {
        t.begin(MSG.CHANNEL_REQUEST).uint32(this.remoteId).text("exit-status").boolean(false).uint32(this.exitStatus);
        t.send();
      } else if (this.exitSignal !== null) {
        t.begin(MSG.CHANNEL_REQUEST).uint32(this.remoteId).text("exit-signal").boolean(false).text(this.exitSignal).boolean(false).text("").text("");
        t.send();
      }
      if (!this.eofSent) {
        this.eofSent = true;
        t.begin(MSG.CHANNEL_EOF).uint32(this.remoteId);
        t.send();
      }
      this.close();
    }
  }

  private drainRing(ring: ByteRing, stderr: boolean): void {
    while (ring.length > 0) {
      const chunk = ring.peek(this.sendable());
      if (chunk.length === 0) return;
      this.sendPacket(chunk, stderr);
      ring.skip(chunk.length);
    }
  }

  private sendable(): number {
    if (!this.mux.canSendData()) return 0;
    return Math.min(this.remoteWindow, this.remoteMaxPacket);
  }

  private sendDirect(data: Uint8Array, stderr: boolean): number {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(this.sendable(), data.length - off);
      if (n <= 0) break;
      this.sendPacket(off === 0 && n === data.length ? data : data.subarray(off, off + n), stderr);
      off += n;
    }
    return off;
  }

  private sendPacket(chunk: Uint8Array, stderr: boolean): void {
    const t = this.mux.transport;
    if (stderr) t.begin(MSG.CHANNEL_EXTENDED_DATA).uint32(this.remoteId).uint32(EXTENDED_DATA_STDERR).string(chunk);
    else t.begin(MSG.CHANNEL_DATA).uint32(this.remoteId).string(chunk);
    t.send();
    this.remoteWindow -= chunk.length;
  }

  // ---- called by the connection on messages from the peer ----

  /** Accounts received data against our window; false when the peer overran it. */
  takeWindow(n: number): boolean {
    if (n > this.localWindow || n > this.maxPacket) return false;
    this.localWindow -= n;
    return true;
  }

  adjust(n: number): void {
    this.remoteWindow = Math.min(MAX_WINDOW, this.remoteWindow + n);
    this.flush();
  }
}

/** What a channel needs from the connection that owns it. */
export interface ChannelSender {
  readonly transport: Transport;
  /** False while a key exchange runs or the host's send buffer is full. */
  canSendData(): boolean;
  /** Both CLOSEs exchanged: forget the channel. */
  release(channel: Channel): void;
}
