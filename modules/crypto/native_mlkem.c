/* Native crypto hook: ML-KEM-768 encapsulation (FIPS 203), the server's half of
 * mlkem768x25519-sha256, over libcrux's portable C implementation: the header OpenSSH itself uses
 * (libcrux_mlkem768_sha3.h, extracted at build time from Debian's openssh source package; never
 * committed, see hosts/qemu/mlkem.ts). See native_crypto.h for the conventions.
 *
 * libcrux's code keeps its polynomials on the C stack (about 41 KB on rv32), more than a
 * board's task stack should carry all the time: the work runs through native_call_with_stack(),
 * which the firmware platforms serve with a stack lent for the call. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xsmc.h"
#include "native_crypto.h"

/* libcrux uses the BSD byte-order helpers (OpenSSH has them from its compatibility layer); where
 * the C library declares none (picolibc, ESP-IDF's newlib), the compiler's builtins serve. */
#if !defined(htole64) && !defined(le64toh) && !defined(le32toh)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define htole64(x) __builtin_bswap64(x)
#define le64toh(x) __builtin_bswap64(x)
#define le32toh(x) __builtin_bswap32(x)
#else
#define htole64(x) ((uint64_t)(x))
#define le64toh(x) ((uint64_t)(x))
#define le32toh(x) ((uint32_t)(x))
#endif
#endif

/* libcrux calls fatal_f only for an internal inconsistency (never for any input): stop. */
#define fatal_f(...) abort()
/* libcrux's code at -O2 whatever the build's optimization (-Os on the firmware hosts): half the
 * instructions of -Os on rv32 (4.6 M instead of 8.7 M per encapsulation, QEMU -icount) for ~22 KB
 * more flash. Only this file: the hooks below and libcrux's functions. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include "libcrux_mlkem768_sha3.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* FIPS 203 ML-KEM-768 sizes: encapsulation key, ciphertext, shared secret, the randomness m. */
#define MLKEM768_PUBLIC_KEY_BYTES 1184
#define MLKEM768_CIPHERTEXT_BYTES 1088
#define MLKEM768_SECRET_BYTES 32
#define MLKEM768_RANDOM_BYTES 32
/* The stack the encapsulation is given: libcrux's deepest path (validate, then encapsulate) used
 * 41,432 bytes at -O2 on rv32 (34,768 at -Os; the QEMU firmware's painted lent stack,
 * test/qemu-crypto-algs.test.ts; gcc -fstack-usage's per-function figures add up to less), plus
 * room for a trap frame and another compiler's or target's choices (Xtensa). The firmware stops
 * when a call goes deeper than it asked for (hosts/qemu/firmware/stack_call.c). */
#ifndef MLKEM768_STACK_BYTES
#define MLKEM768_STACK_BYTES (48 * 1024)
#endif

typedef struct {
	const uint8_t *publicKey;
	const uint8_t *randomness;
	uint8_t *ciphertext;
	uint8_t *secret;
	int valid;
} mlkem_call;

/* On the lent stack: the modulus check of FIPS 203 7.2, then Algorithm 20 (ML-KEM.Encaps). */
static void mlkem768_encapsulate_on_stack(void *context)
{
	mlkem_call *call = context;
	struct libcrux_mlkem768_pk key;
	uint8_t randomness[MLKEM768_RANDOM_BYTES];
	tuple_3c result;
	memcpy(key.value, call->publicKey, MLKEM768_PUBLIC_KEY_BYTES);
	call->valid = libcrux_ml_kem_mlkem768_portable_validate_public_key(&key);
	if (!call->valid)
		return;
	memcpy(randomness, call->randomness, sizeof(randomness));
	result = libcrux_ml_kem_mlkem768_portable_encapsulate(&key, randomness);
	memcpy(call->ciphertext, result.fst.value, MLKEM768_CIPHERTEXT_BYTES);
	memcpy(call->secret, result.snd, MLKEM768_SECRET_BYTES);
	memset(&result, 0, sizeof(result));
	memset(randomness, 0, sizeof(randomness));
}

/* mlkem768Encapsulate(publicKey, randomness, ciphertextOut, secretOut) -> boolean: encapsulates to
 * the 1184-byte key into ciphertextOut[0..1088) and secretOut[0..32); false (nothing written) when
 * the key fails the modulus check. randomness: 32 bytes (known-answer tests), or undefined for
 * fresh bytes from the platform. */
void xs_native_mlkem768_encapsulate(xsMachine *the)
{
	uint8_t fresh[MLKEM768_RANDOM_BYTES];
	mlkem_call call;
	if (xsmcArgc < 4)
		xsTypeError("mlkem768: 4 arguments expected");
	call.ciphertext = native_arg_out(the, 2, MLKEM768_CIPHERTEXT_BYTES, "mlkem768: ciphertext");
	call.secret = native_arg_out(the, 3, MLKEM768_SECRET_BYTES, "mlkem768: shared secret");
	call.publicKey = native_arg_exact(the, 0, MLKEM768_PUBLIC_KEY_BYTES, 0, "mlkem768: public key");
	if (xsmcTypeOf(xsArg(1)) == xsUndefinedType) {
		native_random(fresh, sizeof(fresh));
		call.randomness = fresh;
	}
	else
		call.randomness = native_arg_exact(the, 1, MLKEM768_RANDOM_BYTES, 0, "mlkem768: randomness");
	call.valid = 0;
	if (native_call_with_stack(MLKEM768_STACK_BYTES, mlkem768_encapsulate_on_stack, &call) != 0) {
		memset(fresh, 0, sizeof(fresh));
		xsUnknownError("mlkem768: no %u-byte stack for the encapsulation (out of memory)", (unsigned)MLKEM768_STACK_BYTES);
	}
	memset(fresh, 0, sizeof(fresh));
	xsmcSetBoolean(xsResult, call.valid);
}

const native_crypto_hook native_mlkem_hooks[] = {
	{ "mlkem768Encapsulate", xs_native_mlkem768_encapsulate, 4 },
	{ NULL, NULL, 0 },
};
