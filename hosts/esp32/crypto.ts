// The ESP32's crypto: the C hooks of modules/crypto/native_crypto.c (libsodium from the ESP
// component registry; random bytes from esp_fill_random, see esp32_host.c), bound with Moddable's
// native() and wrapped by modules/crypto/native.ts into the core's CryptoProvider.

import { createNativeProvider, type NativeCryptoHooks } from "../../modules/crypto/native.js";
import type { CryptoProvider } from "../../modules/crypto/provider.js";

/** The hooks as a Moddable build binds C functions: native() with the C symbol as a literal (xsc
 * resolves them at build time; the manifest links native_crypto.c). Names follow native_crypto.h. */
export function bindNativeHooks(): NativeCryptoHooks {
  return {
    random: native("xs_native_crypto_random"),
    sha256: native("xs_native_crypto_sha256"),
    sha512: native("xs_native_crypto_sha512"),
    x25519: native("xs_native_crypto_x25519"),
    x25519Base: native("xs_native_crypto_x25519_base"),
    ed25519Public: native("xs_native_crypto_ed25519_public"),
    ed25519Sign: native("xs_native_crypto_ed25519_sign"),
    ed25519Verify: native("xs_native_crypto_ed25519_verify"),
    chacha20: native("xs_native_crypto_chacha20"),
    poly1305: native("xs_native_crypto_poly1305"),
  };
}

export function createEsp32Crypto(): CryptoProvider {
  return createNativeProvider(bindNativeHooks());
}
