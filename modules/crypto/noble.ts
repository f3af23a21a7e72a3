// The reference crypto provider: pure TypeScript over @noble/{hashes,curves,ciphers}.
// Runs unchanged under Moddable XS: nothing from node, no TextEncoder, only ES2022 globals.
// The host supplies the entropy source (randomFill).

import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20, chacha20orig } from '@noble/ciphers/chacha.js';
import { Poly1305 } from '@noble/ciphers/_poly1305.js';
import type { CryptoProvider } from './provider.js';
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

export function createNobleProvider(randomFill: (out: Uint8Array) => void): CryptoProvider {
  return {
    name: 'noble',
    features: [],
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
  };
}
