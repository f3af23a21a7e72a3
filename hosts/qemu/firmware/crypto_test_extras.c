/*
 * Host objects of the crypto self-test image (test/qemu-crypto.test.ts):
 *
 *   nativeCrypto   the hooks of modules/crypto/native_crypto.c, native_psa.c and native_mlkem.c by
 *                  their names, as the SSH firmware installs them (xs_ssh.c), without lwIP, the UART
 *                  bridge or the flash store;
 *   nativeProbe    what a measurement of one primitive needs: instructions() retired so far (exact
 *                  under -icount shift=0), paintStack() then stackPeak() (the C stack's deepest use
 *                  in bytes since the paint), measureLentStack(on) then lentStackPeak() (bytes used
 *                  of the stack the last native_call_with_stack() lent; measuring paints the whole
 *                  stack, which costs instructions), heapPeak() (the C heap's high-water mark: the
 *                  most of the fixed heap region sbrk ever handed out).
 */
#include <unistd.h>

#include "xsmc.h"
#include "board.h"
#include "native_crypto.h"

static void xs_probe_instructions(xsMachine* the)
{
	xsmcSetNumber(xsResult, (double)board_instret());
}

static void xs_probe_paint_stack(xsMachine* the)
{
	board_paint_stack();
}

static void xs_probe_stack_peak(xsMachine* the)
{
	xsmcSetNumber(xsResult, (double)board_stack_peak());
}

static void xs_probe_measure_lent_stack(xsMachine* the)
{
	board_measure_lent_stack(xsmcArgc > 0 && xsmcTest(xsArg(0)));
}

static void xs_probe_lent_stack_peak(xsMachine* the)
{
	xsmcSetNumber(xsResult, (double)board_lent_stack_peak());
}

static void xs_probe_heap_peak(xsMachine* the)
{
	xsmcSetNumber(xsResult, (double)((char*)sbrk(0) - __heap_start));
}

static const native_crypto_hook probe_hooks[] = {
	{ "instructions", xs_probe_instructions, 0 },
	{ "paintStack", xs_probe_paint_stack, 0 },
	{ "stackPeak", xs_probe_stack_peak, 0 },
	{ "measureLentStack", xs_probe_measure_lent_stack, 1 },
	{ "lentStackPeak", xs_probe_lent_stack_peak, 0 },
	{ "heapPeak", xs_probe_heap_peak, 0 },
	{ NULL, NULL, 0 },
};

static void install(xsMachine* the, const char* name, const native_crypto_hook* const* tables, size_t count)
{
	xsBeginHost(the);
	{
		xsmcVars(2);
		xsmcSetNewObject(xsVar(0));
		for (size_t t = 0; t < count; t++)
			for (const native_crypto_hook* h = tables[t]; h->name; h++) {
				xsVar(1) = xsNewHostFunction(h->callback, h->length);
				xsmcSet(xsVar(0), xsID(h->name), xsVar(1));
			}
		xsmcDefine(xsGlobal, xsID(name), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
}

void platform_install_extras(xsMachine* the)
{
	static const native_crypto_hook* const crypto[] = { native_crypto_hooks, native_psa_hooks, native_mlkem_hooks };
	static const native_crypto_hook* const probe[] = { probe_hooks };
	install(the, "nativeCrypto", crypto, sizeof(crypto) / sizeof(crypto[0]));
	install(the, "nativeProbe", probe, 1);
}
