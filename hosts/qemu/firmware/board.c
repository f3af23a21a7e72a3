/*
 * Board support for QEMU virt (rv32): the console log (QEMU semihosting, or UART0 when QEMU runs
 * without semihosting), the ns16550 UART, CLINT timer, goldfish RTC, test-device exit, trap
 * reporting, picolibc's stdio and system hooks.
 *
 * The log goes through RISC-V semihosting (SYS_WRITE0, `-semihosting-config enable=on,target=native`)
 * so that the machine's only ns16550 is free to be the bridged UART of the SSH console. When QEMU
 * was started without semihosting, the first semihosting call traps as a plain breakpoint: the trap
 * handler notices, skips it, and from then on the log goes to the ns16550 (the debugging layout:
 * `npm run qemu -- --log uart`).
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

/* ---- the console log ---- */

#define SEMIHOST_SYS_WRITE0 0x04
/* Bytes gathered before one SYS_WRITE0 call (each call is a trip out of the emulated CPU). */
#define LOG_LINE 160

static volatile int semihosting_off; /* set by the trap handler when QEMU has no semihosting */
static char log_line[LOG_LINE + 1];
static size_t log_len;

/* The RISC-V semihosting call: slli/ebreak/srai, uncompressed and within one page (aligned), with
 * the operation in a0 and its argument in a1 (the RISC-V semihosting spec, 1.0). */
__attribute__((noinline, aligned(16))) static long semihost_call(long op, const void* arg)
{
	register long a0 __asm__("a0") = op;
	register const void* a1 __asm__("a1") = arg;
	__asm__ volatile(".option push\n.option norvc\n"
	                 "slli x0, x0, 0x1f\nebreak\nsrai x0, x0, 7\n"
	                 ".option pop"
	                 : "+r"(a0)
	                 : "r"(a1)
	                 : "memory");
	return a0;
}

static void log_flush(void)
{
	if (!log_len)
		return;
	if (!semihosting_off) {
		log_line[log_len] = 0;
		semihost_call(SEMIHOST_SYS_WRITE0, log_line);
	}
	if (semihosting_off) /* no semihosting (perhaps found out just now): the UART it is */
		board_uart_write(log_line, log_len);
	log_len = 0;
}

void board_log_putc(char c)
{
	if (c == 0)
		c = ' '; /* SYS_WRITE0 stops at NUL */
	log_line[log_len++] = c;
	if (c == '\n' || log_len == LOG_LINE)
		log_flush();
}

void board_log_write(const char* s, size_t n)
{
	while (n--)
		board_log_putc(*s++);
}

int board_log_on_uart(void)
{
	return semihosting_off;
}

/* picolibc tinystdio: stdout and stderr are the log; stdin reads the UART. */
static int stdio_put(char c, FILE* f)
{
	(void)f;
	board_log_putc(c);
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

static int stdio_flush(FILE* f)
{
	(void)f;
	log_flush();
	return 0;
}

static FILE uart_stdio = FDEV_SETUP_STREAM(stdio_put, stdio_get, stdio_flush, _FDEV_SETUP_RW);
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

static uint64_t idle_ticks;

void board_sleep_until(uint64_t when)
{
	uint64_t start = board_mtime();
	if (start >= when)
		return;
	/* mstatus.MIE stays 0: a pending, enabled interrupt ends wfi without taking a trap. */
	set_mtimecmp(when);
	while (board_mtime() < when)
		__asm__ volatile("wfi");
	set_mtimecmp(UINT64_MAX);
	idle_ticks += board_mtime() - start;
}

uint64_t board_idle_ticks(void)
{
	return idle_ticks;
}

uint64_t board_rtc_ns(void)
{
	uint32_t lo = REG32(BOARD_RTC_BASE + 0x00); /* reading TIME_LOW latches TIME_HIGH */
	uint32_t hi = REG32(BOARD_RTC_BASE + 0x04);
	return ((uint64_t)hi << 32) | lo;
}

void board_exit(int code)
{
	log_flush();
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

#define MCAUSE_BREAKPOINT 3

/* Every trap is fatal (nothing enables interrupts: wfi wakes on pending ones without trapping),
 * except the breakpoint of a semihosting call when QEMU has no semihosting: skip it, log to UART. */
__attribute__((interrupt("machine"), aligned(4))) static void board_trap(void)
{
	uint32_t cause = CSR_READ(mcause), epc = CSR_READ(mepc), tval = CSR_READ(mtval);
	if (cause == MCAUSE_BREAKPOINT && epc >= 4 && *(volatile uint32_t*)(uintptr_t)epc == 0x00100073u &&
	    *(volatile uint32_t*)(uintptr_t)(epc - 4) == 0x01f01013u) { /* slli x0,x0,0x1f; ebreak */
		semihosting_off = 1;
		CSR_WRITE(mepc, epc + 4);
		return;
	}
	printf("\nfatal trap: mcause 0x%lx mepc 0x%08lx mtval 0x%08lx\n", (unsigned long)cause,
	       (unsigned long)epc, (unsigned long)tval);
	board_exit(EXIT_TRAP);
}

uint64_t board_instret(void)
{
	uint32_t hi, lo, hi2;
	do {
		__asm__ volatile(".option push\n.option arch,+zicsr\ncsrr %0, minstreth\ncsrr %1, minstret\ncsrr %2, minstreth\n.option pop"
		                 : "=r"(hi), "=r"(lo), "=r"(hi2));
	} while (hi != hi2);
	return ((uint64_t)hi << 32) | lo;
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
