/*
 * Host objects of the crypto self-test image (test/qemu-crypto.test.ts): only globalThis.nativeCrypto,
 * the hooks of modules/crypto/native_crypto.c (libsodium) by their names, as the SSH firmware
 * installs them (xs_ssh.c), without lwIP, the UART bridge or the flash store.
 */
#include "xsmc.h"
#include "native_crypto.h"

void platform_install_extras(xsMachine* the)
{
	xsBeginHost(the);
	{
		xsmcVars(2);
		xsmcSetNewObject(xsVar(0));
		for (const native_crypto_hook* h = native_crypto_hooks; h->name; h++) {
			xsVar(1) = xsNewHostFunction(h->callback, h->length);
			xsmcSet(xsVar(0), xsID(h->name), xsVar(1));
		}
		xsmcDefine(xsGlobal, xsID("nativeCrypto"), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
}
