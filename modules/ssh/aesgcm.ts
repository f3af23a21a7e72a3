// aes128-gcm@openssh.com and aes256-gcm@openssh.com (RFC 5647 as OpenSSH PROTOCOL 1.6 amends it):
// AES-GCM with the 4-byte packet length as additional authenticated data (sent in the clear), the
// rest of the packet encrypted, a 16-byte tag after it. The 12-byte nonce is the kex's IV: a fixed
// 4-byte field and an 8-byte invocation counter, incremented after every packet (RFC 5647 7.1).

import type { AesGcmKey, CryptoProvider } from "../crypto/provider.js";
import type { PacketCipher } from "./cipher.js";

/** IV bytes the kex gives an AES-GCM cipher (RFC 5647 7.1). */
export const AES_GCM_IV_LENGTH = 12;

export class AesGcmCipher implements PacketCipher {
  readonly blockSize = 16;
  readonly tagLength = 16;
  readonly lengthOutsideBlocks = true;
  readonly lengthBytes = 4;
  private readonly key: AesGcmKey;
  private readonly iv = new Uint8Array(AES_GCM_IV_LENGTH);

  constructor(readonly name: string, crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array) {
    if (iv.length < AES_GCM_IV_LENGTH) throw new Error(`${name} needs a ${AES_GCM_IV_LENGTH}-byte IV`);
    this.key = crypto.createAesGcm!(key);
    this.iv.set(iv.subarray(0, AES_GCM_IV_LENGTH));
  }

  /** The invocation counter: the last 8 bytes of the nonce as a big-endian integer. */
  private next(): void {
    const v = this.iv;
    for (let i = AES_GCM_IV_LENGTH - 1; i >= 4; i--) {
      v[i] = (v[i] + 1) & 0xff;
      if (v[i] !== 0) return;
    }
  }

  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
  }

  open(_seq: number, buf: Uint8Array, off: number, len: number): boolean {
    if (!this.key.open(this.iv, buf, off, len)) return false;
    this.next();
    return true;
  }

  seal(_seq: number, buf: Uint8Array, off: number, len: number): void {
    this.key.seal(this.iv, buf, off, len);
    this.next();
  }

  dispose(): void {
    this.key.dispose();
    this.iv.fill(0);
  }
}
