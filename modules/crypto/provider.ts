// The crypto provider: every primitive the SSH core needs, synchronous, behind one small interface.
// Hosts choose the implementation: pure TypeScript over @noble/* (the default and the reference),
// node:crypto on the node host, native C hooks (XS host functions) on the firmware hosts.
//
// Conventions, so that hot paths allocate nothing:
// - functions that fill an `out` buffer write exactly the documented number of bytes into it;
// - inputs are never modified and never retained after the call returns.

export interface CryptoProvider extends OptionalPrimitives {
  /** Short name shown by `info` and in benchmarks ("noble", "node", "node+openssl", "native"). */
  readonly name: string;

  /** The optional primitives this provider has (see CryptoFeature). The primitives above are
   * required of every provider. */
  readonly features: readonly CryptoFeature[];

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

// ---------------------------------------------------------------------------------------------
// Optional primitives. A provider lists what it can do in `features`; an algorithm table entry
// (kex, host key, cipher, MAC, signature) is offered only when every feature it needs is listed, so
// a host with fewer primitives offers fewer algorithms instead of failing mid-kex. A provider that
// lists a feature must implement the methods named beside it below; one that does not list it may
// leave them out.

/** NIST prime curves (FIPS 186-5, SEC 2): P-256, P-384, P-521. */
export type EcCurve = 'p256' | 'p384' | 'p521';
/** Hash functions of the SHA-2 family that signatures and MACs use here. */
export type HashName = 'sha256' | 'sha384' | 'sha512';

export type CryptoFeature =
  /** sha384() */
  | 'sha384'
  /** createHmac('sha256' | 'sha512', ...) */
  | 'hmac-sha256'
  | 'hmac-sha512'
  /** createAesGcm() with 16- and 32-byte keys */
  | 'aes-gcm'
  /** createAesCtr() with 16-, 24- and 32-byte keys */
  | 'aes-ctr'
  /** ecGenerate/ecPublic/ecdh for that curve */
  | 'ecdh-p256'
  | 'ecdh-p384'
  | 'ecdh-p521'
  /** ecGenerate/ecPublic/ecdsaSign/ecdsaVerify for that curve */
  | 'ecdsa-p256'
  | 'ecdsa-p384'
  | 'ecdsa-p521'
  /** rsaVerify and rsaSign (PKCS #1 v1.5, RFC 8017 8.2, with SHA-256 and SHA-512) */
  | 'rsa'
  /** rsaGenerate (may be slow on a board: minutes for 3072 bits) */
  | 'rsa-generate'
  /** mlkem768Encapsulate (FIPS 203) */
  | 'mlkem768';

/**
 * An RSA key's numbers as unsigned big-endian byte strings without leading zero bytes (RFC 8017
 * 3.1, 3.2): modulus n, public exponent e, private exponent d, primes p and q, dp = d mod (p-1),
 * dq = d mod (q-1), qi = q^-1 mod p. The public key is { n, e }.
 */
export interface RsaPublicKey {
  n: Uint8Array;
  e: Uint8Array;
}
export interface RsaPrivateKey extends RsaPublicKey {
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
}

/** An EC key pair: the private scalar as a fixed-length big-endian integer (32, 48 or 66 bytes) and
 * the public point in SEC 1 uncompressed form (0x04 || X || Y: 65, 97 or 133 bytes). */
export interface EcKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * An AES-GCM key (NIST SP 800-38D) with its key schedule done once, for the SSH packet layout of
 * aes*-gcm@openssh.com (RFC 5647, OpenSSH PROTOCOL 1.6): in buf, the 4-byte packet_length at
 * [off, off+4) is the additional authenticated data, the `len` bytes after it are encrypted, and the
 * 16-byte tag follows them at [off+4+len, off+4+len+16). `iv` is the 12-byte nonce (the caller
 * advances the invocation counter). Nothing is allocated per call.
 */
export interface AesGcmKey {
  /** Encrypts buf[off+4, off+4+len) in place and writes the tag after it. */
  seal(iv: Uint8Array, buf: Uint8Array, off: number, len: number): void;
  /** Verifies the tag and, only when it holds, decrypts buf[off+4, off+4+len) in place. Returns
   * false, with buf unchanged, when the tag does not match. Never throws for a bad tag. */
  open(iv: Uint8Array, buf: Uint8Array, off: number, len: number): boolean;
  /** Forgets the key (wipes it where the provider can). The object is unusable afterwards. */
  dispose(): void;
}

/**
 * A chacha20-poly1305@openssh.com key pair (OpenSSH PROTOCOL.chacha20poly1305) for the SSH packet
 * layout: in buf, the 4-byte packet_length at [off, off+4) (encrypted with the length key K_1), the
 * `len` bytes after it (encrypted with the main key K_2 from block 1) and the 16-byte Poly1305 tag at
 * [off+4+len, off+4+len+16) over both, keyed by block 0 of K_2. `seq` is the packet sequence number
 * (the 64-bit nonce's low word). A provider offers this when it can do the whole packet in one step
 * with nothing allocated per call (the cipher falls back to chacha20() and poly1305() otherwise).
 */
export interface ChaChaPolyKey {
  /** Decrypts the 4 length bytes at buf[off, off+4) and returns packet_length; buf is unchanged. */
  decryptLength(seq: number, buf: Uint8Array, off: number): number;
  /** Encrypts buf[off, off+4+len) in place and writes the tag after it. */
  seal(seq: number, buf: Uint8Array, off: number, len: number): void;
  /** Verifies the tag and, only when it holds, decrypts buf[off+4, off+4+len) in place. Returns
   * false, with buf unchanged, when the tag does not match. */
  open(seq: number, buf: Uint8Array, off: number, len: number): boolean;
  dispose(): void;
}

/**
 * AES in counter mode (NIST SP 800-38A 6.5) as aes*-ctr uses it (RFC 4344): one key stream for the
 * life of the key, starting at the 16-byte initial counter block `iv`, incremented as a 128-bit
 * big-endian integer. Each call continues the stream where the last one stopped (lengths need not
 * be multiples of 16).
 */
export interface AesCtrStream {
  /** XORs the next len bytes of key stream into buf[off, off+len), in place. */
  process(buf: Uint8Array, off: number, len: number): void;
  dispose(): void;
}

/**
 * An HMAC key (RFC 2104) for the SSH MACs (RFC 4253 6.4, RFC 6668): mac = HMAC(key, uint32 seq ||
 * buf[off, off+len)), written to out[outOff, outOff + size). The pads are computed once per key.
 */
export interface HmacKey {
  /** Output length in bytes (32 for SHA-256, 64 for SHA-512). */
  readonly size: number;
  mac(seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void;
  dispose(): void;
}

/** The optional primitives (see CryptoFeature for which feature each belongs to). */
export interface OptionalPrimitives {
  /** SHA-384 (FIPS 180-4): 48 bytes. */
  sha384?(data: Uint8Array): Uint8Array;

  /** An HMAC key over SHA-256 or SHA-512; `key` is copied. */
  createHmac?(hash: 'sha256' | 'sha512', key: Uint8Array): HmacKey;

  /** An AES-GCM key of 16 or 32 bytes; `key` is copied. */
  createAesGcm?(key: Uint8Array): AesGcmKey;
  /** An AES-CTR stream for a key of 16, 24 or 32 bytes and a 16-byte initial counter block. */
  createAesCtr?(key: Uint8Array, iv: Uint8Array): AesCtrStream;
  /** A chacha20-poly1305@openssh.com key from the kex's 64 bytes (K_2 || K_1); `key` is copied.
   * Optional with no feature of its own: chacha20() and poly1305() already give the cipher. */
  createChaChaPoly?(key: Uint8Array): ChaChaPolyKey;

  /** A fresh key pair on `curve` (for ECDH ephemerals and ECDSA host keys). */
  ecGenerate?(curve: EcCurve): EcKeyPair;
  /** The public point (SEC 1 uncompressed) of a private scalar; throws RangeError for a scalar of
   * the wrong length, zero, or not below the group order. */
  ecPublic?(curve: EcCurve, privateKey: Uint8Array): Uint8Array;
  /**
   * ECDH (SEC 1 3.3.1, RFC 5656 4): the X coordinate (32, 48 or 66 bytes) of privateKey times
   * `peerPublic`. `peerPublic` must be an uncompressed point on the curve, not the identity (SEC 1
   * 3.2.2.1 full validation); anything else throws Error('ecdh: invalid public key').
   */
  ecdh?(curve: EcCurve, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
  /**
   * ECDSA signature (FIPS 186-5) of `message`, hashed with the curve's hash (RFC 5656 6.2.1: P-256
   * SHA-256, P-384 SHA-384, P-521 SHA-512): r || s, each the curve's fixed length (32, 48, 66).
   * Deterministic (RFC 6979) or random nonces are both allowed.
   */
  ecdsaSign?(curve: EcCurve, privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** True when `signature` (r || s, fixed length) is valid for `message` (hashed as in ecdsaSign)
   * under `publicKey` (SEC 1 uncompressed). Never throws: a malformed key, a point off the curve, a
   * signature of the wrong length or r, s out of [1, n-1] give false. */
  ecdsaVerify?(curve: EcCurve, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  /** RSASSA-PKCS1-v1_5 signature (RFC 8017 8.2.1) of `message` with `hash`: as long as the modulus. */
  rsaSign?(hash: 'sha256' | 'sha512', key: RsaPrivateKey, message: Uint8Array): Uint8Array;
  /** True when `signature` (exactly as long as the modulus) is a valid RSASSA-PKCS1-v1_5 signature
   * of `message` with `hash` under `key`. Never throws. */
  rsaVerify?(hash: 'sha256' | 'sha512', key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean;
  /** A new RSA key of `bits` bits with e = 65537. */
  rsaGenerate?(bits: number): RsaPrivateKey;

  /**
   * ML-KEM-768 encapsulation (FIPS 203 7.2, Algorithm 20) to the 1184-byte encapsulation key
   * `publicKey`: a 1088-byte ciphertext and the 32-byte shared secret. The key is checked first
   * (length, and the modulus check of FIPS 203 7.2); a bad key throws Error('mlkem768: invalid
   * public key'). `randomness` (32 bytes, the m of Algorithm 17) is for known-answer tests only;
   * without it the provider draws fresh random bytes.
   */
  mlkem768Encapsulate?(publicKey: Uint8Array, randomness?: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
}
