/* Native crypto hooks: the primitives of modules/crypto/provider.ts as XS host functions over
 * libsodium. See native_crypto.h for the conventions and native.ts for the provider built on them.
 *
 * Portable C99 with only libsodium and the xsmc API: the same file builds for the Linux host
 * runner (hosts/qemu/xs-host), the QEMU firmware and the ESP32 (Moddable SDK).
 *
 * Buffer pointers from xsmcGetBuffer* move when the XS heap allocates or collects. No hook
 * allocates, and every non-buffer argument (chacha20's counter) is read and checked to be a plain
 * number before any pointer is taken, so no JavaScript (a valueOf) can run in between. */

#include <stdint.h>
#include <string.h>
#include <sodium.h>
#include "xsmc.h"
#include "native_crypto.h"

/* Argument i as a byte buffer: its address and length. Throws TypeError for a missing argument or
 * a non-buffer (XS: "this is no buffer"). */
uint8_t *native_arg_buffer(xsMachine *the, int i, xsUnsignedValue *length, int writable)
{
	void *data = NULL;
	if (xsmcArgc <= i)
		xsTypeError("missing argument");
	if (writable)
		xsmcGetBufferWritable(xsArg(i), &data, length);
	else
		xsmcGetBufferReadable(xsArg(i), &data, length);
	return (uint8_t *)data;
}

/* Argument i as a buffer of exactly `size` bytes, else RangeError("<what> must be <size> bytes"). */
uint8_t *native_arg_exact(xsMachine *the, int i, xsUnsignedValue size, int writable, const char *what)
{
	xsUnsignedValue length;
	uint8_t *data = native_arg_buffer(the, i, &length, writable);
	if (length != size)
		xsRangeError("%s must be %u bytes", what, (unsigned)size);
	return data;
}

/* Argument i as an output buffer of at least `size` bytes (the first `size` are written). */
uint8_t *native_arg_out(xsMachine *the, int i, xsUnsignedValue size, const char *what)
{
	xsUnsignedValue length;
	uint8_t *data = native_arg_buffer(the, i, &length, 1);
	if (length < size)
		xsRangeError("%s must hold %u bytes", what, (unsigned)size);
	return data;
}

/* Argument i as an integer in [0, max]: a plain number (no valueOf runs), else TypeError or
 * RangeError("<what> out of range"). */
double native_arg_integer(xsMachine *the, int i, double max, const char *what)
{
	double value;
	if (xsmcArgc <= i)
		xsTypeError("missing argument");
	if (xsmcTypeOf(xsArg(i)) != xsIntegerType && xsmcTypeOf(xsArg(i)) != xsNumberType)
		xsTypeError("%s must be a number", what);
	value = xsmcToNumber(xsArg(i));
	if (!(value >= 0 && value <= max) || value != (double)(uint32_t)value)
		xsRangeError("%s out of range", what);
	return value;
}

/* random(out): fills all of out. */
void xs_native_crypto_random(xsMachine *the)
{
	xsUnsignedValue length;
	uint8_t *out = native_arg_buffer(the, 0, &length, 1);
	if (length)
		native_random(out, length);
}

/* sha256(data, out): SHA-256 of data into out[0..32). */
void xs_native_crypto_sha256(xsMachine *the)
{
	xsUnsignedValue length;
	uint8_t *out = native_arg_out(the, 1, crypto_hash_sha256_BYTES, "sha256: out");
	const uint8_t *data = native_arg_buffer(the, 0, &length, 0);
	crypto_hash_sha256(out, data, length);
}

/* sha512(data, out): SHA-512 of data into out[0..64). */
void xs_native_crypto_sha512(xsMachine *the)
{
	xsUnsignedValue length;
	uint8_t *out = native_arg_out(the, 1, crypto_hash_sha512_BYTES, "sha512: out");
	const uint8_t *data = native_arg_buffer(the, 0, &length, 0);
	crypto_hash_sha512(out, data, length);
}

/* x25519(scalar, point, out) -> boolean: scalar * point into out[0..32). False (and out zeroed)
 * when point is a low-order point, i.e. the result would be all zero (RFC 7748 section 6.1):
 * libsodium refuses those. */
void xs_native_crypto_x25519(xsMachine *the)
{
	uint8_t *out = native_arg_out(the, 2, crypto_scalarmult_curve25519_BYTES, "x25519: out");
	const uint8_t *scalar = native_arg_exact(the, 0, crypto_scalarmult_curve25519_SCALARBYTES, 0, "x25519: scalar");
	const uint8_t *point = native_arg_exact(the, 1, crypto_scalarmult_curve25519_BYTES, 0, "x25519: point");
	uint8_t shared[crypto_scalarmult_curve25519_BYTES];
	int ok = crypto_scalarmult_curve25519(shared, scalar, point) == 0;
	if (ok)
		memcpy(out, shared, sizeof(shared));
	else
		memset(out, 0, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	xsmcSetBoolean(xsResult, ok);
}

/* x25519Base(scalar, out): scalar * 9 (the public key) into out[0..32). */
void xs_native_crypto_x25519_base(xsMachine *the)
{
	uint8_t *out = native_arg_out(the, 1, crypto_scalarmult_curve25519_BYTES, "x25519: out");
	const uint8_t *scalar = native_arg_exact(the, 0, crypto_scalarmult_curve25519_SCALARBYTES, 0, "x25519: scalar");
	if (crypto_scalarmult_curve25519_base(out, scalar) != 0)
		xsUnknownError("x25519: base point multiplication failed");
}

/* ed25519Public(seed, out): the public key of a 32-byte seed (RFC 8032 5.1.5) into out[0..32). */
void xs_native_crypto_ed25519_public(xsMachine *the)
{
	uint8_t *out = native_arg_out(the, 1, crypto_sign_ed25519_PUBLICKEYBYTES, "ed25519: out");
	const uint8_t *seed = native_arg_exact(the, 0, crypto_sign_ed25519_SEEDBYTES, 0, "ed25519: seed");
	uint8_t secret[crypto_sign_ed25519_SECRETKEYBYTES];
	crypto_sign_ed25519_seed_keypair(out, secret, seed);
	sodium_memzero(secret, sizeof(secret));
}

/* ed25519Sign(seed, message, out): the signature (RFC 8032 5.1.6) into out[0..64). */
void xs_native_crypto_ed25519_sign(xsMachine *the)
{
	uint8_t *out = native_arg_out(the, 2, crypto_sign_ed25519_BYTES, "ed25519: out");
	const uint8_t *seed = native_arg_exact(the, 0, crypto_sign_ed25519_SEEDBYTES, 0, "ed25519: seed");
	xsUnsignedValue length;
	const uint8_t *message = native_arg_buffer(the, 1, &length, 0);
	uint8_t publicKey[crypto_sign_ed25519_PUBLICKEYBYTES];
	uint8_t secret[crypto_sign_ed25519_SECRETKEYBYTES];
	crypto_sign_ed25519_seed_keypair(publicKey, secret, seed);
	crypto_sign_ed25519_detached(out, NULL, message, length, secret);
	sodium_memzero(secret, sizeof(secret));
}

/* ed25519Verify(publicKey, message, signature) -> boolean. libsodium refuses small-order and
 * non-canonical public keys, small-order R and S >= L. Wrong lengths give false, not an error. */
void xs_native_crypto_ed25519_verify(xsMachine *the)
{
	xsUnsignedValue keyLength, messageLength, signatureLength;
	const uint8_t *publicKey = native_arg_buffer(the, 0, &keyLength, 0);
	const uint8_t *message = native_arg_buffer(the, 1, &messageLength, 0);
	const uint8_t *signature = native_arg_buffer(the, 2, &signatureLength, 0);
	int ok = keyLength == crypto_sign_ed25519_PUBLICKEYBYTES && signatureLength == crypto_sign_ed25519_BYTES &&
		crypto_sign_ed25519_verify_detached(signature, message, messageLength, publicKey) == 0;
	xsmcSetBoolean(xsResult, ok);
}

/* chacha20(key, nonce, counter, input, output): ChaCha20 with the original layout (64-bit block
 * counter, 8-byte nonce) as chacha20-poly1305@openssh.com uses it; XORs the key stream from block
 * `counter` (0 <= counter < 2^32, carrying into the high word) into all of input, writing
 * input.length bytes of output. output may be input itself. */
void xs_native_crypto_chacha20(xsMachine *the)
{
	double counter;
	xsUnsignedValue inputLength, outputLength;
	uint8_t *output;
	const uint8_t *key, *nonce, *input;
	if (xsmcArgc < 5)
		xsTypeError("chacha20: 5 arguments expected");
	counter = native_arg_integer(the, 2, 4294967295.0, "chacha20: counter");
	output = native_arg_buffer(the, 4, &outputLength, 1);
	key = native_arg_exact(the, 0, crypto_stream_chacha20_KEYBYTES, 0, "chacha20: key");
	nonce = native_arg_exact(the, 1, crypto_stream_chacha20_NONCEBYTES, 0, "chacha20: nonce");
	input = native_arg_buffer(the, 3, &inputLength, 0);
	if (outputLength < inputLength)
		xsRangeError("chacha20: output shorter than input");
	if (inputLength)
		crypto_stream_chacha20_xor_ic(output, input, inputLength, nonce, (uint64_t)counter, key);
}

/* poly1305(key, message, out): the Poly1305 tag (RFC 8439 2.5) into out[0..16). */
void xs_native_crypto_poly1305(xsMachine *the)
{
	uint8_t *out = native_arg_out(the, 2, crypto_onetimeauth_poly1305_BYTES, "poly1305: out");
	const uint8_t *key = native_arg_exact(the, 0, crypto_onetimeauth_poly1305_KEYBYTES, 0, "poly1305: key");
	xsUnsignedValue length;
	const uint8_t *message = native_arg_buffer(the, 1, &length, 0);
	crypto_onetimeauth_poly1305(out, message, length, key);
}

const native_crypto_hook native_crypto_hooks[] = {
	{ "random", xs_native_crypto_random, 1 },
	{ "sha256", xs_native_crypto_sha256, 2 },
	{ "sha512", xs_native_crypto_sha512, 2 },
	{ "x25519", xs_native_crypto_x25519, 3 },
	{ "x25519Base", xs_native_crypto_x25519_base, 2 },
	{ "ed25519Public", xs_native_crypto_ed25519_public, 2 },
	{ "ed25519Sign", xs_native_crypto_ed25519_sign, 3 },
	{ "ed25519Verify", xs_native_crypto_ed25519_verify, 3 },
	{ "chacha20", xs_native_crypto_chacha20, 5 },
	{ "poly1305", xs_native_crypto_poly1305, 3 },
	{ NULL, NULL, 0 },
};
