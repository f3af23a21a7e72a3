// The crypto provider: every primitive the SSH core needs, synchronous, behind one small interface.
// Hosts choose the implementation: pure TypeScript over @noble/* (the default and the reference),
// node:crypto on the node host, native C hooks (XS host functions) on the firmware hosts.
//
// Conventions, so that hot paths allocate nothing:
// - functions that fill an `out` buffer write exactly the documented number of bytes into it;
// - inputs are never modified and never retained after the call returns.

export interface CryptoProvider {
  /** Short name shown by `info` and in benchmarks ("noble", "node", "native"). */
  readonly name: string;

  /** Fills `out` with cryptographically secure random bytes from the host. */
  randomBytes(out: Uint8Array): void;

  /** SHA-256 (FIPS 180-4) of `data`: 32 bytes. */
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-512 (FIPS 180-4) of `data`: 64 bytes. */
  sha512(data: Uint8Array): Uint8Array;

  /**
   * X25519 (RFC 7748): scalar (32) times the u-coordinate `point` (32): 32 bytes. Throws
   * Error('x25519: low-order point') when `point` is a low-order point, i.e. when the result would be
   * all zero (RFC 7748 section 6.1, RFC 8731 section 3), instead of returning 32 zero bytes.
   */
  x25519(scalar: Uint8Array, point: Uint8Array): Uint8Array;
  /** X25519 public key for a private scalar (32): scalar times the base point 9. */
  x25519Public(scalar: Uint8Array): Uint8Array;

  /** Ed25519 (RFC 8032) public key (32) for a 32-byte seed. */
  ed25519Public(seed: Uint8Array): Uint8Array;
  /** Ed25519 signature (64) of `message` with the key made from `seed` (32). */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * True when `signature` (64) is a valid Ed25519 signature of `message` under `publicKey` (32).
   * RFC 8032 strict: non-canonical encodings and small-order public keys are refused. Never throws:
   * malformed keys or signatures of any length give false.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  /**
   * ChaCha20 with D. J. Bernstein's original layout: a 64-bit block counter (state words 12-13) and
   * a 64-bit nonce (words 14-15), as chacha20-poly1305@openssh.com uses it. XORs the key stream,
   * starting at block `counter`, into all of `input` and writes the result to `output` (which may
   * be `input` itself, or a buffer not overlapping it; when longer, only input.length bytes are
   * written). key: 32 bytes, nonce: 8 bytes, counter: 0 <= counter < 2^32; the 64-bit block counter
   * carries from word 12 into word 13. Throws RangeError on bad lengths or counter.
   */
  chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void;

  /** Poly1305 (RFC 8439 2.5) one-time authenticator of `message` under a 32-byte key, into out[0..16). */
  poly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
}
