/* xsrun: runs JavaScript files (classic scripts, e.g. a bundle, not modules) under the Moddable XS
 * engine on Linux, one after the other in one realm, then their promise jobs until none are left.
 *
 *   xsrun [--chunks BYTES] [--slots COUNT] [--stack COUNT] [--fixed] script.js [more.js ...]
 *
 * Exit status: 0 when the script and every job finished without an uncaught exception; 1 for an
 * uncaught exception (printed on stderr); 2 for a bad command line or an unreadable file; 3 + the XS
 * exit code when the engine aborts (memory full, stack overflow, unhandled rejection, ...).
 *
 * Globals the script sees, besides the ECMAScript ones:
 *   print(...values)   writes the values, joined by spaces, and a newline to stdout
 *   xsrun.gc()         a full garbage collection
 *   xsrun.memory()     { chunks, chunksPeak, chunksReserved, slots, slotsPeak, slotsReserved,
 *                        slotSize, stack, keys, codeSize }: bytes of chunks in use, at their peak
 *                        and allocated; slots likewise (counts); stack slots in use; keys in use;
 *                        bytes of bytecode of the scripts (it lives in chunks while functions use it)
 *                        (call gc() first for live figures)
 *   xsrun.now()        milliseconds, a float, monotonic
 *   nativeCrypto       the crypto hooks of modules/crypto/native_crypto.c, native_psa.c and
 *                      native_mlkem.c, by the names of their tables (typed as NativeCryptoHooks in
 *                      native.ts; read them with hosts/qemu/xs/host.ts nativeHooks())
 *
 * The creation is fixed by the named sizes below (or the options); --fixed forbids growing beyond
 * them, as on a board, so a script can be checked against a board's creation. */

#include "xsAll.h"
#include "xs.h"
#include "native_crypto.h"

#include <sodium.h>

/* Chunks (strings, buffers, bytecode, arrays' items) and slots (every value and property). The
 * initial sizes hold the SSH core with room to spare; without --fixed they grow by the increments. */
#define XSRUN_INITIAL_CHUNKS (1024 * 1024)
#define XSRUN_INCREMENTAL_CHUNKS (256 * 1024)
#define XSRUN_INITIAL_SLOTS (64 * 1024)
#define XSRUN_INCREMENTAL_SLOTS (16 * 1024)
/* JS stack slots: deep enough for the parser-free runtime of the core (a board uses 512). */
#define XSRUN_STACK_SLOTS 4096
/* Identifiers and property names; the built-ins take about 1,400. */
#define XSRUN_INITIAL_KEYS 4096
#define XSRUN_INCREMENTAL_KEYS 1024
#define XSRUN_NAME_MODULO 1993
#define XSRUN_SYMBOL_MODULO 127
/* The parser's arena block size and hash table size (a whole bundle is parsed at once). */
#define XSRUN_PARSER_BUFFER (256 * 1024)
#define XSRUN_PARSER_TABLE_MODULO 1993

/* Script files one run evaluates at most. */
#define XSRUN_MAX_SCRIPTS 16

#define EXIT_EXCEPTION 1
#define EXIT_USAGE 2
#define EXIT_ABORT_BASE 3

static txSize gCodeSize = 0;

/* ---------------------------------------------------------------------------------------------- */
/* Platform functions XS calls (xsPlatforms.c supplies the others, see xsrun_platform.h). */

void fxCreateMachinePlatform(txMachine* the)
{
	the->promiseJobsPending = 0;
	the->exitStatus = 0;
}

void fxDeleteMachinePlatform(txMachine* the)
{
	(void)the;
}

void fxQueuePromiseJobs(txMachine* the)
{
	the->promiseJobsPending = 1;
}

/* No module loader: the runner evaluates one script bundle. */
txID fxFindModule(txMachine* the, txSlot* realm, txID moduleID, txSlot* slot)
{
	(void)the; (void)realm; (void)moduleID; (void)slot;
	return XS_NO_ID;
}

void fxLoadModule(txMachine* the, txSlot* module, txID moduleID)
{
	(void)the; (void)module; (void)moduleID;
}

/* Prints the pending exception, if it can be turned into a string without failing again. */
static void printException(txMachine* the, const char* prefix)
{
	char buffer[1024];
	buffer[0] = 0;
	xsTry {
		xsToStringBuffer(xsException, buffer, sizeof(buffer));
	}
	xsCatch {
		snprintf(buffer, sizeof(buffer), "(an exception that cannot be printed)");
	}
	fprintf(stderr, "%s%s\n", prefix, buffer);
}

void fxAbort(txMachine* the, int status)
{
	const char* why;
	switch (status) {
	case XS_STACK_OVERFLOW_EXIT: why = "stack overflow"; break;
	case XS_NOT_ENOUGH_MEMORY_EXIT: why = "memory full"; break;
	case XS_NO_MORE_KEYS_EXIT: why = "not enough keys"; break;
	case XS_DEAD_STRIP_EXIT: why = "dead strip"; break;
	case XS_FATAL_CHECK_EXIT: why = "fatal check"; break;
	case XS_UNHANDLED_EXCEPTION_EXIT: why = "unhandled exception"; break;
	case XS_UNHANDLED_REJECTION_EXIT: why = "unhandled rejection"; break;
	case XS_TOO_MUCH_COMPUTATION_EXIT: why = "too much computation"; break;
	default: why = "unknown"; break;
	}
	fprintf(stderr, "xsrun: abort: %s\n", why);
	if (status == XS_UNHANDLED_EXCEPTION_EXIT || status == XS_UNHANDLED_REJECTION_EXIT)
		printException(the, "xsrun: ");
	fprintf(stderr, "xsrun: chunks %ld in use (peak %ld, reserved %ld), slots %ld (peak %ld, reserved %ld)\n",
		(long)the->currentChunksSize, (long)the->peakChunksSize, (long)the->maximumChunksSize,
		(long)the->currentHeapCount, (long)the->peakHeapCount, (long)the->maximumHeapCount);
	fflush(stdout);
	exit(EXIT_ABORT_BASE + status);
}

/* The entropy source native_crypto.c asks for (each platform defines its own). */
void native_random(void* buffer, size_t size)
{
	randombytes_buf(buffer, size);
}

/* Code with large frames (ML-KEM) runs on the caller's stack: a Linux main thread has megabytes. */
int native_call_with_stack(size_t bytes, void (*fn)(void* context), void* context)
{
	(void)bytes;
	fn(context);
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Host functions */

static void xs_print(xsMachine* the)
{
	xsIntegerValue c = xsToInteger(xsArgc), i;
	for (i = 0; i < c; i++) {
		if (i) fputc(' ', stdout);
		fputs(xsToString(xsArg(i)), stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

static void xs_gc(xsMachine* the)
{
	xsCollectGarbage();
}

static void setNumber(xsMachine* the, const char* name, double value)
{
	xsVar(0) = xsNumber(value);
	xsSet(xsResult, xsID((char*)name), xsVar(0));
}

static void xs_memory(xsMachine* the)
{
	xsVars(1);
	xsResult = xsNewObject();
	setNumber(the, "chunks", the->currentChunksSize);
	setNumber(the, "chunksPeak", the->peakChunksSize);
	setNumber(the, "chunksReserved", the->maximumChunksSize);
	setNumber(the, "slots", the->currentHeapCount);
	setNumber(the, "slotsPeak", the->peakHeapCount);
	setNumber(the, "slotsReserved", the->maximumHeapCount);
	setNumber(the, "slotSize", sizeof(txSlot));
	setNumber(the, "stack", the->stackTop - the->stack);
	setNumber(the, "keys", the->keyIndex);
	setNumber(the, "codeSize", gCodeSize);
}

static void xs_now(xsMachine* the)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	xsResult = xsNumber((double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

/* Sets object[name] = a host function; each value goes through a rooted variable first. */
static void setFunction(xsMachine* the, xsSlot* object, const char* name, xsCallback callback, int length)
{
	xsVar(1) = xsNewHostFunction(callback, length);
	xsSet(*object, xsID((char*)name), xsVar(1));
}

static void installGlobals(xsMachine* the)
{
	static const native_crypto_hook* const tables[] = { native_crypto_hooks, native_psa_hooks, native_mlkem_hooks };
	const native_crypto_hook* hook;
	size_t table;
	xsVars(2);
	setFunction(the, &xsGlobal, "print", xs_print, 0);
	xsVar(0) = xsNewObject();
	setFunction(the, &xsVar(0), "gc", xs_gc, 0);
	setFunction(the, &xsVar(0), "memory", xs_memory, 0);
	setFunction(the, &xsVar(0), "now", xs_now, 0);
	xsSet(xsGlobal, xsID("xsrun"), xsVar(0));
	/* The crypto hooks, as globalThis.nativeCrypto (hosts/qemu/xs/host.ts reads them). */
	xsVar(0) = xsNewObject();
	for (table = 0; table < sizeof(tables) / sizeof(tables[0]); table++)
		for (hook = tables[table]; hook->name; hook++)
			setFunction(the, &xsVar(0), hook->name, hook->callback, hook->length);
	xsSet(xsGlobal, xsID("nativeCrypto"), xsVar(0));
}

/* ---------------------------------------------------------------------------------------------- */

static char* readFile(const char* path, long* size)
{
	FILE* f = fopen(path, "rb");
	char* text;
	if (!f) return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (*size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)*size + 1);
	if (text && fread(text, 1, (size_t)*size, f) != (size_t)*size) {
		free(text);
		text = NULL;
	}
	fclose(f);
	if (text) text[*size] = 0;
	return text;
}

/* Parses and runs the script in the program's realm, like a classic <script>. */
static void runScript(txMachine* the, char* source, long size, const char* path)
{
	txStringCStream stream;
	txSlot* realm = mxProgram.value.reference->next->value.module.realm;
	txScript* script;
	stream.buffer = source;
	stream.offset = 0;
	stream.size = (txSize)size;
	script = fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag);
	if (script) gCodeSize += script->codeSize;
	else fprintf(stderr, "xsrun: %s: syntax error\n", path);
	fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, mxProgram.value.reference);
	mxPop();
}

static long option(int argc, char** argv, int* i)
{
	char* end;
	long v;
	if (*i + 1 >= argc) return -1;
	v = strtol(argv[++*i], &end, 0);
	return (*end || v <= 0) ? -1 : v;
}

int main(int argc, char** argv)
{
	xsCreation creation = {
		XSRUN_INITIAL_CHUNKS, XSRUN_INCREMENTAL_CHUNKS,
		XSRUN_INITIAL_SLOTS, XSRUN_INCREMENTAL_SLOTS,
		XSRUN_STACK_SLOTS,
		XSRUN_INITIAL_KEYS, XSRUN_INCREMENTAL_KEYS,
		XSRUN_NAME_MODULO, XSRUN_SYMBOL_MODULO,
		XSRUN_PARSER_BUFFER, XSRUN_PARSER_TABLE_MODULO,
		0,
	};
	const char* paths[XSRUN_MAX_SCRIPTS];
	int count = 0;
	int fixed = 0, i;
	volatile int failed = 0;
	xsMachine* machine;

	for (i = 1; i < argc; i++) {
		long v = 0;
		if (!strcmp(argv[i], "--chunks")) v = creation.initialChunkSize = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--slots")) v = creation.initialHeapCount = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--stack")) v = creation.stackCount = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--fixed")) fixed = 1;
		else if (argv[i][0] != '-' && count < XSRUN_MAX_SCRIPTS) paths[count++] = argv[i];
		else v = -1;
		if (v < 0) count = 0, i = argc;
	}
	if (count == 0) {
		fprintf(stderr, "usage: xsrun [--chunks BYTES] [--slots COUNT] [--stack COUNT] [--fixed] script.js [more.js ...]\n");
		return EXIT_USAGE;
	}
	if (fixed) {
		creation.incrementalChunkSize = 0;
		creation.incrementalHeapCount = 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "xsrun: libsodium failed to initialize\n");
		return EXIT_USAGE;
	}

	machine = xsCreateMachine(&creation, "xsrun", NULL);
	xsBeginHost(machine);
	{
		xsTry {
			installGlobals(the);
			for (i = 0; i < count; i++) {
				long size = 0;
				char* source = readFile(paths[i], &size);
				if (!source) {
					fprintf(stderr, "xsrun: cannot read %s\n", paths[i]);
					exit(EXIT_USAGE);
				}
				runScript(the, source, size, paths[i]);
				free(source);
			}
		}
		xsCatch {
			printException(the, "xsrun: uncaught exception: ");
			failed = 1;
		}
	}
	xsEndHost(machine);

	/* The job loop: every job a finished job queued, until none are left. An exception thrown by a
	 * job aborts (XS reports it through fxAbort), as does a rejection nobody handled. */
	while (!failed && machine->promiseJobsPending) {
		machine->promiseJobsPending = 0;
		xsBeginHost(machine);
		{
			fxRunPromiseJobs(the);
			fxEndJob(the);
		}
		xsEndHost(machine);
	}
	if (!failed) {
		xsBeginHost(machine);
		{
			fxCheckUnhandledRejections(the, 1);
		}
		xsEndHost(machine);
	}
	xsDeleteMachine(machine);
	return failed ? EXIT_EXCEPTION : 0;
}
