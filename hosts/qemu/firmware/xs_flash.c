/*
 * The flash bank (pflash.c) as XS host functions, for hosts/qemu/flash.ts (a NorFlash for
 * modules/files/flashfs.ts). xs_flash_install(the, target) fills an object (the SSH firmware
 * installs it as globalThis.nativeFlash) with:
 *
 *   size, eraseSize       the bank's bytes and erase block (numbers)
 *   read(offset, buffer)      copies buffer.length bytes at offset into buffer
 *   program(offset, buffer)   programs buffer at offset (bits only go from 1 to 0)
 *   erase(offset)             erases the block at offset (a multiple of eraseSize) to 0xFF
 *   stats()                   { wordsProgrammed, blocksErased, errors }
 *
 * Buffers: ArrayBuffer, typed array or DataView. Offsets are read (and checked to be integers) before
 * any buffer pointer is taken, and nothing allocates while a pointer is held: XS may move buffers
 * when it allocates. Out of range: RangeError; a device error: Error("flash: ...").
 */
#include <stdint.h>

#include "xsmc.h"
#include "pflash.h"

void xs_flash_install(xsMachine* the, xsSlot* target);

static uint32_t arg_offset(xsMachine* the, int i)
{
	if (xsmcArgc <= i)
		xsTypeError("flash: offset expected");
	double v = xsmcToNumber(xsArg(i));
	if (!(v >= 0 && v <= (double)pflash_size()) || v != (double)(uint32_t)v)
		xsRangeError("flash: offset %g out of range", v);
	return (uint32_t)v;
}

static void check(xsMachine* the, int rc, const char* what)
{
	if (rc == PFLASH_ERR_RANGE)
		xsRangeError("flash: %s out of range", what);
	if (rc != PFLASH_OK)
		xsUnknownError("flash: %s failed (%d)", what, rc);
}

static void xs_flash_read(xsMachine* the)
{
	uint32_t offset = arg_offset(the, 0);
	if (xsmcArgc < 2)
		xsTypeError("flash: buffer expected");
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(1), &data, &length);
	check(the, pflash_read(offset, data, length), "read");
}

static void xs_flash_program(xsMachine* the)
{
	uint32_t offset = arg_offset(the, 0);
	if (xsmcArgc < 2)
		xsTypeError("flash: buffer expected");
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(1), &data, &length);
	check(the, pflash_program(offset, data, length), "program");
}

static void xs_flash_erase(xsMachine* the)
{
	check(the, pflash_erase(arg_offset(the, 0)), "erase");
}

static void xs_flash_stats(xsMachine* the)
{
	pflash_stats s;
	pflash_get_stats(&s);
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	xsmcSetNumber(xsVar(0), s.words_programmed);
	xsmcSet(xsResult, xsID("wordsProgrammed"), xsVar(0));
	xsmcSetNumber(xsVar(0), s.blocks_erased);
	xsmcSet(xsResult, xsID("blocksErased"), xsVar(0));
	xsmcSetNumber(xsVar(0), s.errors);
	xsmcSet(xsResult, xsID("errors"), xsVar(0));
}

/* Fills `target`; throws when the bank is missing or not the expected chip. */
void xs_flash_install(xsMachine* the, xsSlot* target)
{
	static const struct {
		const char* name;
		xsCallback callback;
		int length;
	} functions[] = {
		{ "read", xs_flash_read, 2 },
		{ "program", xs_flash_program, 2 },
		{ "erase", xs_flash_erase, 1 },
		{ "stats", xs_flash_stats, 0 },
	};
	int rc = pflash_init();
	if (rc != PFLASH_OK)
		xsUnknownError("flash: no usable CFI flash at 0x%08x (%d)", (unsigned)PFLASH_BASE, rc);
	xsmcVars(1);
	for (unsigned i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		xsVar(0) = xsNewHostFunction(functions[i].callback, functions[i].length);
		xsmcSet(*target, xsID(functions[i].name), xsVar(0));
	}
	xsmcSetNumber(xsVar(0), pflash_size());
	xsmcSet(*target, xsID("size"), xsVar(0));
	xsmcSetNumber(xsVar(0), pflash_erase_size());
	xsmcSet(*target, xsID("eraseSize"), xsVar(0));
}
