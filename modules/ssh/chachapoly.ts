// chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305): one entry of the cipher table.

import type { ChaChaPolyKey, CryptoProvider } from "../crypto/provider.js";
import type { PacketCipher } from "./cipher.js";
import { macEqual } from "./mac.js";

/** Key material chacha20-poly1305@openssh.com takes from the kex: 32 bytes of payload key followed by
 * 32 bytes of length key (OpenSSH PROTOCOL.chacha20poly1305). */
export const CHACHA_POLY_KEY_LENGTH = 64;

/**
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305): the packet sequence number is
 * the 64-bit nonce; K_1 (second half of the key) encrypts the 4-byte length with counter 0; K_2 (first
 * half) makes the Poly1305 key from block 0 and encrypts the rest from block 1; the tag covers the
 * encrypted length and the encrypted rest. All scratch buffers are allocated once per direction.
 * When the provider has createChaChaPoly (the node host: the whole packet in one step inside
 * libsodium's WebAssembly memory), the packet goes through that instead of chacha20() + poly1305().
 */
export class ChaChaPolyCipher implements PacketCipher {
  readonly name = "chacha20-poly1305@openssh.com";
  readonly blockSize = 8;
  readonly tagLength = 16;
  readonly lengthOutsideBlocks = true;
  readonly lengthBytes = 4;
  private readonly mainKey: Uint8Array;
  private readonly lengthKey: Uint8Array;
  private readonly nonce = new Uint8Array(8);
  private readonly polyKey = new Uint8Array(32);
  private readonly zeros = new Uint8Array(32);
  private readonly tag = new Uint8Array(16);
  private readonly len4 = new Uint8Array(4);

  private readonly whole: ChaChaPolyKey | null;

  constructor(private readonly crypto: CryptoProvider, key: Uint8Array) {
    if (key.length < CHACHA_POLY_KEY_LENGTH) throw new Error("chacha20-poly1305 needs a 64-byte key");
    this.mainKey = key.slice(0, 32);
    this.lengthKey = key.slice(32, 64);
    this.whole = crypto.createChaChaPoly ? crypto.createChaChaPoly(key.subarray(0, CHACHA_POLY_KEY_LENGTH)) : null;
  }

  private setNonce(seq: number): void {
    const n = this.nonce;
    n[4] = seq >>> 24;
    n[5] = seq >>> 16;
    n[6] = seq >>> 8;
    n[7] = seq;
  }

  decryptLength(seq: number, buf: Uint8Array, off: number): number {
    if (this.whole) return this.whole.decryptLength(seq, buf, off);
    this.setNonce(seq);
    const l = this.len4;
    l[0] = buf[off];
    l[1] = buf[off + 1];
    l[2] = buf[off + 2];
    l[3] = buf[off + 3];
    this.crypto.chacha20(this.lengthKey, this.nonce, 0, l, l);
    return ((l[0] << 24) | (l[1] << 16) | (l[2] << 8) | l[3]) >>> 0;
  }

  open(seq: number, buf: Uint8Array, off: number, len: number): boolean {
    if (this.whole) return this.whole.open(seq, buf, off, len);
    const c = this.crypto;
    this.setNonce(seq);
    c.chacha20(this.mainKey, this.nonce, 0, this.zeros, this.polyKey);
    c.poly1305(this.polyKey, buf.subarray(off, off + 4 + len), this.tag);
    if (!macEqual(this.tag, 0, buf, off + 4 + len, 16)) return false;
    const body = buf.subarray(off + 4, off + 4 + len);
    c.chacha20(this.mainKey, this.nonce, 1, body, body);
    return true;
  }

  dispose(): void {
    this.mainKey.fill(0);
    this.lengthKey.fill(0);
    this.polyKey.fill(0);
    this.whole?.dispose();
  }

  seal(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.whole) {
      this.whole.seal(seq, buf, off, len);
      return;
    }
    const c = this.crypto;
    this.setNonce(seq);
    const head = buf.subarray(off, off + 4);
    c.chacha20(this.lengthKey, this.nonce, 0, head, head);
    const body = buf.subarray(off + 4, off + 4 + len);
    c.chacha20(this.mainKey, this.nonce, 1, body, body);
    c.chacha20(this.mainKey, this.nonce, 0, this.zeros, this.polyKey);
    c.poly1305(this.polyKey, buf.subarray(off, off + 4 + len), this.tag);
    buf.set(this.tag, off + 4 + len);
  }
}
