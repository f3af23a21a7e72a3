/*
 * Board support for QEMU virt (rv32): UART0 console, CLINT timer, goldfish RTC, test-device exit,
 * trap reporting, picolibc's stdio and system hooks.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "board.h"

#define REG8(addr) (*(volatile uint8_t*)(uintptr_t)(addr))
#define REG32(addr) (*(volatile uint32_t*)(uintptr_t)(addr))

/* CSR access. The multilib is rv32imac without zicsr in -march, so enable it per instruction. */
#define CSR_READ(name) ({ uint32_t v_; __asm__ volatile(".option push\n.option arch,+zicsr\ncsrr %0, " #name "\n.option pop" : "=r"(v_)); v_; })
#define CSR_WRITE(name, v) __asm__ volatile(".option push\n.option arch,+zicsr\ncsrw " #name ", %0\n.option pop" :: "r"((uint32_t)(v)))
#define CSR_SET(name, v) __asm__ volatile(".option push\n.option arch,+zicsr\ncsrs " #name ", %0\n.option pop" :: "r"((uint32_t)(v)))

#define MIE_MTIE (1u << 7)

/* ns16550a registers (byte spaced on virt). */
enum { UART_RBR = 0, UART_THR = 0, UART_IER = 1, UART_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5 };
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20

static void uart_init(void)
{
	REG8(BOARD_UART0_BASE + UART_IER) = 0x00;  /* polled */
	REG8(BOARD_UART0_BASE + UART_LCR) = 0x03;  /* 8N1 (QEMU ignores the divisor) */
	REG8(BOARD_UART0_BASE + UART_FCR) = 0x07;  /* FIFOs on and cleared */
	REG8(BOARD_UART0_BASE + UART_MCR) = 0x03;  /* DTR, RTS */
}

void board_uart_putc(char c)
{
	while (!(REG8(BOARD_UART0_BASE + UART_LSR) & UART_LSR_THRE))
		;
	REG8(BOARD_UART0_BASE + UART_THR) = (uint8_t)c;
}

int board_uart_getc(void)
{
	if (REG8(BOARD_UART0_BASE + UART_LSR) & UART_LSR_DR)
		return REG8(BOARD_UART0_BASE + UART_RBR);
	return -1;
}

void board_uart_write(const char* s, size_t n)
{
	while (n--)
		board_uart_putc(*s++);
}

/* picolibc tinystdio: stdin, stdout and stderr are all UART0. */
static int stdio_put(char c, FILE* f)
{
	(void)f;
	board_uart_putc(c);
	return (unsigned char)c;
}

static int stdio_get(FILE* f)
{
	(void)f;
	int c;
	while ((c = board_uart_getc()) < 0)
		;
	return c;
}

static FILE uart_stdio = FDEV_SETUP_STREAM(stdio_put, stdio_get, NULL, _FDEV_SETUP_RW);
FILE* const stdin = &uart_stdio;
FILE* const stdout = &uart_stdio;
FILE* const stderr = &uart_stdio;

uint64_t board_mtime(void)
{
	uint32_t hi, lo;
	do {
		hi = REG32(BOARD_MTIME + 4);
		lo = REG32(BOARD_MTIME);
	} while (hi != REG32(BOARD_MTIME + 4));
	return ((uint64_t)hi << 32) | lo;
}

static void set_mtimecmp(uint64_t when)
{
	/* Never let the compare value pass through a smaller 64-bit value while writing halves. */
	REG32(BOARD_MTIMECMP + 4) = 0xffffffffu;
	REG32(BOARD_MTIMECMP) = (uint32_t)when;
	REG32(BOARD_MTIMECMP + 4) = (uint32_t)(when >> 32);
}

void board_sleep_until(uint64_t when)
{
	if (board_mtime() >= when)
		return;
	/* mstatus.MIE stays 0: a pending, enabled interrupt ends wfi without taking a trap. */
	set_mtimecmp(when);
	while (board_mtime() < when)
		__asm__ volatile("wfi");
	set_mtimecmp(UINT64_MAX);
}

uint64_t board_rtc_ns(void)
{
	uint32_t lo = REG32(BOARD_RTC_BASE + 0x00); /* reading TIME_LOW latches TIME_HIGH */
	uint32_t hi = REG32(BOARD_RTC_BASE + 0x04);
	return ((uint64_t)hi << 32) | lo;
}

void board_exit(int code)
{
	fflush(stdout);
	if (code == 0)
		REG32(BOARD_TEST_BASE) = 0x5555;
	else
		REG32(BOARD_TEST_BASE) = ((uint32_t)(code & 0xffff) << 16) | 0x3333;
	for (;;)
		__asm__ volatile("wfi");
}

/* picolibc's exit() ends here. */
void _exit(int code)
{
	board_exit(code);
}

int gettimeofday(struct timeval* restrict tv, void* restrict tz)
{
	(void)tz;
	if (tv) {
		uint64_t ns = board_rtc_ns();
		tv->tv_sec = (time_t)(ns / 1000000000u);
		tv->tv_usec = (suseconds_t)((ns / 1000u) % 1000000u);
	}
	return 0;
}

/* Every trap is fatal: nothing enables interrupts (wfi wakes on pending ones without trapping). */
__attribute__((interrupt("machine"), aligned(4))) static void board_trap(void)
{
	uint32_t cause = CSR_READ(mcause), epc = CSR_READ(mepc), tval = CSR_READ(mtval);
	printf("\nfatal trap: mcause 0x%lx mepc 0x%08lx mtval 0x%08lx\n", (unsigned long)cause,
	       (unsigned long)epc, (unsigned long)tval);
	board_exit(EXIT_TRAP);
}

#define STACK_PAINT 0x5a

void board_paint_stack(void)
{
	char* sp = (char*)__builtin_frame_address(0);
	char* p = __stack_limit;
	while (p < sp - 256)
		*p++ = STACK_PAINT;
}

size_t board_stack_peak(void)
{
	char* p = __stack_limit;
	while (p < __stack && *p == STACK_PAINT)
		p++;
	return (size_t)(__stack - p);
}

void board_init(void)
{
	CSR_WRITE(mtvec, (uint32_t)(uintptr_t)board_trap);
	uart_init();
	set_mtimecmp(UINT64_MAX);
	CSR_SET(mie, MIE_MTIE);
}
