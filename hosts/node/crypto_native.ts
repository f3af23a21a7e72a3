// The node host's packet crypto in C over node's own OpenSSL 3 (hosts/node/native/packet_crypto.c):
// chacha20-poly1305@openssh.com, AES-GCM, AES-CTR, HMAC-SHA-256/512 and Poly1305, each in place on
// the caller's buffer with one OpenSSL context per key and nothing allocated per packet. Without
// it the packet crypto runs in libsodium's scalar WebAssembly (chacha20-poly1305) or through
// node:crypto objects made per packet (AES-GCM, HMAC).
//
// createNativeProvider() is the node provider (crypto_node.ts) with those factories replaced; its
// name is "node+openssl". The addon is built on first use when it is missing (native/build.ts);
// loadNativeCrypto() reports why when it cannot be built or loaded, so the server can fall back.

import { createRequire } from "node:module";
import type { AesCtrStream, AesGcmKey, ChaChaPolyKey, CryptoProvider, HmacKey } from "../../modules/crypto/provider.js";
import { createNodeProvider } from "./crypto_node.js";
import { buildPacketCrypto } from "./native/build.js";

/** What packet_crypto.c exports. */
export interface PacketCryptoAddon {
  ChaChaPoly: new (key: Uint8Array) => ChaChaPolyKey;
  AesGcm: new (key: Uint8Array) => AesGcmKey;
  AesCtr: new (key: Uint8Array, iv: Uint8Array) => AesCtrStream;
  Hmac: new (hash: "sha256" | "sha512", key: Uint8Array) => HmacKey;
  poly1305(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  /** OpenSSL_version(OPENSSL_VERSION) of the library the addon runs on (node's). */
  readonly openssl: string;
}

/** Set to 0 to run without the addon (for comparisons): ESP_SSH_NATIVE_CRYPTO=0. */
export const NATIVE_CRYPTO_ENV = "ESP_SSH_NATIVE_CRYPTO";

let loaded: PacketCryptoAddon | Error | undefined;

/** The addon, built first when missing. Throws an Error saying why it is not available. */
export function loadPacketCrypto(): PacketCryptoAddon {
  if (loaded === undefined) {
    try {
      if (process.env[NATIVE_CRYPTO_ENV] === "0") throw new Error(`${NATIVE_CRYPTO_ENV}=0`);
      const { path } = buildPacketCrypto();
      loaded = createRequire(import.meta.url)(path) as PacketCryptoAddon;
    } catch (e) {
      loaded = e instanceof Error ? e : new Error(String(e));
    }
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

export const NATIVE_PROVIDER_NAME = "node+openssl";

/** `base` (the node provider by default) with the addon's packet crypto. */
export function createNativeProvider(addon: PacketCryptoAddon = loadPacketCrypto(), base?: CryptoProvider): CryptoProvider {
  const b = base ?? createNodeProvider(addon.poly1305);
  return {
    ...b,
    name: NATIVE_PROVIDER_NAME,
    poly1305: addon.poly1305,
    createChaChaPoly: (key) => new addon.ChaChaPoly(key),
    createAesGcm: (key) => new addon.AesGcm(key),
    createAesCtr: (key, iv) => new addon.AesCtr(key, iv),
    createHmac: (hash, key) => new addon.Hmac(hash, key),
  };
}

/** The native provider, or null with `log` told why (one line) when the addon is not available. */
export function tryNativeProvider(log: (line: string) => void): CryptoProvider | null {
  try {
    return createNativeProvider();
  } catch (e) {
    log(`packet crypto: native addon not available (${(e as Error).message}); using node:crypto + libsodium WebAssembly`);
    return null;
  }
}
