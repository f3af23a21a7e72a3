// Binary packet protocol (RFC 4253 section 6) after the version exchange (4.2): incremental framing
// into one fixed receive buffer, MAC/AEAD verified before a packet is acted on, sequence numbers that
// wrap at 2^32, and a send path that builds each packet in place in one reusable buffer.

import { NoneCipher, type PacketCipher } from "./cipher.js";
import { MAX_MAC_LENGTH } from "./mac.js";
import { DISCONNECT, SshError, isKexPhaseMessage } from "./messages.js";
import { parseVersion } from "./version.js";
import { SshWriter } from "./wire.js";

/** Largest packet_length we accept or send. RFC 4253 6.1: every implementation MUST handle packets
 * of 35000 bytes in total and payloads of 32768; ours carry at most MAX_CHANNEL_PACKET of data plus
 * headers, so this bounds the receive buffer without refusing any conforming peer. */
export const MAX_PACKET_LENGTH = 35000;
/** Largest payload after removing padding (RFC 4253 6.1 minimum is 32768). */
export const MAX_PAYLOAD_LENGTH = MAX_PACKET_LENGTH - 5;
/** Largest MAC/tag of any cipher we support: hmac-sha2-512's 64 bytes (AEAD tags are 16). */
const MAX_TAG_LENGTH = MAX_MAC_LENGTH;
/** The receive buffer at its largest: one packet of the largest size with its length field and tag. */
export const RECEIVE_BUFFER_SIZE = 4 + MAX_PACKET_LENGTH + MAX_TAG_LENGTH;
/** The receive buffer of an idle connection: enough for the handshake's packets (a KEXINIT from
 * OpenSSH is about 1.5 KiB); it grows to RECEIVE_BUFFER_SIZE for bulk data and shrinks back when the
 * connection is idle, so idle sessions cost little (an ESP32 has about 16 KiB per extra session). */
export const IDLE_RECEIVE_BUFFER = 2048;
/** The send buffer of an idle connection, likewise. */
const IDLE_SEND_BUFFER = 1024;
/** Control messages (window adjusts, replies) held back while a key exchange runs (RFC 4253 7.1).
 * Channel data is not queued here (channels stop sending instead), so a handful suffices; a peer
 * that makes us queue more than this without finishing its kex is cut off. */
export const MAX_DEFERRED_PACKETS = 256;
/** Bytes of random padding material, refreshed at each key exchange. */
const PADDING_POOL = 64;

export interface TransportEvents {
  /** The peer's identification line (without CR LF). */
  version(version: string): void;
  /** One verified, decrypted payload; a view valid only during the call. */
  packet(payload: Uint8Array, seq: number): void;
  /** Bytes to write to the peer; valid only during the call (the host copies what it keeps).
   * Returns false when the host's send buffer is full (the core then stops producing channel data
   * until the host calls resumeOutput on the connection). */
  output(bytes: Uint8Array): boolean;
}

export class Transport {
  private rx = new Uint8Array(IDLE_RECEIVE_BUFFER);
  /** Bytes received since the last trim(). */
  private receivedSinceTrim = 0;
  private rxStart = 0;
  private rxEnd = 0;
  private versionDone = false;
  private pendingLength = -1;
  inSeq = 0;
  outSeq = 0;
  inCipher: PacketCipher = new NoneCipher();
  outCipher: PacketCipher = new NoneCipher();
  /** Counters since the last NEWKEYS, for the rekey limits. */
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  /** Totals for `info` and benchmarks. */
  bytesIn = 0;
  bytesOut = 0;
  /** While true, packets other than transport/kex messages are queued until release(). */
  holdNonKex = false;
  private readonly deferred: Uint8Array[] = [];
  /** False once the host reported a full send buffer; true again after resumeOutput. */
  outputReady = true;
  private readonly writer = new SshWriter(IDLE_SEND_BUFFER, RECEIVE_BUFFER_SIZE + 256);
  private readonly padding = new Uint8Array(PADDING_POOL);
  closed = false;

  constructor(private readonly events: TransportEvents, randomFill: (out: Uint8Array) => void) {
    randomFill(this.padding);
    this.refreshPadding = () => randomFill(this.padding);
  }
  readonly refreshPadding: () => void;

  /** Feeds bytes from the socket. Throws SshError for anything that must end the connection. */
  receive(data: Uint8Array): void {
    let off = 0;
    while (off < data.length && !this.closed) {
      if (this.rxStart > 0) {
        this.rx.copyWithin(0, this.rxStart, this.rxEnd);
        this.rxEnd -= this.rxStart;
        this.rxStart = 0;
      }
      if (this.rxEnd === this.rx.length) this.grow(this.rx.length * 2);
      const n = Math.min(this.rx.length - this.rxEnd, data.length - off);
      if (n === 0) throw new SshError(DISCONNECT.PROTOCOL_ERROR, "receive buffer full without a complete packet");
      this.rx.set(n === data.length && off === 0 ? data : data.subarray(off, off + n), this.rxEnd);
      this.rxEnd += n;
      off += n;
      this.bytesIn += n;
      this.receivedSinceTrim += n;
      this.process();
    }
  }

  private process(): void {
    if (!this.versionDone) {
      const r = parseVersion(this.rx.subarray(this.rxStart, this.rxEnd), this.rxEnd - this.rxStart);
      if (r.kind === "need-more") return;
      if (r.kind === "error") {
        throw new SshError(r.unsupported ? DISCONNECT.PROTOCOL_VERSION_NOT_SUPPORTED : DISCONNECT.PROTOCOL_ERROR, r.message);
      }
      this.rxStart += r.consumed;
      this.versionDone = true;
      this.events.version(r.version);
    }
    while (!this.closed) {
      const avail = this.rxEnd - this.rxStart;
      const cipher = this.inCipher;
      if (this.pendingLength < 0) {
        if (avail < cipher.lengthBytes) return;
        const len = cipher.decryptLength(this.inSeq, this.rx, this.rxStart);
        if (len > MAX_PACKET_LENGTH) {
          throw new SshError(DISCONNECT.PROTOCOL_ERROR, `packet length ${len} exceeds the maximum ${MAX_PACKET_LENGTH}`);
        }
        const aligned = cipher.lengthOutsideBlocks ? len : len + 4;
        if (len < 5 + 1 || aligned % cipher.blockSize !== 0) {
          throw new SshError(DISCONNECT.PROTOCOL_ERROR, `bad packet length ${len}`);
        }
        this.pendingLength = len;
      }
      const len = this.pendingLength;
      const total = 4 + len + cipher.tagLength;
      if (avail < total) {
        if (total > this.rx.length - this.rxStart) this.grow(total);
        return;
      }
      const start = this.rxStart;
      if (!cipher.open(this.inSeq, this.rx, start, len)) {
        throw new SshError(DISCONNECT.MAC_ERROR, "message authentication code incorrect");
      }
      const padLength = this.rx[start + 4];
      if (padLength < 4 || padLength > len - 2) {
        throw new SshError(DISCONNECT.PROTOCOL_ERROR, `bad padding length ${padLength} in a packet of ${len}`);
      }
      const seq = this.inSeq;
      this.inSeq = (seq + 1) >>> 0;
      this.pendingLength = -1;
      this.rxStart = start + total;
      this.bytesSinceKex += total;
      this.packetsSinceKex++;
      this.events.packet(this.rx.subarray(start + 5, start + 4 + len - padLength), seq);
    }
  }

  /** Makes room for `size` buffered bytes (never beyond RECEIVE_BUFFER_SIZE, which holds any packet
   * we accept), keeping what is buffered. */
  private grow(size: number): void {
    // Sized before anything is allocated: a packet that straddles two socket reads and fits once
    // the buffer is compacted (the next receive() pass does that) calls this for every such read.
    const length = Math.min(Math.max(size, this.rx.length), RECEIVE_BUFFER_SIZE);
    if (length <= this.rx.length) return;
    const next = new Uint8Array(length);
    next.set(this.rx.subarray(this.rxStart, this.rxEnd));
    this.rxEnd -= this.rxStart;
    this.rxStart = 0;
    this.rx = next;
  }

  /** Called about once a second: gives back grown buffers when nothing arrived since the last call. */
  trim(): void {
    if (this.receivedSinceTrim === 0 && this.rx.length > IDLE_RECEIVE_BUFFER && this.rxEnd - this.rxStart <= IDLE_RECEIVE_BUFFER) {
      const next = new Uint8Array(IDLE_RECEIVE_BUFFER);
      next.set(this.rx.subarray(this.rxStart, this.rxEnd));
      this.rxEnd -= this.rxStart;
      this.rxStart = 0;
      this.rx = next;
      this.writer.shrink(IDLE_SEND_BUFFER);
    }
    this.receivedSinceTrim = 0;
  }

  /** Starts a packet: returns the writer positioned after the message number. Build the payload and
   * call send() before starting another packet. */
  begin(type: number): SshWriter {
    return this.writer.reset(5).byte(type);
  }

  /** Pads, encrypts and emits the packet built since begin(); while a key exchange holds non-kex
   * messages, queues a copy of the payload instead. */
  send(): void {
    if (this.closed) return;
    const w = this.writer;
    const type = w.buf[5];
    if (this.holdNonKex && !isKexPhaseMessage(type)) {
      if (this.deferred.length >= MAX_DEFERRED_PACKETS) {
        throw new SshError(DISCONNECT.PROTOCOL_ERROR, "too many messages held during key exchange");
      }
      this.deferred.push(w.buf.slice(5, w.pos));
      return;
    }
    this.seal();
  }

  private seal(): void {
    const w = this.writer;
    const cipher = this.outCipher;
    const payloadLength = w.pos - 5;
    const base = cipher.lengthOutsideBlocks ? 1 + payloadLength : 5 + payloadLength;
    let pad = cipher.blockSize - (base % cipher.blockSize);
    if (pad < 4) pad += cipher.blockSize;
    const packetLength = 1 + payloadLength + pad;
    w.ensure(pad + cipher.tagLength);
    const b = w.buf;
    b.set(this.padding.subarray(0, pad), w.pos);
    b[0] = packetLength >>> 24;
    b[1] = packetLength >>> 16;
    b[2] = packetLength >>> 8;
    b[3] = packetLength;
    b[4] = pad;
    cipher.seal(this.outSeq, b, 0, packetLength);
    this.outSeq = (this.outSeq + 1) >>> 0;
    const total = 4 + packetLength + cipher.tagLength;
    this.bytesSinceKex += total;
    this.packetsSinceKex++;
    this.bytesOut += total;
    if (!this.events.output(b.subarray(0, total))) this.outputReady = false;
  }

  /** Sends the messages held during a key exchange, in order. */
  release(): void {
    this.holdNonKex = false;
    const queued = this.deferred.splice(0, this.deferred.length);
    for (const payload of queued) {
      this.writer.reset(5).raw(payload);
      this.seal();
    }
  }

  /** Writes raw bytes (the version line) before the packet protocol starts. */
  writeRaw(bytes: Uint8Array): void {
    this.bytesOut += bytes.length;
    if (!this.events.output(bytes)) this.outputReady = false;
  }
}
