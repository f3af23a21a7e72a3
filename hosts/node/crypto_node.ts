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
//
// The optional primitives (provider.ts) come from node:crypto too: SHA-384, HMAC, AES-GCM and
// AES-CTR, ECDH and ECDSA on P-256/384/521, RSA PKCS #1 v1.5 signatures and key generation. Node
// has no ML-KEM: ML-KEM-768 comes from @noble/post-quantum, as in the noble provider.

import {
  constants as cryptoConstants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac as nodeCreateHmac,
  generateKeyPairSync,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash as nodeHash,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import type {
  AesCtrStream, AesGcmKey, ChaChaPolyKey, CryptoFeature, CryptoProvider, EcCurve, EcKeyPair, HmacKey, RsaPrivateKey, RsaPublicKey,
} from '../../modules/crypto/provider.js';
import { EC_FIELD_BYTES, checkChachaArgs } from '../../modules/crypto/noble.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
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
  /** crypto_stream_chacha20_xor_ic(c, m, mlen (two halves), n (8), ic (two halves), k (32)) */
  _crypto_stream_chacha20_xor_ic(out: number, msg: number, lenLo: number, lenHi: number, nonce: number, icLo: number, icHi: number, key: number): number;
  /** crypto_stream_chacha20(c, clen (two halves), n (8), k (32)): the bare key stream */
  _crypto_stream_chacha20(out: number, lenLo: number, lenHi: number, nonce: number, key: number): number;
}

// Per-key block in wasm memory: [K_2 (32)][K_1 (32)][nonce (8)][Poly1305 key (32)][tag (16)][length (4)].
const CP_K2 = 0, CP_K1 = 32, CP_NONCE = 64, CP_POLY = 72, CP_TAG = 104, CP_LEN = 120, CP_SIZE = 124;

/**
 * chacha20-poly1305@openssh.com a whole packet at a time inside libsodium's WebAssembly memory:
 * the packet is copied in once, length, body and Poly1305 key are made by libsodium's chacha20 and
 * the tag by its Poly1305, and the result is copied back. Nothing is allocated per packet (node's
 * createCipheriv needs a new cipher object and output Buffer for every call, about 1 MB per MiB),
 * and measured per 32 KiB packet it is as fast or faster (bench/crypto.bench.ts). One packet buffer
 * is shared by all keys: every call is synchronous and finishes before the next.
 */
export async function loadSodiumChaChaPoly(): Promise<(key: Uint8Array) => ChaChaPolyKey> {
  const { default: sodium } = await import('libsodium-wrappers-sumo');
  await sodium.ready;
  const lib = (sodium as unknown as { libsodium: SodiumRaw }).libsodium;
  let cap = SODIUM_BUFFER;
  let base = lib._malloc(cap + 16);
  const room = (n: number) => {
    if (n + 16 <= cap) return;
    lib._free(base);
    while (cap < n + 16) cap *= 2;
    base = lib._malloc(cap + 16);
  };
  return (key: Uint8Array): ChaChaPolyKey => {
    if (key.length !== 64) throw new RangeError('chacha20-poly1305: key must be 64 bytes');
    let k = lib._malloc(CP_SIZE);
    lib.HEAPU8.fill(0, k, k + CP_SIZE);
    lib.HEAPU8.set(key, k);
    const nonce = (heap: Uint8Array, seq: number) => {
      const n = k + CP_NONCE + 4; // bytes 0-3 stay 0: the high word of the 64-bit sequence number
      heap[n] = seq >>> 24;
      heap[n + 1] = seq >>> 16;
      heap[n + 2] = seq >>> 8;
      heap[n + 3] = seq;
    };
    return {
      decryptLength(seq: number, buf: Uint8Array, off: number): number {
        const heap = lib.HEAPU8;
        nonce(heap, seq);
        const l = k + CP_LEN;
        heap[l] = buf[off]; heap[l + 1] = buf[off + 1]; heap[l + 2] = buf[off + 2]; heap[l + 3] = buf[off + 3];
        lib._crypto_stream_chacha20_xor_ic(l, l, 4, 0, k + CP_NONCE, 0, 0, k + CP_K1);
        return ((heap[l] << 24) | (heap[l + 1] << 16) | (heap[l + 2] << 8) | heap[l + 3]) >>> 0;
      },
      seal(seq: number, buf: Uint8Array, off: number, len: number): void {
        const n = 4 + len;
        room(n);
        const heap = lib.HEAPU8; // re-read: memory growth replaces the buffer
        heap.set(buf.subarray(off, off + n), base);
        nonce(heap, seq);
        lib._crypto_stream_chacha20_xor_ic(base, base, 4, 0, k + CP_NONCE, 0, 0, k + CP_K1);
        lib._crypto_stream_chacha20_xor_ic(base + 4, base + 4, len, 0, k + CP_NONCE, 1, 0, k + CP_K2);
        lib._crypto_stream_chacha20(k + CP_POLY, 32, 0, k + CP_NONCE, k + CP_K2);
        lib._crypto_onetimeauth_poly1305(base + n, base, n, 0, k + CP_POLY);
        buf.set(heap.subarray(base, base + n + 16), off);
      },
      open(seq: number, buf: Uint8Array, off: number, len: number): boolean {
        const n = 4 + len;
        room(n);
        const heap = lib.HEAPU8;
        heap.set(buf.subarray(off, off + n), base);
        nonce(heap, seq);
        lib._crypto_stream_chacha20(k + CP_POLY, 32, 0, k + CP_NONCE, k + CP_K2);
        lib._crypto_onetimeauth_poly1305(k + CP_TAG, base, n, 0, k + CP_POLY);
        let d = 0;
        for (let i = 0, t = k + CP_TAG, m = off + n; i < 16; i++) d |= heap[t + i] ^ buf[m + i];
        if (d !== 0) return false;
        lib._crypto_stream_chacha20_xor_ic(base + 4, base + 4, len, 0, k + CP_NONCE, 1, 0, k + CP_K2);
        buf.set(heap.subarray(base + 4, base + n), off + 4);
        return true;
      },
      dispose(): void {
        if (k === 0) return;
        lib.HEAPU8.fill(0, k, k + CP_SIZE);
        lib._free(k);
        k = 0;
      },
    };
  };
}

/** The node provider with libsodium's Poly1305 and whole-packet chacha20-poly1305: what the node host
 * runs when the packet crypto addon (crypto_native.ts, "node+openssl") cannot be built or loaded. */
export async function loadNodeProvider(): Promise<CryptoProvider> {
  return createNodeProvider(await loadSodiumPoly1305(), await loadSodiumChaChaPoly());
}

// ---------------------------------------------------------------------------------------------
// Optional primitives over node:crypto

const NODE_FEATURES: readonly CryptoFeature[] = Object.freeze([
  'sha384', 'hmac-sha256', 'hmac-sha512', 'aes-gcm', 'aes-ctr',
  'ecdh-p256', 'ecdh-p384', 'ecdh-p521', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521',
  'rsa', 'rsa-generate', 'mlkem768',
] as CryptoFeature[]);

/** OpenSSL's names of the curves, for createECDH and JWK. */
const EC_NAMES: Record<EcCurve, { ecdh: string; jwk: string; hash: string; order: bigint }> = {
  p256: { ecdh: 'prime256v1', jwk: 'P-256', hash: 'sha256', order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n },
  p384: { ecdh: 'secp384r1', jwk: 'P-384', hash: 'sha384',
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n },
  p521: { ecdh: 'secp521r1', jwk: 'P-521', hash: 'sha512',
    order: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n },
};

function ecNames(curve: EcCurve) {
  const n = EC_NAMES[curve];
  if (!n) throw new RangeError(`unknown curve ${String(curve)}`);
  return n;
}

/** Left-pads (or checks) a big-endian integer to `size` bytes. */
function fixed(b: Uint8Array, size: number): Uint8Array {
  if (b.length === size) return plain(b);
  let start = 0;
  while (start < b.length - size && b[start] === 0) start++;
  if (b.length - start > size) throw new RangeError('integer longer than its field');
  const out = new Uint8Array(size);
  out.set(b.subarray(start), size - (b.length - start));
  return out;
}

function bigFrom(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

function checkScalar(curve: EcCurve, d: Uint8Array): void {
  if (d.length !== EC_FIELD_BYTES[curve]) throw new RangeError(`${curve}: private key must be ${EC_FIELD_BYTES[curve]} bytes`);
  const v = bigFrom(d);
  if (v === 0n || v >= ecNames(curve).order) throw new RangeError(`${curve}: private key out of range`);
}

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
/** An unsigned big-endian integer from JWK base64url, without leading zero bytes (RFC 8017). */
function unb64u(s: unknown): Uint8Array {
  const b = plain(Buffer.from(String(s), 'base64url'));
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.slice(i);
}

function isUncompressed(curve: EcCurve, point: Uint8Array): boolean {
  return point.length === 1 + 2 * EC_FIELD_BYTES[curve] && point[0] === 4;
}

/** An EC public KeyObject from an uncompressed point (OpenSSL checks that it is on the curve). */
function ecPublicKey(curve: EcCurve, point: Uint8Array): KeyObject {
  const size = EC_FIELD_BYTES[curve];
  return createPublicKey({
    key: { kty: 'EC', crv: ecNames(curve).jwk, x: b64u(point.subarray(1, 1 + size)), y: b64u(point.subarray(1 + size)) },
    format: 'jwk',
  });
}

/** Cache key for variable-length key material: the bytes as hex (host keys are few and long-lived). */
const keyId = (parts: Uint8Array[]): string => parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length).toString('hex')).join(':');

/** A few KeyObjects for the keys used again and again (host keys sign at every kex). */
class KeyObjectCache {
  private readonly map = new Map<string, KeyObject>();
  constructor(private readonly size: number) {}
  get(id: string, make: () => KeyObject): KeyObject {
    let k = this.map.get(id);
    if (k) return k;
    k = make();
    if (this.map.size >= this.size) this.map.delete(this.map.keys().next().value as string);
    this.map.set(id, k);
    return k;
  }
}

class NodeHmac implements HmacKey {
  readonly size: number;
  private readonly key: Buffer;
  private readonly seq4 = Buffer.alloc(4);
  constructor(private readonly hash: 'sha256' | 'sha512', key: Uint8Array) {
    if (hash !== 'sha256' && hash !== 'sha512') throw new RangeError(`hmac: unknown hash ${String(hash)}`);
    this.size = hash === 'sha256' ? 32 : 64;
    this.key = Buffer.from(key);
  }
  mac(seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
    // node:crypto has no reusable keyed HMAC: one Hmac object per packet (OpenSSL reuses its pads).
    this.seq4.writeUInt32BE(seq >>> 0, 0);
    const h = nodeCreateHmac(this.hash, this.key);
    h.update(this.seq4);
    h.update(buf.subarray(off, off + len));
    out.set(h.digest(), outOff);
  }
  dispose(): void {
    this.key.fill(0);
  }
}

class NodeAesGcm implements AesGcmKey {
  private readonly key: Buffer;
  private readonly algorithm: 'aes-128-gcm' | 'aes-256-gcm';
  constructor(key: Uint8Array) {
    if (key.length !== 16 && key.length !== 32) throw new RangeError('aes-gcm: key must be 16 or 32 bytes');
    this.key = Buffer.from(key);
    this.algorithm = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
  }
  seal(iv: Uint8Array, buf: Uint8Array, off: number, len: number): void {
    const c = createCipheriv(this.algorithm, this.key, iv);
    c.setAAD(buf.subarray(off, off + 4));
    const body = c.update(buf.subarray(off + 4, off + 4 + len));
    c.final();
    buf.set(body, off + 4);
    buf.set(c.getAuthTag(), off + 4 + len);
  }
  open(iv: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
    const d = createDecipheriv(this.algorithm, this.key, iv);
    d.setAAD(buf.subarray(off, off + 4));
    d.setAuthTag(buf.subarray(off + 4 + len, off + 4 + len + 16));
    const body = d.update(buf.subarray(off + 4, off + 4 + len));
    try {
      d.final(); // throws when the tag does not match: then nothing is written back
    } catch {
      return false;
    }
    buf.set(body, off + 4);
    return true;
  }
  dispose(): void {
    this.key.fill(0);
  }
}

class NodeAesCtr implements AesCtrStream {
  private readonly cipher: ReturnType<typeof createCipheriv>;
  constructor(key: Uint8Array, iv: Uint8Array) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError('aes-ctr: key must be 16, 24 or 32 bytes');
    if (iv.length !== 16) throw new RangeError('aes-ctr: iv must be 16 bytes');
    // One OpenSSL context for the life of the key: it keeps the counter and a partial block.
    this.cipher = createCipheriv(`aes-${key.length * 8}-ctr`, key, iv);
  }
  process(buf: Uint8Array, off: number, len: number): void {
    if (len > 0) buf.set(this.cipher.update(buf.subarray(off, off + len)), off);
  }
  dispose(): void {
    this.cipher.final();
  }
}

function ecPublicPoint(curve: EcCurve, privateKey: Uint8Array): Uint8Array {
  checkScalar(curve, privateKey);
  const e = createECDH(ecNames(curve).ecdh);
  e.setPrivateKey(privateKey);
  return plain(e.getPublicKey());
}

function rsaPrivateJwk(k: RsaPrivateKey) {
  return { kty: 'RSA', n: b64u(k.n), e: b64u(k.e), d: b64u(k.d), p: b64u(k.p), q: b64u(k.q), dp: b64u(k.dp), dq: b64u(k.dq), qi: b64u(k.qi) };
}

export function createNodeProvider(
  poly1305: (key: Uint8Array, message: Uint8Array, out: Uint8Array) => void = poly1305Fast,
  chachaPoly?: (key: Uint8Array) => ChaChaPolyKey,
): CryptoProvider {
  const edPrivate = new KeyCache(2, (seed) => importPrivate('Ed25519', seed));
  const edPublic = new KeyCache(2, (pub) => importPublic('Ed25519', pub));
  const xPrivate = new KeyCache(2, (scalar) => importPrivate('X25519', scalar));
  const iv = Buffer.alloc(16);
  const keyObjects = new KeyObjectCache(8);

  return {
    name: 'node',
    features: NODE_FEATURES,

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
    ...(chachaPoly ? { createChaChaPoly: chachaPoly } : {}),

    sha384: (data) => plain(oneShotHash('sha384', data)),
    createHmac: (hash, key) => new NodeHmac(hash, key),
    createAesGcm: (key) => new NodeAesGcm(key),
    createAesCtr: (key, iv) => new NodeAesCtr(key, iv),

    ecGenerate(curve: EcCurve): EcKeyPair {
      const e = createECDH(ecNames(curve).ecdh);
      e.generateKeys();
      return { privateKey: fixed(e.getPrivateKey(), EC_FIELD_BYTES[curve]), publicKey: plain(e.getPublicKey()) };
    },
    ecPublic: ecPublicPoint,
    ecdh(curve: EcCurve, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
      checkScalar(curve, privateKey);
      if (!isUncompressed(curve, peerPublic)) throw new Error('ecdh: invalid public key');
      const e = createECDH(ecNames(curve).ecdh);
      e.setPrivateKey(privateKey);
      try {
        // OpenSSL decodes the point and refuses one that is not on the curve.
        return fixed(e.computeSecret(peerPublic), EC_FIELD_BYTES[curve]);
      } catch {
        throw new Error('ecdh: invalid public key');
      }
    },
    ecdsaSign(curve: EcCurve, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      const names = ecNames(curve);
      const key = keyObjects.get('ec:' + curve + ':' + keyId([privateKey]), () => {
        const pub = ecPublicPoint(curve, privateKey);
        const size = EC_FIELD_BYTES[curve];
        return createPrivateKey({
          key: { kty: 'EC', crv: names.jwk, d: b64u(privateKey), x: b64u(pub.subarray(1, 1 + size)), y: b64u(pub.subarray(1 + size)) },
          format: 'jwk',
        });
      });
      return plain(nodeSign(names.hash, message, { key, dsaEncoding: 'ieee-p1363' }));
    },
    ecdsaVerify(curve: EcCurve, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!isUncompressed(curve, publicKey) || signature.length !== 2 * EC_FIELD_BYTES[curve]) return false;
      try {
        const key = ecPublicKey(curve, publicKey);
        return nodeVerify(ecNames(curve).hash, message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      } catch {
        return false;
      }
    },

    rsaSign(hash: 'sha256' | 'sha512', key: RsaPrivateKey, message: Uint8Array): Uint8Array {
      const k = keyObjects.get('rsa:' + keyId([key.n, key.d]), () => createPrivateKey({ key: rsaPrivateJwk(key), format: 'jwk' }));
      return plain(nodeSign(hash, message, { key: k, padding: cryptoConstants.RSA_PKCS1_PADDING }));
    },
    rsaVerify(hash: 'sha256' | 'sha512', key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean {
      if (hash !== 'sha256' && hash !== 'sha512') return false;
      let n = 0;
      while (n < key.n.length && key.n[n] === 0) n++;
      if (signature.length !== key.n.length - n) return false;
      try {
        const k = createPublicKey({ key: { kty: 'RSA', n: b64u(key.n), e: b64u(key.e) }, format: 'jwk' });
        return nodeVerify(hash, message, { key: k, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature);
      } catch {
        return false;
      }
    },
    rsaGenerate(bits: number): RsaPrivateKey {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
      const j = privateKey.export({ format: 'jwk' });
      return { n: unb64u(j.n), e: unb64u(j.e), d: unb64u(j.d), p: unb64u(j.p), q: unb64u(j.q), dp: unb64u(j.dp), dq: unb64u(j.dq), qi: unb64u(j.qi) };
    },

    mlkem768Encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
      if (publicKey.length !== 1184) throw new Error('mlkem768: invalid public key');
      const m = randomness ?? new Uint8Array(32);
      if (!randomness) randomFillSync(m);
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
