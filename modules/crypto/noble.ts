// The reference crypto provider: pure TypeScript over @noble/{hashes,curves,ciphers,post-quantum}.
// Runs unchanged under Moddable XS: nothing from node, no TextEncoder, only ES2022 globals.
// The host supplies the entropy source (randomFill): every noble call that would draw its own
// randomness (key generation, ML-KEM encapsulation) is given bytes from randomFill instead, since
// XS has no crypto.getRandomValues.
//
// Optional features: SHA-384, HMAC, AES-GCM/CTR (@noble/ciphers), ECDH/ECDSA on P-256/384/521
// (@noble/curves), ML-KEM-768 (@noble/post-quantum). No RSA: there is no kept pure-TypeScript RSA
// among the noble libraries, and we do not hand-roll one, so the features list says so and the
// algorithm tables offer no RSA host key or user key with this provider.

import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { chacha20, chacha20orig } from '@noble/ciphers/chacha.js';
import { gcm, unsafe as aesUnsafe } from '@noble/ciphers/aes.js';
import { Poly1305 } from '@noble/ciphers/_poly1305.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import type { AesCtrStream, AesGcmKey, CryptoFeature, CryptoProvider, EcCurve, EcKeyPair, HmacKey } from './provider.js';
import { checkChachaArgs } from './checks.js';

/** Re-exported for the providers that import it from here (crypto_node.ts). */
export { checkChachaArgs };

/** Largest block counter noble's ARX code will use (it refuses block 0xffffffff rather than wrap). */
const NOBLE_MAX_BLOCK = 0xfffffffe;

/**
 * Ed25519 verification mode shared by every provider: RFC 8032 strict encodings (no ZIP-215
 * leniency) and small-order public keys rejected. See crypto_node.ts for the matching checks.
 */
const VERIFY_OPTS = { zip215: false } as const;

/** One ChaCha20 block (DJB layout) with counter words (lo, hi), into out[0..64). Used only at the 2^32 block boundary. */
function chachaBlock(key: Uint8Array, nonce: Uint8Array, lo: number, hi: number, out: Uint8Array): void {
  const rd = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
  const s = new Uint32Array(16);
  s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = rd(key, 4 * i);
  s[12] = lo; s[13] = hi; s[14] = rd(nonce, 0); s[15] = rd(nonce, 4);
  const x = Uint32Array.from(s);
  const qr = (a: number, b: number, c: number, d: number) => {
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 16) | (x[d] >>> 16);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 12) | (x[b] >>> 20);
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 8) | (x[d] >>> 24);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 7) | (x[b] >>> 25);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) {
    const w = (x[i] + s[i]) >>> 0;
    out[4 * i] = w; out[4 * i + 1] = w >>> 8; out[4 * i + 2] = w >>> 16; out[4 * i + 3] = w >>> 24;
  }
}

/**
 * ChaCha20, DJB layout, over noble. Blocks counter..0xfffffffe go through noble's chacha20orig
 * (words 13 = 0); the (practically unreachable) tail past that uses one hand-rolled block for
 * counter 0xffffffff and then noble's IETF chacha20 with a 12-byte nonce [counter_hi=1 | nonce],
 * i.e. a full 64-bit counter carry, as OpenSSL does.
 */
function nobleChacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void {
  checkChachaArgs(key, nonce, counter, input, output);
  const len = input.length;
  if (len === 0) return;
  const out = output.length === len ? output : output.subarray(0, len);
  const blocks = Math.ceil(len / 64);
  if (counter + blocks - 1 <= NOBLE_MAX_BLOCK) {
    chacha20orig(key, nonce, input, out, counter);
    return;
  }
  // Slow path across the 32-bit boundary of the block counter.
  let pos = 0;
  if (counter <= NOBLE_MAX_BLOCK) {
    pos = (NOBLE_MAX_BLOCK - counter + 1) * 64;
    chacha20orig(key, nonce, input.subarray(0, pos), out.subarray(0, pos), counter);
  }
  // Block 0xffffffff.
  const ks = new Uint8Array(64);
  chachaBlock(key, nonce, 0xffffffff, 0, ks);
  const take = Math.min(64, len - pos);
  for (let i = 0; i < take; i++) out[pos + i] = input[pos + i] ^ ks[i];
  pos += take;
  if (pos < len) {
    const n12 = new Uint8Array(12);
    n12[0] = 1;
    n12.set(nonce, 4);
    chacha20(key, n12, input.subarray(pos), out.subarray(pos), 0);
  }
}

function noblePoly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void {
  if (key.length !== 32) throw new RangeError('poly1305: key must be 32 bytes');
  if (out.length < 16) throw new RangeError('poly1305: out must hold 16 bytes');
  const mac = new Poly1305(key);
  mac.update(message);
  mac.digestInto(out);
  mac.destroy();
}

/**
 * X25519 with noble. Throws Error('x25519: low-order point') when `point` is one of the low-order
 * points (the result would be all zero, RFC 7748 section 6.1); the node provider does the same.
 */
function nobleX25519(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  if (scalar.length !== 32 || point.length !== 32) throw new RangeError('x25519: scalar and point must be 32 bytes');
  try {
    return x25519.getSharedSecret(scalar, point);
  } catch {
    throw new Error('x25519: low-order point');
  }
}

function nobleVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, VERIFY_OPTS);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Optional primitives

/** What this provider lists (everything but RSA). */
const NOBLE_FEATURES: readonly CryptoFeature[] = Object.freeze([
  'sha384', 'hmac-sha256', 'hmac-sha512', 'aes-gcm', 'aes-ctr',
  'ecdh-p256', 'ecdh-p384', 'ecdh-p521', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'mlkem768',
] as CryptoFeature[]);

const EC = { p256, p384, p521 } as const;
/** Field and scalar length of each curve in bytes (SEC 2). */
export const EC_FIELD_BYTES: Readonly<Record<EcCurve, number>> = Object.freeze({ p256: 32, p384: 48, p521: 66 });

function curveOf(curve: EcCurve) {
  const c = EC[curve];
  if (!c) throw new RangeError(`unknown curve ${String(curve)}`);
  return c;
}

/** True for an uncompressed SEC 1 point of the curve's length (the only form SSH uses). */
function isUncompressed(curve: EcCurve, point: Uint8Array): boolean {
  return point.length === 1 + 2 * EC_FIELD_BYTES[curve] && point[0] === 4;
}

/** HMAC with the pads hashed once per key: each mac() clones that state into one working object. */
class NobleHmac implements HmacKey {
  readonly size: number;
  private readonly base: _HMAC<any>;
  private readonly work: _HMAC<any>;
  private readonly seq4 = new Uint8Array(4);
  private readonly tag: Uint8Array;
  constructor(hash: 'sha256' | 'sha512', key: Uint8Array) {
    if (hash !== 'sha256' && hash !== 'sha512') throw new RangeError(`hmac: unknown hash ${String(hash)}`);
    this.base = hmac.create(hash === 'sha256' ? sha256 : sha512, key);
    this.work = this.base.clone();
    this.size = hash === 'sha256' ? 32 : 64;
    this.tag = new Uint8Array(this.size);
  }
  mac(seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
    const w = this.base._cloneInto(this.work);
    const s = this.seq4;
    s[0] = seq >>> 24; s[1] = seq >>> 16; s[2] = seq >>> 8; s[3] = seq;
    w.update(s);
    w.update(buf.subarray(off, off + len));
    w.digestInto(this.tag);
    out.set(this.tag, outOff);
  }
  dispose(): void {
    this.base.destroy();
    this.work.destroy();
    this.tag.fill(0);
  }
}

/** AES-GCM over noble's gcm(): the key schedule is redone per packet there (noble has no keyed
 * object), which costs time but no state; this provider is the reference, not the fast path. */
class NobleAesGcm implements AesGcmKey {
  private readonly key: Uint8Array;
  constructor(key: Uint8Array) {
    if (key.length !== 16 && key.length !== 32) throw new RangeError('aes-gcm: key must be 16 or 32 bytes');
    this.key = key.slice();
  }
  seal(iv: Uint8Array, buf: Uint8Array, off: number, len: number): void {
    const out = gcm(this.key, iv, buf.subarray(off, off + 4)).encrypt(buf.subarray(off + 4, off + 4 + len));
    buf.set(out, off + 4);
  }
  open(iv: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
    let plain: Uint8Array;
    try {
      plain = gcm(this.key, iv, buf.subarray(off, off + 4)).decrypt(buf.subarray(off + 4, off + 4 + len + 16));
    } catch {
      return false;
    }
    buf.set(plain, off + 4);
    return true;
  }
  dispose(): void {
    this.key.fill(0);
  }
}

/** Key stream made this many bytes at a time (noble's counter helper works on aligned whole blocks). */
const CTR_CHUNK = 256;

/** AES-CTR as one continuing key stream: noble's block-counter helper fills an aligned chunk of key
 * stream (advancing the 128-bit big-endian counter block in place), and process() XORs it in. */
class NobleAesCtr implements AesCtrStream {
  private readonly xk: Uint32Array;
  private readonly counter = new Uint8Array(16);
  private readonly zeros = new Uint8Array(CTR_CHUNK);
  private readonly stream = new Uint8Array(CTR_CHUNK);
  private pos = CTR_CHUNK;
  constructor(key: Uint8Array, iv: Uint8Array) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError('aes-ctr: key must be 16, 24 or 32 bytes');
    if (iv.length !== 16) throw new RangeError('aes-ctr: iv must be 16 bytes');
    this.xk = aesUnsafe.expandKeyLE(key);
    this.counter.set(iv);
  }
  process(buf: Uint8Array, off: number, len: number): void {
    const ks = this.stream;
    let i = off;
    const end = off + len;
    while (i < end) {
      if (this.pos === CTR_CHUNK) {
        aesUnsafe.ctrCounter(this.xk, this.counter, this.zeros, ks);
        this.pos = 0;
      }
      const n = Math.min(end - i, CTR_CHUNK - this.pos);
      let p = this.pos;
      for (const stop = i + n; i < stop; i++) buf[i] ^= ks[p++];
      this.pos = p;
    }
  }
  dispose(): void {
    this.xk.fill(0);
    this.stream.fill(0);
  }
}

export function createNobleProvider(randomFill: (out: Uint8Array) => void): CryptoProvider {
  const random = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    randomFill(b);
    return b;
  };
  return {
    name: 'noble',
    features: NOBLE_FEATURES,
    randomBytes(out: Uint8Array): void {
      randomFill(out);
    },
    sha256: (data) => sha256(data),
    sha512: (data) => sha512(data),
    x25519: nobleX25519,
    x25519Public(scalar: Uint8Array): Uint8Array {
      if (scalar.length !== 32) throw new RangeError('x25519: scalar must be 32 bytes');
      return x25519.getPublicKey(scalar);
    },
    ed25519Public(seed: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      return ed25519.getPublicKey(seed);
    },
    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      return ed25519.sign(message, seed);
    },
    ed25519Verify: nobleVerify,
    chacha20: nobleChacha20,
    poly1305: noblePoly1305,

    sha384: (data) => sha384(data),
    createHmac: (hash, key) => new NobleHmac(hash, key),
    createAesGcm: (key) => new NobleAesGcm(key),
    createAesCtr: (key, iv) => new NobleAesCtr(key, iv),

    ecGenerate(curve: EcCurve): EcKeyPair {
      const c = curveOf(curve);
      const privateKey = c.utils.randomSecretKey(random(c.lengths.seed!));
      return { privateKey, publicKey: c.getPublicKey(privateKey, false) };
    },
    ecPublic(curve: EcCurve, privateKey: Uint8Array): Uint8Array {
      const c = curveOf(curve);
      if (privateKey.length !== EC_FIELD_BYTES[curve]) throw new RangeError(`${curve}: private key must be ${EC_FIELD_BYTES[curve]} bytes`);
      try {
        return c.getPublicKey(privateKey, false);
      } catch {
        throw new RangeError(`${curve}: private key out of range`);
      }
    },
    ecdh(curve: EcCurve, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
      const c = curveOf(curve);
      if (!isUncompressed(curve, peerPublic)) throw new Error('ecdh: invalid public key');
      let shared: Uint8Array;
      try {
        // noble checks that the point is on the curve (and not the identity) as it decodes it.
        shared = c.getSharedSecret(privateKey, peerPublic, true);
      } catch {
        throw new Error('ecdh: invalid public key');
      }
      return shared.slice(1);
    },
    ecdsaSign(curve: EcCurve, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      // prehash: the curve's own hash (RFC 5656 6.2.1); RFC 6979 nonces, so no randomness needed.
      return curveOf(curve).sign(message, privateKey, { prehash: true });
    },
    ecdsaVerify(curve: EcCurve, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!isUncompressed(curve, publicKey) || signature.length !== 2 * EC_FIELD_BYTES[curve]) return false;
      try {
        // lowS false: OpenSSH and FIDO authenticators do not normalise s.
        return curveOf(curve).verify(signature, message, publicKey, { prehash: true, lowS: false });
      } catch {
        return false;
      }
    },

    mlkem768Encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
      if (publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES) throw new Error('mlkem768: invalid public key');
      const m = randomness ?? random(32);
      try {
        const r = ml_kem768.encapsulate(publicKey, m);
        return { ciphertext: r.cipherText, sharedSecret: r.sharedSecret };
      } catch {
        throw new Error('mlkem768: invalid public key');
      } finally {
        if (!randomness) m.fill(0);
      }
    },
  };
}

/** FIPS 203 Table 3: ML-KEM-768 encapsulation key bytes. */
const MLKEM768_PUBLIC_KEY_BYTES = 1184;
