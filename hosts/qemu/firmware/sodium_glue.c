/*
 * What libsodium needs from its platform, for the parts the firmware compiles (hosts/qemu/sodium.ts):
 * randombytes_buf from the board's DRBG (random.c) and sodium_misuse as a fatal exit.
 */
#include <stdio.h>

#include "board.h"

void randombytes_buf(void* const buf, const size_t size)
{
	native_random(buf, size);
}

void sodium_misuse(void)
{
	printf("fatal: libsodium misuse\n");
	board_exit(EXIT_BOOT);
}
