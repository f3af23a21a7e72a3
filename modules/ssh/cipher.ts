// Packet ciphers for the binary packet protocol (RFC 4253 section 6) and the cipher table. A cipher
// works in place on the transport's packet buffer: [uint32 packet_length][padding_length][payload]
// [padding][tag]. Each table entry is one algorithm name with its key and IV lengths, whether it is
// an AEAD (then no MAC is negotiated for it), the provider features it needs, and its constructor.

import type { CryptoFeature, CryptoProvider } from "../crypto/provider.js";
import { AesCtrHmacCipher, AES_BLOCK } from "./aesctr.js";
import { AesGcmCipher, AES_GCM_IV_LENGTH } from "./aesgcm.js";
import { CHACHA_POLY_KEY_LENGTH, ChaChaPolyCipher } from "./chachapoly.js";
import type { MacAlgorithm } from "./mac.js";

export { CHACHA_POLY_KEY_LENGTH, ChaChaPolyCipher };

export interface PacketCipher {
  readonly name: string;
  /** Padding granularity (RFC 4253 6: max(8, cipher block size)). */
  readonly blockSize: number;
  /** Bytes of MAC / AEAD tag after each packet. */
  readonly tagLength: number;
  /** True when packet_length is authenticated but outside the padded block (AEAD / EtM): then
   * padding makes (packet_length) a multiple of blockSize rather than (4 + packet_length). */
  readonly lengthOutsideBlocks: boolean;
  /** Bytes that must have arrived before decryptLength can read the length: 4, or the first
   * cipher block when the length is encrypted with the rest (MAC-then-encrypt AES-CTR: 16). */
  readonly lengthBytes: number;
  /** Reads the packet_length from buf[off..off+lengthBytes). buf is not changed; a cipher may
   * keep what it decrypted for open(). Called once per packet. */
  decryptLength(seq: number, buf: Uint8Array, off: number): number;
  /** Verifies the tag of the packet at buf[off..off+4+len+tag) and decrypts buf[off+4..off+4+len)
   * in place. Returns false on a MAC failure; then the packet must not be acted on (AEAD and EtM
   * ciphers have decrypted nothing; MAC-then-encrypt had to decrypt to compute its MAC). */
  open(seq: number, buf: Uint8Array, off: number, len: number): boolean;
  /** Encrypts the packet at buf[off..off+4+len) in place and writes its tag right after it. */
  seal(seq: number, buf: Uint8Array, off: number, len: number): void;
  /** Forgets the keys (after a rekey or at close). */
  dispose?(): void;
}

/** The "none" cipher of the first key exchange: plain text, no MAC. */
export class NoneCipher implements PacketCipher {
  readonly name = "none";
  readonly blockSize = 8;
  readonly tagLength = 0;
  readonly lengthOutsideBlocks = false;
  readonly lengthBytes = 4;
  decryptLength(_seq: number, buf: Uint8Array, off: number): number {
    return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
  }
  open(): boolean {
    return true;
  }
  seal(): void {}
}

export interface CipherAlgorithm {
  readonly name: string;
  /** Key bytes from the kex (RFC 4253 7.2, letters C / D). */
  readonly keyLength: number;
  /** IV bytes from the kex (letters A / B); 0 when the cipher takes none. */
  readonly ivLength: number;
  /** An AEAD cipher authenticates itself: no MAC is negotiated or derived for it. */
  readonly aead: boolean;
  readonly needs: readonly CryptoFeature[];
  /** `mac` and `macKey` are given exactly when the cipher is not an AEAD. */
  create(crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, mac: MacAlgorithm | null, macKey: Uint8Array | null): PacketCipher;
}

function gcmEntry(algorithm: string, keyLength: number): CipherAlgorithm {
  // Consts for the create() below to capture: xsl keeps a captured parameter (a mutable binding) in RAM
  // as an alias, a const in flash with the preloaded table.
  const name = algorithm;
  return Object.freeze({
    name,
    keyLength,
    ivLength: AES_GCM_IV_LENGTH,
    aead: true,
    needs: Object.freeze(["aes-gcm"] as CryptoFeature[]),
    create: (crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array) => new AesGcmCipher(name, crypto, key, iv),
  });
}

function ctrEntry(algorithm: string, keyLength: number): CipherAlgorithm {
  // Consts for the create() below to capture: xsl keeps a captured parameter (a mutable binding) in RAM
  // as an alias, a const in flash with the preloaded table.
  const name = algorithm;
  return Object.freeze({
    name,
    keyLength,
    ivLength: AES_BLOCK,
    aead: false,
    needs: Object.freeze(["aes-ctr"] as CryptoFeature[]),
    create: (crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, mac: MacAlgorithm | null, macKey: Uint8Array | null) => {
      if (!mac || !macKey) throw new Error(`${name} needs a MAC`);
      return new AesCtrHmacCipher(name, crypto, key, iv, mac, macKey);
    },
  });
}

/** The ciphers we negotiate, by name; a new one is one entry here (its order of preference is in
 * algorithms.ts). */
export const CIPHERS: Readonly<Record<string, CipherAlgorithm>> = Object.freeze({
  "chacha20-poly1305@openssh.com": Object.freeze({
    name: "chacha20-poly1305@openssh.com",
    keyLength: CHACHA_POLY_KEY_LENGTH,
    ivLength: 0,
    aead: true,
    needs: Object.freeze([] as CryptoFeature[]),
    create: (crypto: CryptoProvider, key: Uint8Array) => new ChaChaPolyCipher(crypto, key),
  }),
  "aes128-gcm@openssh.com": gcmEntry("aes128-gcm@openssh.com", 16),
  "aes256-gcm@openssh.com": gcmEntry("aes256-gcm@openssh.com", 32),
  "aes128-ctr": ctrEntry("aes128-ctr", 16),
  "aes192-ctr": ctrEntry("aes192-ctr", 24),
  "aes256-ctr": ctrEntry("aes256-ctr", 32),
});
