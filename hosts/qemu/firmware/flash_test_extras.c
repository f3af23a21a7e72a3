/*
 * Host objects of the flash self-test image (test/qemu-flash.test.ts): only globalThis.nativeFlash
 * (xs_flash.c). The SSH firmware installs nativeFlash in its own platform_install_extras (xs_ssh.c).
 */
#include "xsmc.h"

void xs_flash_install(xsMachine* the, xsSlot* target);

static void fill_flash(xsMachine* the, xsSlot* target)
{
	xsBeginHost(the); /* xs_flash_install declares its own xsVars */
	xs_flash_install(the, target);
	xsEndHost(the);
}

void platform_install_extras(xsMachine* the)
{
	xsBeginHost(the);
	{
		xsmcVars(1);
		xsmcSetNewObject(xsVar(0));
		fill_flash(the, &xsVar(0));
		xsmcDefine(xsGlobal, xsID("nativeFlash"), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
}
