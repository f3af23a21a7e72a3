/*
 * Host objects of the flash self-test image (test/qemu-flash.test.ts, bench/firmware.ts):
 * globalThis.nativeFlash (xs_flash.c) and, for the bench only, nativeFlashBench.program(offset,
 * bytes): erases the blocks and programs them from one static buffer in FLASH_BENCH_PIECE writes in a
 * C loop, the raw speed of the emulated NOR flash that the store's own throughput is compared with;
 * returns [nanoseconds of wall clock (the virt RTC), guest instructions]. The SSH firmware installs
 * nativeFlash in its own platform_install_extras (xs_ssh.c) and has no bench hook.
 */
#include <string.h>

#include "xsmc.h"
#include "board.h"
#include "pflash.h"

/* The piece the store writes per request on a board (BOARD_TRANSFER_LENGTH). */
#define FLASH_BENCH_PIECE 4096u

static uint8_t bench_piece[FLASH_BENCH_PIECE];

static void xs_flash_bench_program(xsMachine* the)
{
	uint32_t offset = (uint32_t)xsmcToInteger(xsArg(0)), bytes = (uint32_t)xsmcToInteger(xsArg(1));
	uint32_t block = pflash_erase_size();
	if (block == 0 || offset % block != 0 || bytes % block != 0 || offset + bytes > pflash_size() || offset + bytes < offset)
		xsRangeError("benchProgram: whole erase blocks inside the bank");
	for (uint32_t i = 0; i < FLASH_BENCH_PIECE; i++)
		bench_piece[i] = (uint8_t)(0xA5 ^ (i * 7));
	uint64_t t0 = board_rtc_ns(), i0 = board_instret();
	for (uint32_t at = offset; at < offset + bytes; at += block)
		if (pflash_erase(at) != PFLASH_OK) xsUnknownError("benchProgram: erase failed");
	for (uint32_t at = offset; at < offset + bytes; at += FLASH_BENCH_PIECE)
		if (pflash_program(at, bench_piece, FLASH_BENCH_PIECE) != PFLASH_OK) xsUnknownError("benchProgram: program failed");
	uint64_t t1 = board_rtc_ns(), i1 = board_instret();
	xsmcVars(1);
	xsmcSetNewArray(xsResult, 2);
	xsmcSetNumber(xsVar(0), (double)(t1 - t0));
	xsmcSetIndex(xsResult, 0, xsVar(0));
	xsmcSetNumber(xsVar(0), (double)(i1 - i0));
	xsmcSetIndex(xsResult, 1, xsVar(0));
}

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
		xsmcVars(2);
		xsmcSetNewObject(xsVar(0));
		fill_flash(the, &xsVar(0));
		xsmcDefine(xsGlobal, xsID("nativeFlash"), xsVar(0), xsDontEnum);
		xsmcSetNewObject(xsVar(0));
		xsVar(1) = xsNewHostFunction(xs_flash_bench_program, 2);
		xsmcSet(xsVar(0), xsID("program"), xsVar(1));
		xsmcDefine(xsGlobal, xsID("nativeFlashBench"), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
}
