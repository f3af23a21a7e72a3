/* Native crypto hooks: XS host functions (xsmc API) over libsodium, for the firmware hosts.
 * The TypeScript side is modules/crypto/native.ts (NativeCryptoHooks names the same functions).
 *
 * Conventions (every hook):
 * - outputs go into buffers the caller passes (ArrayBuffer, Uint8Array or DataView; views may
 *   start at any byteOffset); hooks never allocate in the XS heap, so buffer pointers stay valid
 *   for the whole call;
 * - lengths are checked: a wrong one throws RangeError, a non-buffer TypeError;
 * - x25519 and ed25519Verify return booleans instead of throwing (see native.ts).
 *
 * Each platform defines native_random(); how the hooks reach JavaScript is the platform's choice:
 * native_crypto_hooks lists them with their JS names (xsrun installs them as globalThis.nativeCrypto);
 * a Moddable manifest can bind the xs_native_crypto_* functions with `@ "name"` instead. */

#ifndef NATIVE_CRYPTO_H
#define NATIVE_CRYPTO_H

#include <stddef.h>
#include "xs.h"

/* Fills buffer with `size` bytes from the platform's cryptographically secure entropy source. */
void native_random(void *buffer, size_t size);

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

typedef struct {
	const char *name;      /* the property name on the hooks object */
	xsCallback callback;
	int length;            /* the function's declared argument count */
} native_crypto_hook;

/* Every hook, ending with { NULL, NULL, 0 }. */
extern const native_crypto_hook native_crypto_hooks[];

#endif /* NATIVE_CRYPTO_H */
