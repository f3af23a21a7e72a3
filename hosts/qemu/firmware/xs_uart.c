/*
 * The bridged UART: the virt machine's ns16550 (QEMU's first -serial), polled, as XS host functions
 * installed as globalThis.nativeUart; hosts/qemu/uart.ts makes a UartPort of them for the serial
 * console. The console log is elsewhere (semihosting, board.c) unless QEMU runs without it.
 *
 *   nativeUart.open(handlers)          starts polling; handlers: readable(count), writable()
 *   nativeUart.read(buffer) -> n       takes up to buffer.byteLength received bytes
 *   nativeUart.write(view) -> n        puts bytes into the 16-byte transmit FIFO while it reports
 *                                      room (THRE); fewer than offered: writable() follows
 *   nativeUart.setLine(baud, dataBits, parity, stopBits)   parity 0 none, 1 odd, 2 even
 *   nativeUart.setBreak(on)            LCR break bit
 *
 * Receive: the poller moves the FIFO into a ring of UART_RING bytes and calls readable(count) while
 * the ring holds bytes. QEMU stops feeding the FIFO while it is full (its chardev backs off), so a
 * slow reader here slows the host side down instead of losing bytes, like RTS/CTS would.
 */
#include <string.h>

#include "xsmc.h"
#include "board.h"
#include "xs_engine.h"

#define REG8(addr) (*(volatile uint8_t*)(uintptr_t)(addr))
enum { UART_RBR = 0, UART_THR = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1, UART_FCR = 2, UART_LCR = 3, UART_LSR = 5 };
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LCR_DLAB 0x80
#define LCR_BREAK 0x40
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_FCR_TRIGGER_14 0xC0
/* The ns16550A's transmit FIFO: the most one THRE lets us write. */
#define UART_FIFO 16
/* Received bytes held between polls (a power of two). */
#define UART_RING 512
/* QEMU virt's ns16550 clock: baud = UART_BAUDBASE / divisor (hw/riscv/virt.c). */
#define UART_BAUDBASE 399193u

static uint8_t ring[UART_RING];
static uint32_t ring_head, ring_tail; /* head: next write; free-running */
static xsSlot handlers;
static xsMachine* uart_machine;
static int want_writable;
static uint8_t lcr = 0x03;

static int call_handler(const char* name, int argc, xsIntegerValue a)
{
	xsMachine* the = uart_machine;
	int ok = 1;
	xsBeginHost(the);
	{
		xsmcVars(2);
		xsTry {
			xsmcSetInteger(xsVar(1), a);
			xsVar(0) = handlers;
			if (argc)
				xsmcCall_noResult(xsVar(0), xsID(name), &xsVar(1), NULL);
			else
				xsmcCall_noResult(xsVar(0), xsID(name), NULL);
		}
		xsCatch {
			engine_report_exception(the, &xsException, "exception in a UART handler");
			ok = 0;
		}
	}
	xsEndHost(the);
	return ok;
}

static int uart_poller(void* context)
{
	(void)context;
	int work = 0;
	while (ring_head - ring_tail < UART_RING && (REG8(BOARD_UART0_BASE + UART_LSR) & LSR_DR)) {
		ring[ring_head++ & (UART_RING - 1)] = REG8(BOARD_UART0_BASE + UART_RBR);
		work = 1;
	}
	if (ring_head != ring_tail) {
		uint32_t before = ring_tail;
		call_handler("readable", 1, (xsIntegerValue)(ring_head - ring_tail));
		if (ring_tail != before)
			work = 1;
	}
	if (want_writable && (REG8(BOARD_UART0_BASE + UART_LSR) & LSR_THRE)) {
		want_writable = 0;
		call_handler("writable", 0, 0);
		work = 1;
	}
	return work;
}

static void xs_uart_open(xsMachine* the)
{
	if (uart_machine)
		xsUnknownError("the UART is open already");
	if (xsmcArgc < 1)
		xsTypeError("open(handlers)");
	if (board_log_on_uart())
		xsUnknownError("the UART carries the console log (QEMU runs without semihosting)");
	handlers = xsArg(0);
	xsRemember(handlers);
	uart_machine = the;
	REG8(BOARD_UART0_BASE + UART_IER) = 0x00;
	/* FIFOs on and cleared, receive trigger level 14 (FCR bits 7:6 = 11). QEMU's 16550 offers its
	 * chardev only (trigger level - bytes held) bytes at a time: with the default level of 1 it took
	 * one byte per poll (about 1 KB/s of device output at the 1 ms poll); at 14 it fills the FIFO. */
	REG8(BOARD_UART0_BASE + UART_FCR) = UART_FCR_ENABLE_CLEAR | UART_FCR_TRIGGER_14;
	if (platform_add_poller(uart_poller, NULL) != 0)
		xsUnknownError("no poller slot for the UART");
}

static void xs_uart_read(xsMachine* the)
{
	if (xsmcArgc < 1)
		xsTypeError("read(buffer)");
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	uint8_t* out = data;
	xsUnsignedValue n = 0;
	while (n < length && ring_tail != ring_head)
		out[n++] = ring[ring_tail++ & (UART_RING - 1)];
	xsmcSetInteger(xsResult, (xsIntegerValue)n);
}

static void xs_uart_write(xsMachine* the)
{
	if (xsmcArgc < 1)
		xsTypeError("write(view)");
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(0), &data, &length);
	const uint8_t* in = data;
	xsUnsignedValue n = 0;
	while (n < length && (REG8(BOARD_UART0_BASE + UART_LSR) & LSR_THRE)) {
		for (int i = 0; i < UART_FIFO && n < length; i++)
			REG8(BOARD_UART0_BASE + UART_THR) = in[n++];
	}
	if (n < length)
		want_writable = 1;
	xsmcSetInteger(xsResult, (xsIntegerValue)n);
}

static void xs_uart_set_line(xsMachine* the)
{
	if (xsmcArgc < 4)
		xsTypeError("setLine(baud, dataBits, parity, stopBits)");
	int baud = xsmcToInteger(xsArg(0)), bits = xsmcToInteger(xsArg(1));
	int parity = xsmcToInteger(xsArg(2)), stop = xsmcToInteger(xsArg(3));
	if (baud <= 0 || bits < 5 || bits > 8 || parity < 0 || parity > 2 || stop < 1 || stop > 2)
		xsRangeError("bad line settings");
	uint32_t divisor = (UART_BAUDBASE + (uint32_t)baud / 2) / (uint32_t)baud;
	if (divisor == 0)
		divisor = 1;
	if (divisor > 0xffff)
		divisor = 0xffff;
	lcr = (uint8_t)((bits - 5) | (stop == 2 ? 0x04 : 0) | (parity ? 0x08 : 0) | (parity == 2 ? 0x10 : 0));
	REG8(BOARD_UART0_BASE + UART_LCR) = lcr | LCR_DLAB;
	REG8(BOARD_UART0_BASE + UART_DLL) = (uint8_t)divisor;
	REG8(BOARD_UART0_BASE + UART_DLM) = (uint8_t)(divisor >> 8);
	REG8(BOARD_UART0_BASE + UART_LCR) = lcr;
}

static void xs_uart_set_break(xsMachine* the)
{
	int on = xsmcArgc > 0 && xsmcTest(xsArg(0));
	REG8(BOARD_UART0_BASE + UART_LCR) = on ? (lcr | LCR_BREAK) : lcr;
}

void xs_uart_install(xsMachine* the, xsSlot* target)
{
	static const struct {
		const char* name;
		xsCallback callback;
		int length;
	} functions[] = {
		{ "open", xs_uart_open, 1 },       { "read", xs_uart_read, 1 },          { "write", xs_uart_write, 1 },
		{ "setLine", xs_uart_set_line, 4 }, { "setBreak", xs_uart_set_break, 1 },
	};
	xsmcVars(1);
	for (unsigned i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		xsVar(0) = xsNewHostFunction(functions[i].callback, functions[i].length);
		xsmcSet(*target, xsID(functions[i].name), xsVar(0));
	}
}
