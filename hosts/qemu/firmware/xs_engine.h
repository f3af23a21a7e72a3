/*
 * The few things the firmware needs from XS internals (xsAll.h), behind a small interface so the
 * rest of the platform uses only the public xs.h API. Implemented in xs_engine.c.
 */
#ifndef XS_ENGINE_H
#define XS_ENGINE_H

#include <stddef.h>
#include "xs.h"

typedef struct {
	long chunks, chunks_peak; /* bytes */
	long slots, slots_peak;   /* slots */
	unsigned slot_size;       /* bytes per slot */
	long stack, stack_peak;   /* XS stack: slots it has, most ever used (painted, see below) */
	long stack_now;           /* slots in use at the call */
	long keys, keys_capacity; /* property names and symbols the machine made, room for them */
	long chunks_mark, slots_mark; /* at the last engine_mark_peaks (0: never marked) */
	long chunks_peak_mark, slots_peak_mark; /* the peaks since then (since boot: never marked) */
} EngineMemory;

const char* engine_version(void); /* "13.3.0" */
void engine_memory(xsMachine* the, EngineMemory* m);
/* Starts a new peak interval: chunks_peak and slots_peak stay the peaks since boot, chunks_peak_mark
 * and slots_peak_mark become the peaks from now on (what one step, a key exchange, allocates; with
 * garbage not yet collected, since XS counts what is allocated until a collection frees it). */
void engine_mark_peaks(xsMachine* the);
/* Fills the XS stack's unused slots with a pattern, so engine_memory can tell its deepest use. */
void engine_paint_stack(xsMachine* the);
/* Runs a program (sloppy script) in the machine's global scope: JS source, parsed on the device, or
 * bytecode from xscompile (starts with "XSBC"). Throws on errors. */
void engine_run_program(xsMachine* the, const char* source, size_t size);
/* Runs promise jobs until none is queued; checks unhandled rejections (fatal) after each batch. */
void engine_run_promise_jobs(xsMachine* the);
/* At the end of the program: every rejection still unhandled is fatal. */
void engine_check_rejections_at_exit(xsMachine* the);
/* Prints "<what>: message" (and the stack when there is one) without risking a second throw. */
void engine_report_exception(xsMachine* the, xsSlot* exception, const char* what);

/* Provided by xs_platform.c: prints the final report and exits through the test device. */
__attribute__((noreturn)) void platform_finish(int code, const char* reason);

#endif /* XS_ENGINE_H */
