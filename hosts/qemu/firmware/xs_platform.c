/*
 * XS on the bare-metal firmware: machine creation, the platform hooks XS needs (abort, promise
 * job queue, C stack limit), host functions for the JS side (print, console.log, timers,
 * performance.now, exit), the event loop, and main().
 *
 * Everything that runs JS sits under one XS setjmp frame (xsBeginHost + xsTry): an exception that
 * nothing catches prints its message and the firmware exits with EXIT_JS_EXCEPTION through the
 * QEMU test device. The loop ends (exit 0) when no promise job, timer or poller is left.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "xs_engine.h"

/* From xsmc.h, which cannot be included together with the xs.h macros used here. */
extern xsIntegerValue _xsmcGetBuffer(xsMachine* the, xsSlot* slot, void** data, xsUnsignedValue* count,
                                     xsBooleanValue writable);

/* ------------------------------------------------------------------------------------------- */
/* Machine creation: sizes in bytes (chunks) and slots (16 B each on rv32). Everything is malloc'd
 * from the linker's heap (320 KiB; the SSH image's is 488 KiB, SSH_HEAP_BYTES in build.ts) and may
 * grow by the incremental sizes until that heap is full.
 * The SSH image needs ~10,200 slots and ~60 KiB of chunks once started, and connections more: the
 * initial sizes take most of that in two blocks, because blocks added one by one later interleave
 * in malloc and fragment the heap (XS never gives a block back). */

#ifndef XS_INITIAL_CHUNK_SIZE
#define XS_INITIAL_CHUNK_SIZE     (96 * 1024)
#endif
#define XS_INCREMENTAL_CHUNK_SIZE (8 * 1024)
#ifndef XS_INITIAL_HEAP_SLOTS
#define XS_INITIAL_HEAP_SLOTS     8192
#endif
#define XS_INCREMENTAL_HEAP_SLOTS 512
#define XS_STACK_SLOTS            1024 /* the SSH bundle's IIFE keeps ~400 top-level bindings on the stack */
#define XS_INITIAL_KEYS           256
#define XS_INCREMENTAL_KEYS       64
#define XS_NAME_MODULO            127
#define XS_SYMBOL_MODULO          127
#define XS_PARSER_BUFFER_SIZE     (8 * 1024)
#define XS_PARSER_TABLE_MODULO    127

#define MAX_TIMERS 16

/* The JS program linked into the image (bundle.S), NUL-terminated. */
extern const char firmware_bundle[];
extern const char firmware_bundle_end[];

/* ------------------------------------------------------------------------------------------- */
/* Reporting */

static uint32_t instret(void)
{
	uint32_t v;
	__asm__ volatile(".option push\n.option arch,+zicsr\ncsrr %0, minstret\n.option pop" : "=r"(v));
	return v;
}

static size_t heap_used(void)
{
	return (size_t)((char*)sbrk(0) - __heap_start);
}

static void report_memory(xsMachine* the, const char* when)
{
	struct mallinfo mi = mallinfo();
	EngineMemory m;
	engine_memory(the, &m);
	printf("mem %s: xs chunks %ld B (peak %ld), slots %ld (peak %ld) x %u B, xs stack peak %ld of %ld slots, "
	       "malloc in use %u B, heap high-water %u of %u B, C stack peak %u B\n",
	       when, m.chunks, m.chunks_peak, m.slots, m.slots_peak, m.slot_size, m.stack_peak, m.stack, (unsigned)mi.uordblks,
	       (unsigned)heap_used(), (unsigned)(__heap_end - __heap_start), (unsigned)board_stack_peak());
}

static void report_time(const char* what)
{
	uint64_t t = board_mtime();
	printf("time %s: instret %lu, %lu us\n", what, (unsigned long)instret(),
	       (unsigned long)(t / (BOARD_MTIME_HZ / 1000000u)));
}

static xsMachine* main_machine;

xsMachine* platform_machine(void)
{
	return main_machine;
}

void platform_finish(int code, const char* reason)
{
	if (main_machine)
		report_memory(main_machine, "at exit");
	report_time("at exit");
	printf("exit %d (%s)\n", code, reason);
	board_exit(code);
}

/* ------------------------------------------------------------------------------------------- */
/* Timers: C keeps the schedule, a JS object (remembered as a GC root) keeps
 * by id as [callback, [args...]], so callbacks and arguments live exactly as long as the timer. */

typedef struct {
	uint32_t id; /* 0: free */
	uint64_t when;
	uint64_t interval; /* 0: one-shot */
} Timer;

static Timer timers[MAX_TIMERS];
static uint32_t next_timer_id = 1;
static xsSlot timer_table;

/* The timer with this id; id 0 finds a free entry. */
static Timer* find_timer(uint32_t id)
{
	for (int i = 0; i < MAX_TIMERS; i++)
		if (timers[i].id == id)
			return &timers[i];
	return NULL;
}

static void timer_schedule(xsMachine* the, int repeat)
{
	xsIntegerValue argc = xsToInteger(xsArgc);
	if (argc < 1 || !xsIsInstanceOf(xsArg(0), xsFunctionPrototype))
		xsTypeError("callback is not a function");
	double ms = argc > 1 ? xsToNumber(xsArg(1)) : 0;
	if (!(ms >= 0)) /* NaN, negative */
		ms = 0;
	if (ms > 2147483647.0)
		ms = 2147483647.0;
	Timer* t = find_timer(0);
	if (!t)
		xsUnknownError("too many timers");
	uint32_t id = next_timer_id++;
	if (!next_timer_id)
		next_timer_id = 1;
	xsVars(2);
	xsVar(1) = xsNewArray(0); /* the arguments after the delay */
	for (xsIntegerValue i = 2; i < argc; i++)
		xsCall1(xsVar(1), xsID("push"), xsArg(i));
	xsVar(0) = xsNewArray(2);
	xsSetAt(xsVar(0), xsInteger(0), xsArg(0));
	xsSetAt(xsVar(0), xsInteger(1), xsVar(1));
	xsSetAt(timer_table, xsInteger(id), xsVar(0));
	uint64_t ticks = (uint64_t)ms * MTIME_PER_MS;
	if (repeat && ticks == 0)
		ticks = MTIME_PER_MS;
	t->id = id;
	t->when = board_mtime() + ticks;
	t->interval = repeat ? ticks : 0;
	xsResult = xsInteger(id);
}

static void fx_setTimeout(xsMachine* the)
{
	timer_schedule(the, 0);
}

static void fx_setInterval(xsMachine* the)
{
	timer_schedule(the, 1);
}

static void fx_clearTimer(xsMachine* the)
{
	if (xsToInteger(xsArgc) < 1 || !xsTest(xsArg(0)))
		return;
	uint32_t id = (uint32_t)xsToInteger(xsArg(0));
	Timer* t = id ? find_timer(id) : NULL;
	if (t) {
		t->id = 0;
		xsDeleteAt(timer_table, xsInteger(id));
	}
}

static Timer* next_timer(void)
{
	Timer* best = NULL;
	for (int i = 0; i < MAX_TIMERS; i++)
		if (timers[i].id && (!best || timers[i].when < best->when))
			best = &timers[i];
	return best;
}

/* Runs in main's host frame: uses its xsVar(0) and xsVar(1). */
static void fire_timer(xsMachine* the, Timer* t)
{
	uint32_t id = t->id;
	xsVar(0) = xsGetAt(timer_table, xsInteger(id));
	if (t->interval)
		t->when += t->interval;
	else {
		t->id = 0;
		xsDeleteAt(timer_table, xsInteger(id));
	}
	/* [callback, args] -> callback.apply(undefined, args) */
	xsVar(1) = xsGetAt(xsVar(0), xsInteger(1));
	xsVar(0) = xsGetAt(xsVar(0), xsInteger(0));
	xsCall2(xsVar(0), xsID("apply"), xsUndefined, xsVar(1));
}

/* ------------------------------------------------------------------------------------------- */
/* Pollers */

static struct {
	platform_poller poller;
	void* context;
} pollers[PLATFORM_MAX_POLLERS];

int platform_add_poller(platform_poller poller, void* context)
{
	for (int i = 0; i < PLATFORM_MAX_POLLERS; i++)
		if (!pollers[i].poller) {
			pollers[i].poller = poller;
			pollers[i].context = context;
			return 0;
		}
	return -1;
}

void platform_remove_poller(platform_poller poller, void* context)
{
	for (int i = 0; i < PLATFORM_MAX_POLLERS; i++)
		if (pollers[i].poller == poller && pollers[i].context == context)
			pollers[i].poller = NULL;
}

static int run_pollers(int* any)
{
	int work = 0;
	*any = 0;
	for (int i = 0; i < PLATFORM_MAX_POLLERS; i++)
		if (pollers[i].poller) {
			*any = 1;
			work |= pollers[i].poller(pollers[i].context);
		}
	return work;
}

/* ------------------------------------------------------------------------------------------- */
/* Other host functions */

static void fx_print(xsMachine* the)
{
	xsIntegerValue argc = xsToInteger(xsArgc);
	for (xsIntegerValue i = 0; i < argc; i++) {
		if (i)
			board_log_putc(' ');
		xsStringValue s = xsToString(xsArg(i));
		board_log_write(s, strlen(s));
	}
	board_log_putc('\n');
}

static void fx_performance_now(xsMachine* the)
{
	xsResult = xsNumber((double)board_mtime() / (double)MTIME_PER_MS);
}

static void fx_exit(xsMachine* the)
{
	int code = xsToInteger(xsArgc) > 0 ? xsToInteger(xsArg(0)) : 0;
	platform_finish(code, "exit()");
}

static void fx_getRandomValues(xsMachine* the)
{
	if (xsToInteger(xsArgc) < 1)
		xsTypeError("typed array expected");
	void* data;
	xsUnsignedValue size;
	_xsmcGetBuffer(the, &xsArg(0), &data, &size, 1);
	if (size > 65536)
		xsRangeError("at most 65536 bytes");
	native_random(data, size);
	xsResult = xsArg(0);
}

static void define_function(xsMachine* the, xsSlot* target, const char* name, xsCallback callback, int length)
{
	xsDefine(*target, xsID(name), xsNewHostFunction(callback, length), xsDontEnum);
}

/* Images with more host functions (the SSH firmware: crypto, network, UART) define this. */
__attribute__((weak)) void platform_install_extras(xsMachine* the)
{
	(void)the;
}

/* Runs in main's host frame: uses its xsVar(0). */
static void install_globals(xsMachine* the)
{
	define_function(the, &xsGlobal, "print", fx_print, 0);
	define_function(the, &xsGlobal, "setTimeout", fx_setTimeout, 2);
	define_function(the, &xsGlobal, "setInterval", fx_setInterval, 2);
	define_function(the, &xsGlobal, "clearTimeout", fx_clearTimer, 1);
	define_function(the, &xsGlobal, "clearInterval", fx_clearTimer, 1);
	define_function(the, &xsGlobal, "exit", fx_exit, 1);
	xsVar(0) = xsNewObject();
	define_function(the, &xsVar(0), "log", fx_print, 0);
	define_function(the, &xsVar(0), "error", fx_print, 0);
	xsDefine(xsGlobal, xsID("console"), xsVar(0), xsDontEnum);
	xsVar(0) = xsNewObject();
	define_function(the, &xsVar(0), "now", fx_performance_now, 0);
	xsDefine(xsGlobal, xsID("performance"), xsVar(0), xsDontEnum);
	xsVar(0) = xsNewObject();
	define_function(the, &xsVar(0), "getRandomValues", fx_getRandomValues, 1);
	xsDefine(xsGlobal, xsID("crypto"), xsVar(0), xsDontEnum);
	timer_table = xsNewObject();
	xsRemember(timer_table);
	platform_install_extras(the);
}

/* ------------------------------------------------------------------------------------------- */
/* Running the program and the event loop */

static void event_loop(xsMachine* the)
{
	for (;;) {
		engine_run_promise_jobs(the);
		int any_poller;
		if (run_pollers(&any_poller))
			continue;
		Timer* t = next_timer();
		uint64_t now = board_mtime();
		if (t && t->when <= now) {
			fire_timer(the, t);
			continue; /* its promise jobs run before the next timer */
		}
		if (!t && !any_poller)
			break;
		uint64_t until = t ? t->when : UINT64_MAX;
		if (any_poller && until > now + PLATFORM_POLL_IDLE_MS * MTIME_PER_MS)
			until = now + PLATFORM_POLL_IDLE_MS * MTIME_PER_MS;
		board_sleep_until(until);
	}
	engine_check_rejections_at_exit(the);
}

/* A fixed size from the run script (BOARD_CREATION_ADDR, board.h), as a Moddable manifest's
 * `creation` with no growth: for finding the smallest machine a scenario needs. Wiped once read. */
static void fixed_creation(xsCreation* creation)
{
	volatile uint8_t* p = (volatile uint8_t*)(uintptr_t)BOARD_CREATION_ADDR;
	uint32_t v[3];
	for (int i = 0; i < 8; i++)
		if (p[i] != (uint8_t)BOARD_CREATION_MAGIC[i])
			return;
	for (int i = 0; i < 3; i++)
		v[i] = (uint32_t)p[8 + 4 * i] | (uint32_t)p[9 + 4 * i] << 8 | (uint32_t)p[10 + 4 * i] << 16 | (uint32_t)p[11 + 4 * i] << 24;
	for (int i = 0; i < 20; i++)
		p[i] = 0;
	creation->initialChunkSize = v[0];
	creation->incrementalChunkSize = 0;
	creation->initialHeapCount = v[1];
	creation->incrementalHeapCount = 0;
	if (v[2])
		creation->stackCount = v[2];
	printf("creation: fixed, chunks %u B, slots %u, stack %u\n", (unsigned)v[0], (unsigned)v[1], (unsigned)creation->stackCount);
}

/* The program to run: the one linked into the image; the SSH image's boot selector (boot_select.c)
 * may pick an update slot's instead. Called before the XS machine exists. */
__attribute__((weak)) const char* platform_program(size_t* size)
{
	*size = (size_t)(firmware_bundle_end - firmware_bundle);
	return firmware_bundle;
}

int main(void)
{
	board_init();
	board_paint_stack();
	printf("esp-ssh-console firmware: QEMU virt rv32imc, XS %s, heap %u B, stack %u B\n",
	       engine_version(), (unsigned)(__heap_end - __heap_start),
	       (unsigned)(__stack - __stack_limit));
	random_init();
	report_time("at main");
	size_t program_size;
	const char* program = platform_program(&program_size);

	xsCreation creation = {
		XS_INITIAL_CHUNK_SIZE, XS_INCREMENTAL_CHUNK_SIZE, XS_INITIAL_HEAP_SLOTS, XS_INCREMENTAL_HEAP_SLOTS,
		XS_STACK_SLOTS,        XS_INITIAL_KEYS,           XS_INCREMENTAL_KEYS,   XS_NAME_MODULO,
		XS_SYMBOL_MODULO,      XS_PARSER_BUFFER_SIZE,     XS_PARSER_TABLE_MODULO, 0,
	};
	fixed_creation(&creation);
	xsMachine* machine = xsCreateMachine(&creation, "main", NULL);
	if (!machine)
		platform_finish(EXIT_BOOT, "machine creation failed");
	main_machine = machine;
	engine_paint_stack(machine);
	report_time("machine created");
	report_memory(machine, "machine created");

	xsBeginHost(machine);
	{
		xsVars(2); /* scratch for install_globals and fire_timer */
		xsTry {
			install_globals(the);
			engine_run_program(the, program, program_size);
			report_time("program evaluated");
			report_memory(the, "program evaluated");
			event_loop(the);
		}
		xsCatch {
			engine_report_exception(the, &xsException, "uncaught exception");
			platform_finish(EXIT_JS_EXCEPTION, "uncaught exception");
		}
	}
	xsEndHost(machine);
	platform_finish(EXIT_OK, "done");
}
