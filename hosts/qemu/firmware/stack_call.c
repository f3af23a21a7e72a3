/*
 * native_call_with_stack() for the firmware (modules/crypto/native_crypto.h): code with large frames
 * (ML-KEM, ~35 KB) runs on a stack lent from the heap for the call, so the C stack (link.ld's
 * STACK_SIZE, like an ESP32 task's) need not be that deep all the time. The lowest
 * LENT_STACK_GUARD bytes are painted and checked afterwards: a call that went deeper than it asked
 * for stops the firmware instead of corrupting the heap silently. With board_measure_lent_stack(1)
 * the whole stack is painted, and board_lent_stack_peak() tells how much of it the last call used
 * (a measurement's cost, off by default).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "native_crypto.h"

#define LENT_STACK_PAINT 0x5a5a5a5au
/* The RISC-V psABI keeps sp 16-byte aligned. */
#define STACK_ALIGN 16
/* Bytes at the bottom of every lent stack that must still hold the paint afterwards. */
#define LENT_STACK_GUARD 256

static size_t lent_peak;
static int measuring;

/* Calls fn(context) with sp at `top` (16-aligned), back on the caller's stack afterwards. Every
 * caller-saved register is declared clobbered; fn restores the callee-saved ones, sp included. */
static void call_on(void* top, void (*fn)(void*), void* context)
{
	register void* a0 __asm__("a0") = context;
	register void (*a1)(void*) __asm__("a1") = fn;
	register void* a2 __asm__("a2") = top;
	__asm__ volatile(
		"mv t0, sp\n\t"
		"addi sp, a2, -16\n\t"
		"sw t0, 12(sp)\n\t"
		"jalr a1\n\t"
		"lw t0, 12(sp)\n\t"
		"mv sp, t0\n\t"
		: "+r"(a0), "+r"(a1), "+r"(a2)
		:
		: "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a3", "a4", "a5", "a6", "a7", "memory");
}

int native_call_with_stack(size_t bytes, void (*fn)(void* context), void* context)
{
	size_t words = (bytes + LENT_STACK_GUARD) / sizeof(uint32_t);
	uint32_t* stack = malloc(words * sizeof(uint32_t) + STACK_ALIGN);
	uint32_t* top;
	size_t painted, i;
	if (!stack)
		return -1;
	top = (uint32_t*)(((uintptr_t)(stack + words) + STACK_ALIGN - 1) & ~(uintptr_t)(STACK_ALIGN - 1));
	if (top > stack + words + STACK_ALIGN / sizeof(uint32_t))
		top = stack + words;
	painted = measuring ? words : LENT_STACK_GUARD / sizeof(uint32_t);
	for (i = 0; i < painted; i++)
		stack[i] = LENT_STACK_PAINT;
	call_on(top, fn, context);
	for (i = 0; i < LENT_STACK_GUARD / sizeof(uint32_t); i++) {
		if (stack[i] != LENT_STACK_PAINT) {
			printf("fatal: a call needed more than the %u-byte stack it asked for\n", (unsigned)bytes);
			board_exit(EXIT_TRAP);
		}
	}
	if (measuring) {
		for (i = 0; i < words && stack[i] == LENT_STACK_PAINT; i++)
			;
		lent_peak = (size_t)(top - stack - i) * sizeof(uint32_t);
	}
	free(stack);
	return 0;
}

void board_measure_lent_stack(int on)
{
	measuring = on;
	lent_peak = 0;
}

size_t board_lent_stack_peak(void)
{
	return lent_peak;
}
