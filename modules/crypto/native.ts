// The crypto provider of the firmware hosts: native hooks (XS host functions in C) behind the
// CryptoProvider interface, over three C files:
// - modules/crypto/native_crypto.c (libsodium): x25519, ed25519, chacha20, poly1305, SHA-256/512;
// - modules/crypto/native_psa.c (the PSA Crypto API: Mbed TLS 3.6 on xsrun and QEMU, ESP-IDF v6.0's
//   TF-PSA-Crypto with the ESP32's accelerators on a board): SHA-384, HMAC, AES-GCM/CTR, ECDH and
//   ECDSA on P-256/384/521, RSA PKCS#1 v1.5 and RSA key generation;
// - modules/crypto/native_mlkem.c (libcrux's portable C, OpenSSH's): ML-KEM-768 encapsulation.
// The libsodium hooks are required; a host has the PSA hooks all or none, and the ML-KEM one or
// not: `features` lists exactly what the host's hooks (and its PSA configuration, hooks.features())
// provide, so the algorithm tables offer only that.
//
// The hooks write into buffers the caller passes and never allocate in the XS heap (the key
// objects' constructors make one host object each); this file allocates the results the
// interface returns, checks arguments with the same messages as the noble provider, and turns the
// hooks' booleans into the interface's behaviour:
// - x25519 with a low-order point throws Error('x25519: low-order point') (libsodium refuses the
//   all-zero result, RFC 7748 section 6.1, RFC 8731 section 3);
// - ed25519Verify, ecdsaVerify and rsaVerify never throw (bad keys and signatures give false);
// - ecdh with a bad peer point throws Error('ecdh: invalid public key'), mlkem768Encapsulate with a
//   bad key Error('mlkem768: invalid public key');
// - chacha20 carries the 64-bit block counter from word 12 into word 13 (libsodium's _ic variant).
// RSA keys cross to PSA as DER (RFC 8017 A.1.1/A.1.2 RSAPublicKey, RSAPrivateKey), encoded and
// decoded here.
//
// How a host finds the hooks is its own business (xsrun and the QEMU firmware put them on
// globalThis.nativeCrypto, see nativeHooks() in hosts/qemu/xs/host.ts; the ESP32 binds them with
// native(), hosts/esp32/crypto.ts): this module only takes them.

import { checkChachaArgs } from './checks.js';
import type {
  AesCtrStream, AesGcmKey, CryptoFeature, CryptoProvider, EcCurve, EcKeyPair, HmacKey, OptionalPrimitives, RsaPrivateKey, RsaPublicKey,
} from './provider.js';

/** A key object of native_psa.c (an XS host object; its C data lives in the C heap). */
export type NativeKeyHandle = object;

/** The host functions of native_psa.c, by the names native_psa_hooks gives them. Numbers must be
 * plain integers; offsets and lengths are checked against the buffers. */
export interface NativePsaHooks {
  /** The NATIVE_PSA_* bits (PSA_FEATURE_BITS below) of what the PSA configuration provides. */
  features(): number;
  /** Mbed TLS's heap use when the build counts it (xsrun, QEMU), else undefined. */
  heap(resetPeak?: boolean): { inUse: number; peak: number; allocations: number } | undefined;
  sha384(data: Uint8Array, out: Uint8Array): void;
  hmacKey(hashBits: 256 | 512, key: Uint8Array): NativeKeyHandle;
  hmacMac(key: NativeKeyHandle, seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void;
  hmacDispose(key: NativeKeyHandle): void;
  gcmKey(key: Uint8Array): NativeKeyHandle;
  /** buf[off, off+aadLength) authenticated, the next `length` bytes encrypted in place, the tag after. */
  gcmSeal(key: NativeKeyHandle, iv: Uint8Array, buf: Uint8Array, off: number, aadLength: number, length: number): void;
  /** False, buf unchanged, for a bad tag. */
  gcmOpen(key: NativeKeyHandle, iv: Uint8Array, buf: Uint8Array, off: number, aadLength: number, length: number): boolean;
  gcmDispose(key: NativeKeyHandle): void;
  ctrStream(key: Uint8Array, iv: Uint8Array): NativeKeyHandle;
  ctrProcess(stream: NativeKeyHandle, buf: Uint8Array, off: number, length: number): void;
  ctrDispose(stream: NativeKeyHandle): void;
  ecGenerate(curveBits: number, privateOut: Uint8Array, publicOut: Uint8Array): void;
  /** False for a scalar of the wrong length, zero or not below the order. */
  ecPublic(curveBits: number, privateKey: Uint8Array, publicOut: Uint8Array): boolean;
  /** False for a peer key that is not an uncompressed point on the curve. */
  ecdh(curveBits: number, privateKey: Uint8Array, peerPublic: Uint8Array, out: Uint8Array): boolean;
  ecdsaSign(curveBits: number, privateKey: Uint8Array, message: Uint8Array, signatureOut: Uint8Array): void;
  ecdsaVerify(curveBits: number, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Returns the signature's length (the modulus'). */
  rsaSign(hashBits: 256 | 512, privateDer: Uint8Array, message: Uint8Array, signatureOut: Uint8Array): number;
  rsaVerify(hashBits: 256 | 512, publicDer: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Returns the length of the RSAPrivateKey DER written to derOut. */
  rsaGenerate(bits: number, derOut: Uint8Array): number;
}

/** The host function of native_mlkem.c. */
export interface NativeMlkemHooks {
  /** False (nothing written) when the key fails FIPS 203's modulus check. */
  mlkem768Encapsulate(publicKey: Uint8Array, randomness: Uint8Array | undefined, ciphertextOut: Uint8Array, secretOut: Uint8Array): boolean;
}

/** The host functions of native_crypto.c, by the names native_crypto_hooks gives them, and the
 * optional ones of native_psa.c and native_mlkem.c. Buffers may be any Uint8Array view (any
 * byteOffset); outputs must be at least as long as stated. */
export interface NativeCryptoHooks extends Partial<NativePsaHooks>, Partial<NativeMlkemHooks> {
  /** Fills all of `out` from the platform's entropy source. */
  random(out: Uint8Array): void;
  sha256(data: Uint8Array, out: Uint8Array): void;
  sha512(data: Uint8Array, out: Uint8Array): void;
  /** scalar * point into out (32); false (out zeroed) for a low-order point. */
  x25519(scalar: Uint8Array, point: Uint8Array, out: Uint8Array): boolean;
  /** scalar * 9 into out (32). */
  x25519Base(scalar: Uint8Array, out: Uint8Array): void;
  ed25519Public(seed: Uint8Array, out: Uint8Array): void;
  ed25519Sign(seed: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  /** Never throws for buffers of any length: false unless valid. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Original ChaCha20 layout (8-byte nonce, 64-bit block counter); XORs into output[0..input.length). */
  chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void;
  /** Poly1305 tag into out[0..16). */
  poly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
}

/** The names every NativeCryptoHooks object must have (hosts check what the platform gave them). */
export const NATIVE_HOOK_NAMES: readonly (keyof NativeCryptoHooks)[] = Object.freeze([
  'random', 'sha256', 'sha512', 'x25519', 'x25519Base', 'ed25519Public', 'ed25519Sign', 'ed25519Verify', 'chacha20', 'poly1305',
] as const);
/** The hooks of native_psa.c: a host has all of them or none. */
export const NATIVE_PSA_HOOK_NAMES: readonly (keyof NativePsaHooks)[] = Object.freeze([
  'features', 'heap', 'sha384', 'hmacKey', 'hmacMac', 'hmacDispose', 'gcmKey', 'gcmSeal', 'gcmOpen', 'gcmDispose', 'ctrStream', 'ctrProcess',
  'ctrDispose', 'ecGenerate', 'ecPublic', 'ecdh', 'ecdsaSign', 'ecdsaVerify', 'rsaSign', 'rsaVerify', 'rsaGenerate',
] as const);

/** The provider features of features()' bits (NATIVE_PSA_* in native_crypto.h), in the order the
 * provider lists them. Frozen: preloaded on the ESP32, where a mutable table costs a RAM alias. */
const PSA_FEATURE_BITS: Readonly<Partial<Record<CryptoFeature, number>>> = Object.freeze({
  'sha384': 0x0001, 'hmac-sha256': 0x0002, 'hmac-sha512': 0x0004, 'aes-gcm': 0x0008, 'aes-ctr': 0x0010,
  'ecdh-p256': 0x0020, 'ecdh-p384': 0x0040, 'ecdh-p521': 0x0080, 'ecdsa-p256': 0x0100, 'ecdsa-p384': 0x0200,
  'ecdsa-p521': 0x0400, 'rsa': 0x0800, 'rsa-generate': 0x1000,
});

/** The additional data of aes*-gcm@openssh.com: the 4-byte packet length (RFC 5647 7.1). */
const SSH_GCM_AAD_LENGTH = 4;
/** The largest RSA modulus PSA takes (Mbed TLS 3.6's PSA_VENDOR_RSA_MAX_KEY_BITS, 4096 bits); a
 * longer key is refused here before it is DER-encoded (a peer's 64 KiB modulus costs nothing). */
const RSA_MAX_MODULUS_BYTES = 512;
/** ML-KEM-768 (FIPS 203) sizes: encapsulation key, ciphertext, shared secret, randomness m. */
const MLKEM768_PUBLIC_KEY_BYTES = 1184;
const MLKEM768_CIPHERTEXT_BYTES = 1088;
const MLKEM768_SECRET_BYTES = 32;
const MLKEM768_RANDOM_BYTES = 32;

/** The hooks' curve argument (its size in bits) and field length in bytes. */
function curveBits(curve: EcCurve): number {
  if (curve === 'p256') return 256;
  if (curve === 'p384') return 384;
  if (curve === 'p521') return 521;
  throw new RangeError(`ec: unknown curve ${String(curve)}`);
}
const fieldBytes = (bits: number): number => (bits + 7) >> 3;
const hashBits = (hash: 'sha256' | 'sha512'): 256 | 512 => {
  if (hash === 'sha256') return 256;
  if (hash === 'sha512') return 512;
  throw new RangeError(`unknown hash ${String(hash)}`);
};

export function createNativeProvider(hooks: NativeCryptoHooks): CryptoProvider {
  for (const name of NATIVE_HOOK_NAMES) {
    if (typeof hooks[name] !== 'function') throw new Error(`native crypto: the host has no ${name} hook`);
  }
  const features: CryptoFeature[] = [];
  let psa: OptionalPrimitives = {};
  const psaCount = NATIVE_PSA_HOOK_NAMES.filter((name) => typeof hooks[name] === 'function').length;
  if (psaCount === NATIVE_PSA_HOOK_NAMES.length) {
    const bits = (hooks as NativePsaHooks).features();
    for (const feature of Object.keys(PSA_FEATURE_BITS) as CryptoFeature[]) if ((bits & (PSA_FEATURE_BITS[feature] ?? 0)) !== 0) features.push(feature);
    psa = psaPrimitives(hooks as NativePsaHooks);
  } else if (psaCount !== 0) {
    throw new Error('native crypto: the host has only some of the PSA hooks');
  }
  let mlkem: OptionalPrimitives = {};
  if (typeof hooks.mlkem768Encapsulate === 'function') {
    features.push('mlkem768');
    mlkem = mlkemPrimitives(hooks as NativeMlkemHooks);
  }
  return {
    ...psa,
    ...mlkem,
    name: 'native',
    features,
    randomBytes(out: Uint8Array): void {
      hooks.random(out);
    },
    sha256(data: Uint8Array): Uint8Array {
      const out = new Uint8Array(32);
      hooks.sha256(data, out);
      return out;
    },
    sha512(data: Uint8Array): Uint8Array {
      const out = new Uint8Array(64);
      hooks.sha512(data, out);
      return out;
    },
    x25519(scalar: Uint8Array, point: Uint8Array): Uint8Array {
      if (scalar.length !== 32 || point.length !== 32) throw new RangeError('x25519: scalar and point must be 32 bytes');
      const out = new Uint8Array(32);
      if (!hooks.x25519(scalar, point, out)) throw new Error('x25519: low-order point');
      return out;
    },
    x25519Public(scalar: Uint8Array): Uint8Array {
      if (scalar.length !== 32) throw new RangeError('x25519: scalar must be 32 bytes');
      const out = new Uint8Array(32);
      hooks.x25519Base(scalar, out);
      return out;
    },
    ed25519Public(seed: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      const out = new Uint8Array(32);
      hooks.ed25519Public(seed, out);
      return out;
    },
    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      if (seed.length !== 32) throw new RangeError('ed25519: seed must be 32 bytes');
      const out = new Uint8Array(64);
      hooks.ed25519Sign(seed, message, out);
      return out;
    },
    ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        return hooks.ed25519Verify(publicKey, message, signature) === true;
      } catch {
        return false;
      }
    },
    chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void {
      checkChachaArgs(key, nonce, counter, input, output);
      if (input.length > 0) hooks.chacha20(key, nonce, counter, input, output);
    },
    poly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void {
      if (key.length !== 32) throw new RangeError('poly1305: key must be 32 bytes');
      if (out.length < 16) throw new RangeError('poly1305: out must hold 16 bytes');
      hooks.poly1305(key, message, out);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PSA primitives (native_psa.c)

function psaPrimitives(hooks: NativePsaHooks): OptionalPrimitives {
  return {
    sha384(data: Uint8Array): Uint8Array {
      const out = new Uint8Array(48);
      hooks.sha384(data, out);
      return out;
    },

    createHmac(hash: 'sha256' | 'sha512', key: Uint8Array): HmacKey {
      const handle = hooks.hmacKey(hashBits(hash), key);
      return {
        size: hash === 'sha256' ? 32 : 64,
        mac(seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
          hooks.hmacMac(handle, seq, buf, off, len, out, outOff);
        },
        dispose(): void {
          hooks.hmacDispose(handle);
        },
      };
    },

    createAesGcm(key: Uint8Array): AesGcmKey {
      if (key.length !== 16 && key.length !== 32) throw new RangeError('aes-gcm: key must be 16 or 32 bytes');
      const handle = hooks.gcmKey(key);
      return {
        seal(iv: Uint8Array, buf: Uint8Array, off: number, len: number): void {
          hooks.gcmSeal(handle, iv, buf, off, SSH_GCM_AAD_LENGTH, len);
        },
        open(iv: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
          return hooks.gcmOpen(handle, iv, buf, off, SSH_GCM_AAD_LENGTH, len) === true;
        },
        dispose(): void {
          hooks.gcmDispose(handle);
        },
      };
    },

    createAesCtr(key: Uint8Array, iv: Uint8Array): AesCtrStream {
      if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError('aes-ctr: key must be 16, 24 or 32 bytes');
      if (iv.length !== 16) throw new RangeError('aes-ctr: iv must be 16 bytes');
      const handle = hooks.ctrStream(key, iv);
      return {
        process(buf: Uint8Array, off: number, len: number): void {
          hooks.ctrProcess(handle, buf, off, len);
        },
        dispose(): void {
          hooks.ctrDispose(handle);
        },
      };
    },

    ecGenerate(curve: EcCurve): EcKeyPair {
      const bits = curveBits(curve), n = fieldBytes(bits);
      const privateKey = new Uint8Array(n), publicKey = new Uint8Array(1 + 2 * n);
      hooks.ecGenerate(bits, privateKey, publicKey);
      return { privateKey, publicKey };
    },

    ecPublic(curve: EcCurve, privateKey: Uint8Array): Uint8Array {
      const bits = curveBits(curve), n = fieldBytes(bits);
      const out = new Uint8Array(1 + 2 * n);
      if (privateKey.length !== n || !hooks.ecPublic(bits, privateKey, out)) throw new RangeError('ec: invalid private key');
      return out;
    },

    ecdh(curve: EcCurve, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
      const bits = curveBits(curve), n = fieldBytes(bits);
      if (privateKey.length !== n) throw new RangeError(`ecdh: private key must be ${n} bytes`);
      const out = new Uint8Array(n);
      if (!hooks.ecdh(bits, privateKey, peerPublic, out)) throw new Error('ecdh: invalid public key');
      return out;
    },

    ecdsaSign(curve: EcCurve, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      const bits = curveBits(curve), n = fieldBytes(bits);
      if (privateKey.length !== n) throw new RangeError(`ecdsa: private key must be ${n} bytes`);
      const signature = new Uint8Array(2 * n);
      hooks.ecdsaSign(bits, privateKey, message, signature);
      return signature;
    },

    ecdsaVerify(curve: EcCurve, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      try {
        return hooks.ecdsaVerify(curveBits(curve), publicKey, message, signature) === true;
      } catch {
        return false;
      }
    },

    rsaSign(hash: 'sha256' | 'sha512', key: RsaPrivateKey, message: Uint8Array): Uint8Array {
      const n = unsignedLength(key.n);
      if (n === 0 || n > RSA_MAX_MODULUS_BYTES) throw new RangeError('rsa: modulus out of range');
      const signature = new Uint8Array(n);
      const written = hooks.rsaSign(hashBits(hash), rsaPrivateKeyDer(key), message, signature);
      if (written !== n) throw new Error(`rsa: ${written}-byte signature for a ${n}-byte modulus`);
      return signature;
    },

    rsaVerify(hash: 'sha256' | 'sha512', key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean {
      try {
        const n = unsignedLength(key.n);
        if (n === 0 || n > RSA_MAX_MODULUS_BYTES || signature.length !== n) return false;
        return hooks.rsaVerify(hashBits(hash), rsaPublicKeyDer(key), message, signature) === true;
      } catch {
        return false;
      }
    },

    rsaGenerate(bits: number): RsaPrivateKey {
      if (!Number.isInteger(bits) || bits < 1024 || bits > 8 * RSA_MAX_MODULUS_BYTES || bits % 2 !== 0) throw new RangeError(`rsa: cannot make a ${bits}-bit key`);
      // PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE: nine INTEGERs of at most half the bits plus headers.
      const der = new Uint8Array(9 * ((bits >> 4) + 6) + 14);
      const length = hooks.rsaGenerate(bits, der);
      return parseRsaPrivateKeyDer(der.subarray(0, length));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ML-KEM-768 (native_mlkem.c)

function mlkemPrimitives(hooks: NativeMlkemHooks): OptionalPrimitives {
  return {
    mlkem768Encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
      if (publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES) throw new Error('mlkem768: invalid public key');
      if (randomness !== undefined && randomness.length !== MLKEM768_RANDOM_BYTES) throw new RangeError('mlkem768: randomness must be 32 bytes');
      const ciphertext = new Uint8Array(MLKEM768_CIPHERTEXT_BYTES), sharedSecret = new Uint8Array(MLKEM768_SECRET_BYTES);
      if (!hooks.mlkem768Encapsulate(publicKey, randomness, ciphertext, sharedSecret)) throw new Error('mlkem768: invalid public key');
      return { ciphertext, sharedSecret };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// DER for RSA keys (RFC 8017 A.1; X.690 8.3 INTEGER, 8.9 SEQUENCE): what PSA imports and exports

const DER_INTEGER = 0x02;
const DER_SEQUENCE = 0x30;

/** Length of an unsigned big-endian number without its leading zero bytes. */
function unsignedLength(u: Uint8Array): number {
  let i = 0;
  while (i < u.length && u[i] === 0) i++;
  return u.length - i;
}

function derHeaderLength(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 5;
}

function writeDerHeader(out: Uint8Array, at: number, tag: number, length: number): number {
  out[at++] = tag;
  if (length < 0x80) out[at++] = length;
  else {
    const bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : 3;
    out[at++] = 0x80 | bytes;
    for (let i = bytes - 1; i >= 0; i--) out[at++] = (length >>> (8 * i)) & 0xff;
  }
  return at;
}

/** A SEQUENCE of non-negative INTEGERs, each given as an unsigned big-endian number. */
function derIntegerSequence(numbers: readonly Uint8Array[]): Uint8Array {
  let body = 0;
  for (const u of numbers) {
    const skip = u.length - unsignedLength(u);
    const length = u.length - skip === 0 ? 1 : u.length - skip + (u[skip] & 0x80 ? 1 : 0);
    body += derHeaderLength(length) + length;
  }
  const out = new Uint8Array(derHeaderLength(body) + body);
  let at = writeDerHeader(out, 0, DER_SEQUENCE, body);
  for (const u of numbers) {
    const skip = u.length - unsignedLength(u);
    const digits = u.length - skip;
    const pad = digits === 0 || (u[skip] & 0x80) !== 0 ? 1 : 0;
    at = writeDerHeader(out, at, DER_INTEGER, digits + pad);
    if (pad) out[at++] = 0;
    out.set(u.subarray(skip), at);
    at += digits;
  }
  return out;
}

/** RSAPublicKey ::= SEQUENCE { modulus, publicExponent } */
function rsaPublicKeyDer(key: RsaPublicKey): Uint8Array {
  return derIntegerSequence([key.n, key.e]);
}

/** RSAPrivateKey ::= SEQUENCE { version 0, n, e, d, p, q, dp, dq, qi } */
function rsaPrivateKeyDer(key: RsaPrivateKey): Uint8Array {
  return derIntegerSequence([new Uint8Array(0), key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qi]);
}

/** The numbers of an RSAPrivateKey (two-prime, version 0), as RsaPrivateKey wants them. */
function parseRsaPrivateKeyDer(der: Uint8Array): RsaPrivateKey {
  let at = 0;
  const header = (tag: number): number => {
    if (der[at++] !== tag) throw new Error('rsa: bad key encoding');
    let length = der[at++];
    if (length & 0x80) {
      const bytes = length & 0x7f;
      if (bytes < 1 || bytes > 3) throw new Error('rsa: bad key encoding');
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + der[at++];
    }
    if (at + length > der.length) throw new Error('rsa: bad key encoding');
    return length;
  };
  header(DER_SEQUENCE);
  const numbers: Uint8Array[] = [];
  for (let i = 0; i < 9; i++) {
    const length = header(DER_INTEGER);
    const digits = unsignedLength(der.subarray(at, at + length));
    numbers.push(der.slice(at + length - digits, at + length));
    at += length;
  }
  if (numbers[0].length !== 0) throw new Error('rsa: not a two-prime key');
  const [, n, e, d, p, q, dp, dq, qi] = numbers;
  return { n, e, d, p, q, dp, dq, qi };
}
