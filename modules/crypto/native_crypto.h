/* Native crypto hooks: XS host functions (xsmc API) for the firmware hosts, in three files:
 *   native_crypto.c  x25519, ed25519, chacha20, poly1305, SHA-256/512 over libsodium;
 *   native_psa.c     SHA-384, HMAC, AES-GCM/CTR, ECDH/ECDSA P-256/384/521, RSA PKCS#1 v1.5 over
 *                    the PSA Crypto API (Mbed TLS 3.6 here; TF-PSA-Crypto in ESP-IDF v6.0's Mbed TLS 4);
 *   native_mlkem.c   ML-KEM-768 encapsulation over libcrux's portable C (the header OpenSSH carries).
 * The TypeScript side is modules/crypto/native.ts (NativeCryptoHooks names the same functions).
 *
 * Conventions (every hook):
 * - outputs go into buffers the caller passes (ArrayBuffer, Uint8Array or DataView; views may
 *   start at any byteOffset); hooks never allocate in the XS heap, so buffer pointers stay valid
 *   for the whole call, except the constructors of the key objects (hmacKey, gcmKey, ctrStream),
 *   which make their one host object before they take any buffer pointer;
 * - key objects are XS host objects whose C data (PSA key ids, a hash or cipher state) lives in the
 *   C heap; dispose() frees it at once, the destructor when XS collects an object never disposed;
 *   the per-packet hooks (hmacMac, gcmSeal/Open, ctrProcess) allocate nothing in the XS heap and
 *   keep nothing from the C heap (see native_psa.c for what PSA itself takes within a call);
 * - numbers (offsets, lengths, sequence numbers, curve and hash sizes) must be plain integers: they
 *   are read and checked before any buffer pointer is taken, so no JavaScript runs in between;
 * - lengths are checked: a wrong one throws RangeError, a non-buffer TypeError;
 * - where input can be bad without the caller's fault (a peer's key or signature, a packet's tag)
 *   hooks return booleans instead of throwing (see native.ts).
 *
 * Each platform defines native_random() and native_call_with_stack(); how the hooks reach
 * JavaScript is the platform's choice: the tables below list them with their JS names (xsrun and
 * the QEMU firmware install them all as globalThis.nativeCrypto); the ESP32 binds the xs_native_*
 * functions with Moddable's native("name") (hosts/esp32/crypto.ts). */

#ifndef NATIVE_CRYPTO_H
#define NATIVE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "xs.h"

/* Fills buffer with `size` bytes from the platform's cryptographically secure entropy source. */
void native_random(void *buffer, size_t size);

/* Runs fn(context) on a C stack with at least `bytes` free: the caller's own when the platform's
 * stack is that deep (Linux), else one the platform lends for the call (the QEMU firmware from its
 * heap, the ESP32 through esp_execute_shared_stack_function). Returns 0 after fn returned, or -1
 * when no such stack can be had (fn not called). For code with large frames (ML-KEM, ~27 KB),
 * which a board's task stack should not have to carry all the time. */
int native_call_with_stack(size_t bytes, void (*fn)(void *context), void *context);

void xs_native_crypto_random(xsMachine *the);          /* random(out) */
void xs_native_crypto_sha256(xsMachine *the);          /* sha256(data, out32) */
void xs_native_crypto_sha512(xsMachine *the);          /* sha512(data, out64) */
void xs_native_crypto_x25519(xsMachine *the);          /* x25519(scalar32, point32, out32) -> boolean */
void xs_native_crypto_x25519_base(xsMachine *the);     /* x25519Base(scalar32, out32) */
void xs_native_crypto_ed25519_public(xsMachine *the);  /* ed25519Public(seed32, out32) */
void xs_native_crypto_ed25519_sign(xsMachine *the);    /* ed25519Sign(seed32, message, out64) */
void xs_native_crypto_ed25519_verify(xsMachine *the);  /* ed25519Verify(public32, message, signature) -> boolean */
void xs_native_crypto_chacha20(xsMachine *the);        /* chacha20(key32, nonce8, counter, input, output) */
void xs_native_crypto_poly1305(xsMachine *the);        /* poly1305(key32, message, out16) */

/* Argument helpers every hook file uses (native_crypto.c): argument i as a buffer (its length in
 * *length), as a buffer of exactly `size` bytes, as an output of at least `size` bytes, as a plain
 * integer in [0, max] (at most 2^32 - 1). They throw TypeError / RangeError("<what> ..."). */
uint8_t *native_arg_buffer(xsMachine *the, int i, xsUnsignedValue *length, int writable);
uint8_t *native_arg_exact(xsMachine *the, int i, xsUnsignedValue size, int writable, const char *what);
uint8_t *native_arg_out(xsMachine *the, int i, xsUnsignedValue size, const char *what);
double native_arg_integer(xsMachine *the, int i, double max, const char *what);

/* native_psa.c (features() tells which of these the PSA build has, NATIVE_PSA_* bits below) */
void xs_native_psa_features(xsMachine *the);        /* features() -> NATIVE_PSA_* bits */
void xs_native_psa_sha384(xsMachine *the);          /* sha384(data, out48) */
void xs_native_psa_hmac_key(xsMachine *the);        /* hmacKey(hashBits, key) -> HmacKey host object */
void xs_native_psa_hmac_mac(xsMachine *the);        /* hmacMac(hmacKey, seq, buf, off, len, out, outOff) */
void xs_native_psa_hmac_dispose(xsMachine *the);    /* hmacDispose(hmacKey) */
void xs_native_psa_gcm_key(xsMachine *the);         /* gcmKey(key16or32) -> GcmKey host object */
void xs_native_psa_gcm_seal(xsMachine *the);        /* gcmSeal(gcmKey, iv12, buf, off, aadLength, length) */
void xs_native_psa_gcm_open(xsMachine *the);        /* gcmOpen(gcmKey, iv12, buf, off, aadLength, length) -> boolean */
void xs_native_psa_gcm_dispose(xsMachine *the);     /* gcmDispose(gcmKey) */
void xs_native_psa_ctr_stream(xsMachine *the);      /* ctrStream(key16/24/32, iv16) -> CtrStream host object */
void xs_native_psa_ctr_process(xsMachine *the);     /* ctrProcess(ctrStream, buf, off, length) */
void xs_native_psa_ctr_dispose(xsMachine *the);     /* ctrDispose(ctrStream) */
void xs_native_psa_ec_generate(xsMachine *the);     /* ecGenerate(curveBits, privateOut, publicOut) */
void xs_native_psa_ec_public(xsMachine *the);       /* ecPublic(curveBits, private, publicOut) -> boolean */
void xs_native_psa_ecdh(xsMachine *the);            /* ecdh(curveBits, private, peerPublic, out) -> boolean */
void xs_native_psa_ecdsa_sign(xsMachine *the);      /* ecdsaSign(curveBits, private, message, signatureOut) */
void xs_native_psa_ecdsa_verify(xsMachine *the);    /* ecdsaVerify(curveBits, public, message, signature) -> boolean */
void xs_native_psa_rsa_sign(xsMachine *the);        /* rsaSign(hashBits, privateDer, message, signatureOut) -> length */
void xs_native_psa_rsa_verify(xsMachine *the);      /* rsaVerify(hashBits, publicDer, message, signature) -> boolean */
void xs_native_psa_rsa_generate(xsMachine *the);    /* rsaGenerate(bits, privateDerOut) -> length */
void xs_native_psa_heap(xsMachine *the);            /* heap(resetPeak) -> { inUse, peak, allocations } or undefined */

/* native_mlkem.c */
void xs_native_mlkem768_encapsulate(xsMachine *the); /* mlkem768Encapsulate(public1184, randomness32 | undefined, ciphertextOut1088, secretOut32) -> boolean */

/* Bits of features(): what the PSA build provides (PSA_WANT_* of its configuration). */
#define NATIVE_PSA_SHA384       0x0001
#define NATIVE_PSA_HMAC_SHA256  0x0002
#define NATIVE_PSA_HMAC_SHA512  0x0004
#define NATIVE_PSA_AES_GCM      0x0008
#define NATIVE_PSA_AES_CTR      0x0010
#define NATIVE_PSA_ECDH_P256    0x0020
#define NATIVE_PSA_ECDH_P384    0x0040
#define NATIVE_PSA_ECDH_P521    0x0080
#define NATIVE_PSA_ECDSA_P256   0x0100
#define NATIVE_PSA_ECDSA_P384   0x0200
#define NATIVE_PSA_ECDSA_P521   0x0400
#define NATIVE_PSA_RSA          0x0800
#define NATIVE_PSA_RSA_GENERATE 0x1000

typedef struct {
	const char *name;      /* the property name on the hooks object */
	xsCallback callback;
	int length;            /* the function's declared argument count */
} native_crypto_hook;

/* The hooks of each file, ending with { NULL, NULL, 0 }. */
extern const native_crypto_hook native_crypto_hooks[];
extern const native_crypto_hook native_psa_hooks[];
extern const native_crypto_hook native_mlkem_hooks[];

#endif /* NATIVE_CRYPTO_H */
