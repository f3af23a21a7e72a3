/*
 * XS platform hooks (abort, promise job queue, C stack limit, machine platform data) and the
 * helpers declared in xs_engine.h: the code that needs XS internals (xsAll.h).
 */
#include "xsAll.h"
#include "board.h"
#include "xs_engine.h"

void platform_free(void* p)
{
	if ((char*)p >= __flash_start && (char*)p < __flash_end)
		return; /* in the image: archived bytecode, see load_bytecode */
	if ((uintptr_t)p >= BOARD_OTA_RUN_ADDR && (uintptr_t)p < BOARD_OTA_RUN_ADDR + BOARD_OTA_SLOT_SIZE)
		return; /* an update slot's bytecode, run in place (boot_select.c) */
	free(p);
}

void fxCreateMachinePlatform(txMachine* the)
{
	the->host = C_NULL;
	the->promiseJobsQueued = 0;
}

void fxDeleteMachinePlatform(txMachine* the)
{
	(void)the;
}

/* XS calls this when the first job enters an empty queue; the event loop runs them. */
void fxQueuePromiseJobs(txMachine* the)
{
	the->promiseJobsQueued = 1;
}

/* XS throws "stack overflow" (a RangeError) before the C stack runs out. */
char* fxCStackLimit(void)
{
	return __stack_limit + 1024;
}

void fxAbort(txMachine* the, int status)
{
	const char* why;
	switch (status) {
	case XS_UNHANDLED_EXCEPTION_EXIT:
		engine_report_exception(the, &mxException, "uncaught exception");
		platform_finish(EXIT_JS_EXCEPTION, "uncaught exception");
	case XS_UNHANDLED_REJECTION_EXIT:
		engine_report_exception(the, &mxException, "unhandled rejection");
		platform_finish(EXIT_JS_EXCEPTION, "unhandled rejection");
	case XS_STACK_OVERFLOW_EXIT: why = "xs: stack overflow"; break;
	case XS_NOT_ENOUGH_MEMORY_EXIT: why = "xs: memory full"; break;
	case XS_NO_MORE_KEYS_EXIT: why = "xs: not enough keys"; break;
	case XS_TOO_MUCH_COMPUTATION_EXIT: why = "xs: too much computation"; break;
	case XS_DEAD_STRIP_EXIT: why = "xs: dead strip"; break;
	default: why = "xs: fatal"; break;
	}
	printf("fatal %s (status %d)\n", why, status);
	platform_finish(EXIT_XS_ABORT, why);
}

#define STACK_PAINT 0xA5

void engine_paint_stack(xsMachine* the)
{
	/* The XS stack grows down from stackTop; below the current top nothing is live. */
	memset(the->stackBottom, STACK_PAINT, (char*)the->stack - (char*)the->stackBottom);
}

/* The deepest the stack has been: the first slot from the top still all paint. (XS also lends the
 * free end of its stack to number formatting and regular expressions as scratch memory, from the
 * bottom up: scanning from the top stays clear of that unless the scratch reached the stack.) */
static long stack_peak(xsMachine* the)
{
	const txSlot* slot = the->stackTop;
	while (slot > the->stackBottom) {
		const unsigned char* p = (const unsigned char*)(slot - 1);
		size_t i = 0;
		while (i < sizeof(txSlot) && p[i] == STACK_PAINT)
			i++;
		if (i == sizeof(txSlot))
			break;
		slot--;
	}
	return (long)(the->stackTop - slot);
}

/* The peaks of the intervals before the last engine_mark_peaks (XS keeps one peak each). */
static long chunks_peak_before, slots_peak_before, chunks_at_mark, slots_at_mark;

void engine_mark_peaks(xsMachine* the)
{
	if (chunks_peak_before < (long)the->peakChunksSize)
		chunks_peak_before = (long)the->peakChunksSize;
	if (slots_peak_before < (long)the->peakHeapCount)
		slots_peak_before = (long)the->peakHeapCount;
	the->peakChunksSize = the->currentChunksSize;
	the->peakHeapCount = the->currentHeapCount;
	chunks_at_mark = (long)the->currentChunksSize;
	slots_at_mark = (long)the->currentHeapCount;
}

void engine_memory(xsMachine* the, EngineMemory* m)
{
	m->stack = (long)(the->stackTop - the->stackBottom);
	m->stack_peak = stack_peak(the);
	m->stack_now = (long)(the->stackTop - the->stack);
	m->keys = the->keyIndex;
	m->keys_capacity = the->keyCount;
	m->chunks = the->currentChunksSize;
	m->chunks_peak_mark = (long)the->peakChunksSize;
	m->chunks_peak = m->chunks_peak_mark > chunks_peak_before ? m->chunks_peak_mark : chunks_peak_before;
	m->slots = the->currentHeapCount;
	m->slots_peak_mark = (long)the->peakHeapCount;
	m->slots_peak = m->slots_peak_mark > slots_peak_before ? m->slots_peak_mark : slots_peak_before;
	m->chunks_mark = chunks_at_mark;
	m->slots_mark = slots_at_mark;
	m->slot_size = sizeof(txSlot);
}

void engine_report_exception(xsMachine* the, xsSlot* slot, const char* what)
{
	txSlot* exception = (txSlot*)slot;
	printf("%s: ", what);
	mxTry(the) {
		mxPushSlot(exception);
		printf("%s\n", fxToString(the, the->stack));
		mxPop();
		if (mxIsReference(exception)) {
			mxPushSlot(exception);
			mxGetID(fxID(the, "stack"));
			if (mxIsStringPrimitive(the->stack))
				printf("%s\n", the->stack->value.string);
			mxPop();
		}
	}
	mxCatch(the) {
		printf("(not printable)\n");
	}
}

static uint32_t load32(const char* p)
{
	const uint8_t* b = (const uint8_t*)p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void* copy_out(txMachine* the, const char* from, size_t size)
{
	void* p = c_malloc(size ? size : 1);
	if (!p)
		fxAbort(the, XS_NOT_ENOUGH_MEMORY_EXIT);
	c_memcpy(p, from, size);
	return p;
}

/* Bytecode made by xscompile at build time: "XSBC" | version[3] | flags | symbols size | code size |
 * symbols | code. fxRunScript rewrites the code's IDs in place and frees the script and its symbols
 * when the top level has run. Archived code (flag 1: function literals as XS_CODE_CODE_ARCHIVE_n)
 * runs where it lies in the image, as Moddable runs archives mapped in flash (their IDs are remapped
 * in place once, when mapped): no byte of it is copied to the heap, and c_free (platform_free)
 * leaves it alone. Other bytecode is copied to the heap and each function into its own chunk. */
static txScript* load_bytecode(txMachine* the, const char* image, size_t size)
{
	if (size < 16)
		mxSyntaxError("bytecode image too short");
	uint32_t symbols = load32(image + 8), code = load32(image + 12);
	if ((size_t)16 + symbols + code != size)
		mxSyntaxError("bytecode image size mismatch");
	if (image[4] != XS_MAJOR_VERSION || image[5] != XS_MINOR_VERSION)
		mxSyntaxError("bytecode from XS %d.%d, engine is %d.%d", image[4], image[5], XS_MAJOR_VERSION, XS_MINOR_VERSION);
	txScript* script = copy_out(the, (const char*)&(txScript){ 0 }, sizeof(txScript));
	script->symbolsBuffer = copy_out(the, image + 16, symbols);
	script->symbolsSize = (txSize)symbols;
	if (image[7] & 1)
		script->codeBuffer = (txByte*)(image + 16 + symbols); /* archived: in place, see above */
	else
		script->codeBuffer = copy_out(the, image + 16 + symbols, code);
	script->codeSize = (txSize)code;
	return script;
}

void engine_run_program(xsMachine* the, const char* source, size_t size)
{
	txScript* script;
	if (size >= 4 && c_memcmp(source, "XSBC", 4) == 0)
		script = load_bytecode(the, source, size);
	else {
		txStringCStream stream;
		stream.buffer = (txString)source;
		stream.offset = 0;
		stream.size = (txSize)size;
		script = fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag);
		if (!script)
			mxSyntaxError("program does not parse");
	}
	txSlot* realm = mxProgram.value.reference->next->value.module.realm;
	fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL,
	            mxProgram.value.reference);
	mxPop(); /* the completion value */
}

void engine_run_promise_jobs(xsMachine* the)
{
	do {
		while (the->promiseJobsQueued) {
			the->promiseJobsQueued = 0;
			fxRunPromiseJobs(the);
		}
		fxEndJob(the); /* finalization registries; unhandled rejections of collected promises */
	} while (the->promiseJobsQueued);
}

void engine_check_rejections_at_exit(xsMachine* the)
{
	fxCheckUnhandledRejections(the, 1);
}

const char* engine_version(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(XS_MAJOR_VERSION) "." STR(XS_MINOR_VERSION) "." STR(XS_PATCH_VERSION);
}
