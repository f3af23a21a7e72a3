// The ESP32's crypto: the C hooks of modules/crypto/native_crypto.c (libsodium from the ESP
// component registry; random bytes from esp_fill_random, see esp32_host.c), native_psa.c (the PSA
// Crypto API of ESP-IDF v6.0's Mbed TLS 4.0 / TF-PSA-Crypto, whose drivers use the chip's AES, SHA
// and RSA accelerators) and native_mlkem.c (libcrux's ML-KEM-768, the header fetched at build time,
// see README "ESP32 firmware"), bound with Moddable's native() and wrapped by
// modules/crypto/native.ts into the core's CryptoProvider. What ESP-IDF's configuration leaves out
// of PSA (a curve, say) drops out of the provider's features through hooks.features().

import { createNativeProvider, type NativeCryptoHooks } from "../../modules/crypto/native.js";
import type { CryptoProvider } from "../../modules/crypto/provider.js";

/** The hooks as a Moddable build binds C functions: native() with the C symbol as a literal (xsc
 * resolves them at build time; the manifest links the three C files). Names follow native_crypto.h. */
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
    features: native("xs_native_psa_features"),
    heap: native("xs_native_psa_heap"),
    sha384: native("xs_native_psa_sha384"),
    hmacKey: native("xs_native_psa_hmac_key"),
    hmacMac: native("xs_native_psa_hmac_mac"),
    hmacDispose: native("xs_native_psa_hmac_dispose"),
    gcmKey: native("xs_native_psa_gcm_key"),
    gcmSeal: native("xs_native_psa_gcm_seal"),
    gcmOpen: native("xs_native_psa_gcm_open"),
    gcmDispose: native("xs_native_psa_gcm_dispose"),
    ctrStream: native("xs_native_psa_ctr_stream"),
    ctrProcess: native("xs_native_psa_ctr_process"),
    ctrDispose: native("xs_native_psa_ctr_dispose"),
    ecGenerate: native("xs_native_psa_ec_generate"),
    ecPublic: native("xs_native_psa_ec_public"),
    ecdh: native("xs_native_psa_ecdh"),
    ecdsaSign: native("xs_native_psa_ecdsa_sign"),
    ecdsaVerify: native("xs_native_psa_ecdsa_verify"),
    rsaSign: native("xs_native_psa_rsa_sign"),
    rsaVerify: native("xs_native_psa_rsa_verify"),
    rsaGenerate: native("xs_native_psa_rsa_generate"),
    mlkem768Encapsulate: native("xs_native_mlkem768_encapsulate"),
  };
}

export function createEsp32Crypto(): CryptoProvider {
  return createNativeProvider(bindNativeHooks());
}
