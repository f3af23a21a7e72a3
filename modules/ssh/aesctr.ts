// aes128-ctr, aes192-ctr, aes256-ctr (RFC 4344 4) with an HMAC from the MAC table (mac.ts): one
// continuing AES-CTR key stream per direction, started at the kex's 16-byte IV.
//
// - Encrypt-then-MAC (*-etm@openssh.com, OpenSSH PROTOCOL 1.7): the packet length is sent in the
//   clear; the MAC covers seq || length || ciphertext and is checked before anything is decrypted.
// - MAC-then-encrypt (RFC 4253 6.4): the whole packet is encrypted; the MAC covers seq || plaintext.
//   The first 16-byte block has to be decrypted to learn the length; nothing acts on the packet
//   (the transport hands nothing on) until the whole packet is in and its MAC holds.

import type { AesCtrStream, CryptoProvider, HmacKey } from "../crypto/provider.js";
import type { PacketCipher } from "./cipher.js";
import { macEqual, type MacAlgorithm } from "./mac.js";

/** AES block size and the IV bytes the kex gives AES-CTR (RFC 4344 4). */
export const AES_BLOCK = 16;

export class AesCtrHmacCipher implements PacketCipher {
  readonly name: string;
  readonly blockSize = AES_BLOCK;
  readonly tagLength: number;
  readonly lengthOutsideBlocks: boolean;
  readonly lengthBytes: number;
  private readonly stream: AesCtrStream;
  private readonly mac: HmacKey;
  private readonly etm: boolean;
  /** MAC-then-encrypt: the first block, decrypted by decryptLength and put back by open(). */
  private readonly first = new Uint8Array(AES_BLOCK);
  private readonly tag: Uint8Array;

  constructor(name: string, crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, mac: MacAlgorithm, macKey: Uint8Array) {
    this.name = `${name} + ${mac.name}`;
    this.stream = crypto.createAesCtr!(key, iv.subarray(0, AES_BLOCK));
    this.mac = crypto.createHmac!(mac.hash, macKey);
    this.etm = mac.etm;
    this.tagLength = mac.size;
    this.lengthOutsideBlocks = mac.etm;
    this.lengthBytes = mac.etm ? 4 : AES_BLOCK;
    this.tag = new Uint8Array(mac.size);
  }

  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    if (this.etm) return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
    const f = this.first;
    for (let i = 0; i < AES_BLOCK; i++) f[i] = buf[off + i];
    this.stream.process(f, 0, AES_BLOCK);
    return ((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]) >>> 0;
  }

  open(seq: number, buf: Uint8Array, off: number, len: number): boolean {
    const macAt = off + 4 + len;
    if (this.etm) {
      this.mac.mac(seq, buf, off, 4 + len, this.tag, 0);
      if (!macEqual(this.tag, 0, buf, macAt, this.tagLength)) return false;
      this.stream.process(buf, off + 4, len);
      return true;
    }
    buf.set(this.first, off);
    this.stream.process(buf, off + AES_BLOCK, 4 + len - AES_BLOCK);
    this.mac.mac(seq, buf, off, 4 + len, this.tag, 0);
    return macEqual(this.tag, 0, buf, macAt, this.tagLength);
  }

  seal(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.etm) {
      this.stream.process(buf, off + 4, len);
      this.mac.mac(seq, buf, off, 4 + len, buf, off + 4 + len);
    } else {
      this.mac.mac(seq, buf, off, 4 + len, buf, off + 4 + len);
      this.stream.process(buf, off, 4 + len);
    }
  }

  dispose(): void {
    this.stream.dispose();
    this.mac.dispose();
    this.first.fill(0);
  }
}
