// Crypto provider for the node host: node:crypto (OpenSSL) wherever it is faster than noble,
// a float64 Poly1305 (./poly1305.ts) since node has no standalone Poly1305, and noble for tiny
// ChaCha20 inputs where the cost of creating an OpenSSL cipher context dominates.
//
// Behaviour is identical to the noble provider (modules/crypto/noble.ts), as test/crypto.test.ts checks:
// - x25519 with a low-order point throws Error('x25519: low-order point') (OpenSSL refuses the
//   all-zero result, noble refuses the point up front; RFC 7748 section 6.1 / RFC 8731 section 3);
// - ed25519Verify never throws; it returns false for malformed or small-order public keys
//   (noble's RFC 8032 strict mode rejects these; OpenSSL alone would accept e.g. the identity key
//   with the signature (identity, 0) for any message, so we reject them before asking OpenSSL);
// - chacha20 carries the 64-bit block counter from word 12 into word 13, like OpenSSL.

import {
  createCipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash as nodeHash,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import type { CryptoProvider } from '../../modules/crypto/provider.js';
import { checkChachaArgs } from '../../modules/crypto/noble.js';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305Fast } from './poly1305.js';

// Raw 32-byte keys are imported as JWK (RFC 8037 OKP): node's JWK path builds the key straight from
// the raw bytes and is about 10x faster than going through OpenSSL 3's PKCS#8 / SPKI DER decoders
// (measured on node 20: ~70 us vs ~750 us per private key, ~25 us vs ~170 us per public key).
// For a private JWK node derives the public key from `d` and ignores `x`, which must only be a
// string; should a future node insist on `x`, we fall back to PKCS#8 DER (RFC 8410) for good.
const PKCS8_PREFIX = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};
type Curve = keyof typeof PKCS8_PREFIX;
let privateJwkWorks = true;

const b64url = (raw: Uint8Array): string => Buffer.from(raw.buffer, raw.byteOffset, 32).toString('base64url');

function importPrivate(crv: Curve, raw: Uint8Array): KeyObject {
  if (privateJwkWorks) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv, d: b64url(raw), x: '' }, format: 'jwk' });
    } catch {
      privateJwkWorks = false;
    }
  }
  const der = Buffer.allocUnsafe(48);
  PKCS8_PREFIX[crv].copy(der, 0);
  der.set(raw.subarray(0, 32), 16);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

function importPublic(crv: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: b64url(raw) }, format: 'jwk' });
}

/** The raw 32-byte public key of a private or public KeyObject (JWK export: ~2 us, SPKI DER: ~150 us). */
function rawPublic(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return plain(Buffer.from(jwk.x as string, 'base64url'));
}

/** Below this many bytes noble's chacha20 beats createCipheriv (measured with bench/crypto.bench.ts). */
const CHACHA_NOBLE_BELOW = 384;

/** A plain Uint8Array copy of (part of) a Buffer, so callers never hold views into node's pool. */
function plain(b: Uint8Array, start = 0): Uint8Array {
  const out = new Uint8Array(b.length - start);
  out.set(start === 0 ? b : b.subarray(start));
  return out;
}

function equal32(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < 32; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * A tiny most-recently-used cache of KeyObjects keyed by the raw 32 key bytes (copied). Two
 * entries: enough for the host key plus one peer/ephemeral key; host-key signing repeats per kex.
 */
class KeyCache<V> {
  private readonly keys: Uint8Array[] = [];
  private readonly values: V[] = [];
  constructor(private readonly size: number, private readonly make: (raw: Uint8Array) => V) {}
  get(raw: Uint8Array): V {
    const { keys, values } = this;
    for (let i = 0; i < keys.length; i++) {
      if (equal32(keys[i], raw)) {
        const v = values[i];
        if (i !== 0) {
          keys.splice(i, 1); values.splice(i, 1);
          keys.unshift(raw.slice(0, 32)); values.unshift(v);
        }
        return v;
      }
    }
    const v = this.make(raw);
    keys.unshift(raw.slice(0, 32)); values.unshift(v);
    if (keys.length > this.size) { keys.pop(); values.pop(); }
    return v;
  }
}

// Ed25519 public keys whose y coordinate (mod p, sign bit ignored) is that of a small-order point:
// 0, 1, p-1 and the two order-8 values. Covers canonical and non-canonical encodings.
const P25519 = (1n << 255n) - 19n;
const Y8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
const SMALL_ORDER_Y = new Set([0n, 1n, P25519 - 1n, Y8, P25519 - Y8]);

function ed25519SmallOrderOrNonCanonical(pub: Uint8Array): boolean {
  let y = BigInt(pub[31] & 0x7f);
  for (let i = 30; i >= 0; i--) y = (y << 8n) | BigInt(pub[i]);
  if (y >= P25519) return true; // non-canonical: noble strict mode rejects it as well
  return SMALL_ORDER_Y.has(y);
}

const oneShotHash: ((alg: string, data: Uint8Array) => Uint8Array) =
  typeof nodeHash === 'function'
    ? (alg, data) => nodeHash(alg, data, 'buffer')
    : (alg, data) => createHash(alg).update(data).digest();

/** Poly1305 from libsodium's WebAssembly build: about 3x the float64 one here (1.1 GB/s against
 * 0.37 GB/s for 32 KiB packets), the hottest step per packet since node has no Poly1305 of its own.
 * Loaded once; hosts await it before creating the provider. */
export async function loadSodiumPoly1305(): Promise<(key: Uint8Array, message: Uint8Array, out: Uint8Array) => void> {
  const { default: sodium } = await import('libsodium-wrappers-sumo');
  await sodium.ready;
  // The raw export through one buffer kept in wasm memory: no allocation per packet. Layout:
  // [message (cap bytes)][key (32)][tag (16)].
  const lib = (sodium as unknown as { libsodium: SodiumRaw }).libsodium;
  let cap = SODIUM_BUFFER;
  let base = lib._malloc(cap + 48);
  return (key, message, out) => {
    if (key.length !== 32) throw new RangeError('poly1305: key must be 32 bytes');
    if (out.length < 16) throw new RangeError('poly1305: out must hold 16 bytes');
    if (message.length > cap) {
      lib._free(base);
      while (cap < message.length) cap *= 2;
      base = lib._malloc(cap + 48);
    }
    const heap = lib.HEAPU8; // re-read: memory growth replaces the buffer
    heap.set(message, base);
    heap.set(key, base + cap);
    // crypto_onetimeauth_poly1305(out, in, inlen as two 32-bit halves, key)
    lib._crypto_onetimeauth_poly1305(base + cap + 32, base, message.length, 0, base + cap);
    out.set(heap.subarray(base + cap + 32, base + cap + 48));
  };
}

/** Bytes of wasm memory kept for Poly1305 input: one full SSH packet; grows when needed. */
const SODIUM_BUFFER = 64 * 1024;

interface SodiumRaw {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _crypto_onetimeauth_poly1305(out: number, msg: number, lenLo: number, lenHi: number, key: number): number;
}

/** The node provider with libsodium's Poly1305 (the one the node host uses). */
export async function loadNodeProvider(): Promise<CryptoProvider> {
  return createNodeProvider(await loadSodiumPoly1305());
}

export function createNodeProvider(poly1305: (key: Uint8Array, message: Uint8Array, out: Uint8Array) => void = poly1305Fast): CryptoProvider {
  const edPrivate = new KeyCache(2, (seed) => importPrivate('Ed25519', seed));
  const edPublic = new KeyCache(2, (pub) => importPublic('Ed25519', pub));
  const xPrivate = new KeyCache(2, (scalar) => importPrivate('X25519', scalar));
  const iv = Buffer.alloc(16);

  return {
    name: 'node',
    features: [],

    randomBytes(out: Uint8Array): void {
      randomFillSync(out);
    },

    sha256: (data) => plain(oneShotHash('sha256', data)),
    sha512: (data) => plain(oneShotHash('sha512', data)),

    x25519(scalar: Uint8Array, point: Uint8Array): Uint8Array {
      if (scalar.length !== 32 || point.length !== 32) throw new RangeError('x25519: scalar and point must be 32 bytes');
      const publicKey = importPublic('X25519', point);
      try {
        return plain(diffieHellman({ privateKey: xPrivate.get(scalar), publicKey }));
      } catch {
        // OpenSSL fails the derivation when the result is all zero, i.e. for low-order points.
        throw new Error('x25519: low-order point');
      }
    },

    x25519Public(scalar: Uint8Array): Uint8Array {
      if (scalar.length !== 32) throw new RangeError('x25519: scalar must be 32 bytes');
      return rawPublic(xPrivate.get(scalar));
    },

    ed25519Public(seed: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      return rawPublic(edPrivate.get(seed));
    },

    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      return plain(nodeSign(null, message, edPrivate.get(seed)));
    },

    ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      if (ed25519SmallOrderOrNonCanonical(publicKey)) return false;
      try {
        return nodeVerify(null, message, edPublic.get(publicKey), signature);
      } catch {
        return false;
      }
    },

    chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void {
      checkChachaArgs(key, nonce, counter, input, output);
      const len = input.length;
      if (len === 0) return;
      if (len < CHACHA_NOBLE_BELOW && counter <= 0xfffffff0) {
        // At most 4 blocks, so noble never gets near block 0xffffffff here.
        chacha20orig(key, nonce, input, output.length === len ? output : output.subarray(0, len), counter);
        return;
      }
      // OpenSSL's 16-byte iv is state words 12..15: 64-bit little-endian block counter, then the nonce.
      iv.writeUInt32LE(counter, 0);
      iv.writeUInt32LE(0, 4);
      iv.set(nonce, 8);
      const cipher = createCipheriv('chacha20', key, iv);
      // update() returns a new buffer, so any aliasing between input and output is fine.
      output.set(cipher.update(input));
    },

    poly1305,
  };
}
