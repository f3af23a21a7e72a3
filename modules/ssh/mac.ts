// The MAC table (RFC 4253 6.4): HMAC-SHA2 (RFC 6668) and OpenSSH's encrypt-then-MAC variants
// (PROTOCOL 1.7: the MAC covers the unencrypted packet length and the ciphertext, so it is checked
// before anything is decrypted). A MAC is negotiated only with a cipher that is not an AEAD; an
// AEAD cipher's tag is its MAC (RFC 5647 5.1, PROTOCOL.chacha20poly1305), whatever the MAC lists say.

import type { CryptoFeature } from "../crypto/provider.js";

export interface MacAlgorithm {
  readonly name: string;
  readonly hash: "sha256" | "sha512";
  /** Key bytes taken from the kex (RFC 6668 2: the hash length). */
  readonly keyLength: number;
  /** MAC bytes after each packet. */
  readonly size: number;
  /** Encrypt-then-MAC: the length travels in the clear and the MAC covers the ciphertext. */
  readonly etm: boolean;
  readonly needs: readonly CryptoFeature[];
}

function hmacEntry(name: string, hash: "sha256" | "sha512", etm: boolean): MacAlgorithm {
  const size = hash === "sha256" ? 32 : 64;
  return Object.freeze({ name, hash, keyLength: size, size, etm, needs: Object.freeze([`hmac-${hash}` as CryptoFeature]) });
}

export const MACS: Readonly<Record<string, MacAlgorithm>> = Object.freeze({
  "hmac-sha2-256-etm@openssh.com": hmacEntry("hmac-sha2-256-etm@openssh.com", "sha256", true),
  "hmac-sha2-512-etm@openssh.com": hmacEntry("hmac-sha2-512-etm@openssh.com", "sha512", true),
  "hmac-sha2-256": hmacEntry("hmac-sha2-256", "sha256", false),
  "hmac-sha2-512": hmacEntry("hmac-sha2-512", "sha512", false),
});

/** Longest MAC of the table (hmac-sha2-512): bounds the transport's receive buffer. */
export const MAX_MAC_LENGTH = 64;

/** Constant-time comparison of a[ao, ao+n) with b[bo, bo+n): the time does not depend on where the
 * first difference is (RFC 4253 6.4 does not demand it; timing oracles on MACs are real). */
export function macEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  let d = 0;
  for (let i = 0; i < n; i++) d |= a[ao + i] ^ b[bo + i];
  return d === 0;
}
