/* Mbed TLS 3.6 configuration (MBEDTLS_CONFIG_FILE) of this project's own builds of the crypto
 * library, libmbedcrypto only: the Linux xsrun (hosts/qemu/xs-host) and the QEMU firmware
 * (hosts/qemu/mbedtls.ts). What the PSA hooks (modules/crypto/native_psa.c) need and nothing more:
 * the PSA Crypto API configured by PSA_WANT_* (native_psa_config.h), the way ESP-IDF v6.0's
 * TF-PSA-Crypto is configured; no TLS, X.509, file system, threads or entropy module.
 *
 * `npm run check:esp32` compiles native_psa.c against these headers as the stand-in for ESP-IDF's
 * (the API is the same); on a board ESP-IDF's own configuration (sdkconfig) applies instead. */

#ifndef NATIVE_MBEDTLS_CONFIG_H
#define NATIVE_MBEDTLS_CONFIG_H

/* PSA Crypto, configured by the PSA_WANT_* symbols; the built-in drivers are enabled from them. */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_CRYPTO_CONFIG
#define MBEDTLS_PSA_CRYPTO_CONFIG_FILE "native_psa_config.h"

/* Random bytes straight from the platform's source (native_random(): the firmware's seeded
 * ChaCha20 DRBG, getrandom() on Linux, the ESP32's hardware RNG), no entropy module or DRBG of
 * Mbed TLS's own. native_psa.c defines mbedtls_psa_external_get_random() when this is set. */
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#define NATIVE_PSA_EXTERNAL_RNG

/* Buffers belong to the caller alone (no shared memory here): PSA works on them directly instead
 * of copying every input and output to the heap (in-place AES on a 32 KiB packet would otherwise
 * allocate 64 KiB per packet). */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS

/* A fixed key store instead of one that grows on the heap: the keys the hooks keep (one AES key per
 * direction per connection, 4 connections at most on a board: 8; twice that while rekeys overlap)
 * plus the one or two a key exchange or a signature imports for the length of a call. */
#undef MBEDTLS_PSA_KEY_STORE_DYNAMIC
#define MBEDTLS_PSA_KEY_SLOT_COUNT 24

/* Allocation through function pointers, so native_psa.c can count Mbed TLS's heap use
 * (NATIVE_PSA_HEAP_STATS: the peaks of RSA-3072 and the rest are reported by the tests). */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define NATIVE_PSA_HEAP_STATS

/* Tables in flash (read-only data) instead of ~8 KB of RAM built at the first use. */
#define MBEDTLS_AES_ROM_TABLES
/* Fast reduction modulo the NIST primes. */
#define MBEDTLS_ECP_NIST_OPTIM

/* Inline assembly for bignum multiplication where Mbed TLS has it (x86-64; none for RISC-V, which
 * uses the portable C). */
#define MBEDTLS_HAVE_ASM

#endif /* NATIVE_MBEDTLS_CONFIG_H */
