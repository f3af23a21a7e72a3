/*
 * The SSH firmware's host objects (platform_install_extras, called when the machine is created):
 *
 *   nativeCrypto   the hooks of modules/crypto/native_crypto.c (libsodium), native_psa.c (PSA Crypto
 *                  over Mbed TLS) and native_mlkem.c (libcrux ML-KEM-768), by their names
 *   nativeNet      TCP over lwIP (xs_net.c)
 *   nativeUart     the bridged ns16550 (xs_uart.c)
 *   nativeFlash    the NOR flash bank of the flash store (xs_flash.c); absent when QEMU has no
 *                  pflash drive on unit 1 (the script then falls back to a store in RAM)
 *   nativeBoard    memory() heap figures, instructions() retired so far, authorizedKeys() the text
 *                  the run script loaded at BOARD_KEYS_ADDR (an ArrayBuffer, or undefined), logOnUart(),
 *                  xsVersion
 */
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "xsmc.h"
#include "board.h"
#include "native_crypto.h"
#include "xs_engine.h"
#include "boot_select.h"

void xs_net_install(xsMachine* the, xsSlot* target);
void xs_uart_install(xsMachine* the, xsSlot* target);
void xs_flash_install(xsMachine* the, xsSlot* target);

static void set_number(xsMachine* the, xsSlot* object, const char* name, double value)
{
	xsmcSetNumber(xsVar(1), value);
	xsmcSet(*object, xsID(name), xsVar(1));
}

/* memory([collect]) -> { chunks, chunksPeak, slots, slotsPeak, slotSize, mallocInUse, mallocPeak, heapSize,
 * stackPeak, stack, stackPeakSlots, stackNow, keys }: XS chunks in bytes, slots as a count, the XS stack in
 * slots, keys (property names and symbols) made so far;
 * malloc in use now and the heap's high-water mark
 * (the most of the fixed heap region ever handed out: XS + lwIP's pbufs are static, see link.ld).
 * With a true argument the garbage is collected first, so chunks and slots are what is live.
 * chunksAtMark, slotsAtMark, chunksPeakSinceMark, slotsPeakSinceMark: see markPeaks. */
static void xs_board_memory(xsMachine* the)
{
	EngineMemory m;
	struct mallinfo mi;
	if (xsmcArgc > 0 && xsmcTest(xsArg(0)))
		xsCollectGarbage(); /* live figures: chunks compacted, free slots back on the free list */
	mi = mallinfo();
	engine_memory(the, &m);
	xsmcVars(2);
	xsmcSetNewObject(xsVar(0));
	set_number(the, &xsVar(0), "chunks", m.chunks);
	set_number(the, &xsVar(0), "chunksPeak", m.chunks_peak);
	set_number(the, &xsVar(0), "slots", m.slots);
	set_number(the, &xsVar(0), "slotsPeak", m.slots_peak);
	set_number(the, &xsVar(0), "slotSize", m.slot_size);
	set_number(the, &xsVar(0), "stack", m.stack);
	set_number(the, &xsVar(0), "stackPeakSlots", m.stack_peak);
	set_number(the, &xsVar(0), "keys", m.keys);
	set_number(the, &xsVar(0), "stackNow", m.stack_now);
	set_number(the, &xsVar(0), "mallocInUse", mi.uordblks);
	set_number(the, &xsVar(0), "mallocPeak", (double)((char*)sbrk(0) - __heap_start));
	set_number(the, &xsVar(0), "heapSize", (double)(__heap_end - __heap_start));
	set_number(the, &xsVar(0), "stackPeak", board_stack_peak());
	set_number(the, &xsVar(0), "chunksAtMark", m.chunks_mark);
	set_number(the, &xsVar(0), "slotsAtMark", m.slots_mark);
	set_number(the, &xsVar(0), "chunksPeakSinceMark", m.chunks_peak_mark);
	set_number(the, &xsVar(0), "slotsPeakSinceMark", m.slots_peak_mark);
	xsResult = xsVar(0);
}

/* markPeaks(): a new interval for chunksPeakSinceMark / slotsPeakSinceMark (engine_mark_peaks);
 * chunksPeak and slotsPeak stay the peaks since boot. */
static void xs_board_mark_peaks(xsMachine* the)
{
	engine_mark_peaks(the);
}

/* instructions() -> instructions retired since reset (minstret, 64-bit, as a double), less the idle
 * time QEMU counts as instructions under -icount shift=0 (1 per ns asleep): the CPU's own work. */
static void xs_board_instructions(xsMachine* the)
{
	double idle_ns = (double)board_idle_ticks() * (1e9 / BOARD_MTIME_HZ);
	double retired = (double)board_instret();
	xsmcSetNumber(xsResult, xsmcArgc > 0 && xsmcTest(xsArg(0)) ? retired : retired - idle_ns);
}

static void xs_board_authorized_keys(xsMachine* the)
{
	const volatile uint8_t* p = (const volatile uint8_t*)(uintptr_t)BOARD_KEYS_ADDR;
	for (int i = 0; i < 8; i++)
		if (p[i] != (uint8_t)BOARD_KEYS_MAGIC[i])
			return; /* undefined: nothing loaded */
	uint32_t length = (uint32_t)p[8] | ((uint32_t)p[9] << 8) | ((uint32_t)p[10] << 16) | ((uint32_t)p[11] << 24);
	if (length > BOARD_KEYS_MAX)
		xsRangeError("authorized_keys: %u bytes, at most %u", (unsigned)length, (unsigned)BOARD_KEYS_MAX);
	xsmcSetArrayBuffer(xsResult, (void*)(uintptr_t)(BOARD_KEYS_ADDR + 12), length);
}

static void xs_board_log_on_uart(xsMachine* the)
{
	xsmcSetBoolean(xsResult, board_log_on_uart());
}

/* boot() -> { slot (-1: factory), label, state ("trial" | "valid"), version, note }: what the boot
 * selector chose (boot_select.c). */
static void xs_board_boot(xsMachine* the)
{
	const BootChoice* c = boot_choice();
	xsmcVars(2);
	xsmcSetNewObject(xsVar(0));
	set_number(the, &xsVar(0), "slot", c->slot);
	xsmcSetString(xsVar(1), (char*)c->label);
	xsmcSet(xsVar(0), xsID("label"), xsVar(1));
	xsmcSetString(xsVar(1), (char*)c->state);
	xsmcSet(xsVar(0), xsID("state"), xsVar(1));
	xsmcSetString(xsVar(1), (char*)c->version);
	xsmcSet(xsVar(0), xsID("version"), xsVar(1));
	xsmcSetString(xsVar(1), (char*)c->note);
	xsmcSet(xsVar(0), xsID("note"), xsVar(1));
	xsResult = xsVar(0);
}

/* reboot(): ends the firmware with EXIT_REBOOT; the run script boots the machine again. */
static void xs_board_reboot(xsMachine* the)
{
	platform_finish(EXIT_REBOOT, "reboot");
}

static void install_object(xsMachine* the, const char* name, void (*fill)(xsMachine*, xsSlot*))
{
	xsBeginHost(the);
	{
		xsmcVars(1);
		xsmcSetNewObject(xsVar(0));
		fill(the, &xsVar(0));
		xsmcDefine(xsGlobal, xsID(name), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
}

static void fill_crypto(xsMachine* the, xsSlot* target)
{
	static const native_crypto_hook* const tables[] = { native_crypto_hooks, native_psa_hooks, native_mlkem_hooks };
	xsBeginHost(the);
	{
		xsmcVars(1);
		for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
			for (const native_crypto_hook* h = tables[t]; h->name; h++) {
				xsVar(0) = xsNewHostFunction(h->callback, h->length);
				xsmcSet(*target, xsID(h->name), xsVar(0));
			}
	}
	xsEndHost(the);
}

static void fill_net(xsMachine* the, xsSlot* target)
{
	xsBeginHost(the);
	xs_net_install(the, target);
	xsEndHost(the);
}

static void fill_uart(xsMachine* the, xsSlot* target)
{
	xsBeginHost(the);
	xs_uart_install(the, target);
	xsEndHost(the);
}

static void fill_board(xsMachine* the, xsSlot* target)
{
	xsBeginHost(the);
	{
		xsmcVars(1);
		xsVar(0) = xsNewHostFunction(xs_board_memory, 0);
		xsmcSet(*target, xsID("memory"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_mark_peaks, 0);
		xsmcSet(*target, xsID("markPeaks"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_instructions, 0);
		xsmcSet(*target, xsID("instructions"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_authorized_keys, 0);
		xsmcSet(*target, xsID("authorizedKeys"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_boot, 0);
		xsmcSet(*target, xsID("boot"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_reboot, 0);
		xsmcSet(*target, xsID("reboot"), xsVar(0));
		xsVar(0) = xsNewHostFunction(xs_board_log_on_uart, 0);
		xsmcSet(*target, xsID("logOnUart"), xsVar(0));
		xsmcSetString(xsVar(0), (char*)engine_version());
		xsmcSet(*target, xsID("xsVersion"), xsVar(0));
	}
	xsEndHost(the);
}

static void fill_flash(xsMachine* the, xsSlot* target)
{
	xsBeginHost(the); /* xs_flash_install declares its own xsVars */
	xs_flash_install(the, target);
	xsEndHost(the);
}

/* nativeFlash only when the bank answers: xs_flash_install throws otherwise (reported on the log). */
static void install_flash(xsMachine* the)
{
	xsBeginHost(the);
	{
		xsTry {
			install_object(the, "nativeFlash", fill_flash);
		}
		xsCatch {
			engine_report_exception(the, &xsException, "no flash store");
		}
	}
	xsEndHost(the);
}

void platform_install_extras(xsMachine* the)
{
	install_flash(the);
	install_object(the, "nativeCrypto", fill_crypto);
	install_object(the, "nativeNet", fill_net);
	install_object(the, "nativeUart", fill_uart);
	install_object(the, "nativeBoard", fill_board);
}
