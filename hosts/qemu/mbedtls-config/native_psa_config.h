/* PSA_WANT_* configuration (MBEDTLS_PSA_CRYPTO_CONFIG_FILE) of this project's Mbed TLS 3.6 builds:
 * the mechanisms the SSH algorithm tables can use through modules/crypto/native_psa.c. The hooks'
 * features() reports exactly these, so a build with fewer offers fewer algorithms. */

#ifndef NATIVE_PSA_CONFIG_H
#define NATIVE_PSA_CONFIG_H

/* Hashes: SHA-256/512 for HMAC (hmac-sha2-*, RFC 6668), ECDSA and RSA; SHA-384 for ecdsa-nistp384
 * and ecdh-sha2-nistp384 (RFC 5656). */
#define PSA_WANT_ALG_SHA_256 1
#define PSA_WANT_ALG_SHA_384 1
#define PSA_WANT_ALG_SHA_512 1

/* AES-GCM (aes*-gcm@openssh.com, RFC 5647) and AES-CTR (aes*-ctr, RFC 4344). */
#define PSA_WANT_KEY_TYPE_AES 1
#define PSA_WANT_ALG_GCM 1
#define PSA_WANT_ALG_CTR 1

/* ECDH and ECDSA on the NIST curves (RFC 5656). */
#define PSA_WANT_ALG_ECDH 1
#define PSA_WANT_ALG_ECDSA 1
#define PSA_WANT_ECC_SECP_R1_256 1
#define PSA_WANT_ECC_SECP_R1_384 1
#define PSA_WANT_ECC_SECP_R1_521 1
#define PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_BASIC 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_GENERATE 1

/* RSASSA-PKCS1-v1_5 (rsa-sha2-256/512, RFC 8332) and RSA key generation (host keys). */
#define PSA_WANT_ALG_RSA_PKCS1V15_SIGN 1
#define PSA_WANT_KEY_TYPE_RSA_PUBLIC_KEY 1
#define PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_BASIC 1
#define PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_IMPORT 1
#define PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_EXPORT 1
#define PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_GENERATE 1

#endif /* NATIVE_PSA_CONFIG_H */
