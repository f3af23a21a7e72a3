// The crypto provider of the firmware hosts: native hooks (XS host functions in C over libsodium,
// modules/crypto/native_crypto.c) behind the CryptoProvider interface.
//
// The hooks write into buffers the caller passes and never allocate in the XS heap; this file
// allocates the results the interface returns, checks arguments with the same messages as the noble
// provider, and turns the hooks' booleans into the interface's behaviour:
// - x25519 with a low-order point throws Error('x25519: low-order point') (libsodium refuses the
//   all-zero result, RFC 7748 section 6.1, RFC 8731 section 3);
// - ed25519Verify never throws (libsodium refuses small-order and non-canonical public keys, as
//   noble's strict mode does);
// - chacha20 carries the 64-bit block counter from word 12 into word 13 (libsodium's _ic variant).
//
// How a host finds the hooks is its own business (xsrun and the QEMU firmware put them on
// globalThis.nativeCrypto; see nativeHooks() in hosts/qemu/xs/host.ts): this module only takes them.

import { checkChachaArgs } from './checks.js';
import type { CryptoProvider } from './provider.js';

/** The host functions of native_crypto.c, by the names native_crypto_hooks gives them. Buffers may
 * be any Uint8Array view (any byteOffset); outputs must be at least as long as stated. */
export interface NativeCryptoHooks {
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
export const NATIVE_HOOK_NAMES: readonly (keyof NativeCryptoHooks)[] = [
  'random', 'sha256', 'sha512', 'x25519', 'x25519Base', 'ed25519Public', 'ed25519Sign', 'ed25519Verify', 'chacha20', 'poly1305',
];

export function createNativeProvider(hooks: NativeCryptoHooks): CryptoProvider {
  for (const name of NATIVE_HOOK_NAMES) {
    if (typeof hooks[name] !== 'function') throw new Error(`native crypto: the host has no ${name} hook`);
  }
  return {
    name: 'native',
    features: [],
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
