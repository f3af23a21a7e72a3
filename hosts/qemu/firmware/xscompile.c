/*
 * Host tool: compiles a JS program (sloppy script) to XS bytecode with XS's own parser, so the
 * firmware does not parse JS at boot. Built by hosts/qemu/build.ts with the host's cc from the same
 * XS sources (parser and code generator only: no machine is needed).
 *
 *   xscompile IN.js OUT.xsb
 *
 * OUT.xsb: "XSBC" | version[3] | flags | symbolsSize (u32 LE) | codeSize (u32 LE) | symbols | code.
 * The firmware (xs_engine.c) recognises the magic and hands symbols + code to fxRunScript.
 *
 * Flag XSBC_ARCHIVED: every function literal's opcode (XS_CODE_CODE_n) is rewritten to its
 * XS_CODE_CODE_ARCHIVE_n twin, as Moddable does for code kept in flash: the engine then runs each
 * function's code where it lies in the image instead of copying it into a chunk. Without it a 113 KB
 * bundle would need its code in the heap twice during boot (the program, then the IIFE's copy).
 */
#include "xsScript.h"

#include <stdio.h>
#include <stdlib.h>

/* What the parser reports through the machine ("console") elsewhere. */
void fxVReportError(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
	(void)console;
	fprintf(stderr, "%s:%d: error: ", path ? path : "?", (int)line);
	vfprintf(stderr, format, arguments);
	fprintf(stderr, "\n");
}

void fxVReportWarning(void* console, txString path, txInteger line, txString format, c_va_list arguments)
{
	(void)console;
	fprintf(stderr, "%s:%d: warning: ", path ? path : "?", (int)line);
	vfprintf(stderr, format, arguments);
	fprintf(stderr, "\n");
}

txID fxGenerateProfileID(void* console)
{
	(void)console;
	return XS_NO_ID;
}

void fxGenerateTag(void* console, txString buffer, txInteger size, txString path)
{
	static int tag = 0;
	(void)console;
	snprintf(buffer, (size_t)size, "#%s@%d", path ? path : "", ++tag);
}

#define XSBC_ARCHIVED 1

/* Walks the code the way fxRemapIDs (xsRun.c) does and turns XS_CODE_CODE_n into
 * XS_CODE_CODE_ARCHIVE_n (same operand layout). Returns how many were rewritten. */
static int archive_functions(txByte* code, txSize size)
{
	txByte* p = code;
	txByte* q = code + size;
	int count = 0;
	while (p < q) {
		txU1 op = *(txU1*)p;
		txS1 offset = gxCodeSizes[op];
		if (op == XS_CODE_CODE_1 || op == XS_CODE_CODE_2 || op == XS_CODE_CODE_4) {
			*(txU1*)p = (txU1)(op == XS_CODE_CODE_1 ? XS_CODE_CODE_ARCHIVE_1 : op == XS_CODE_CODE_2 ? XS_CODE_CODE_ARCHIVE_2 : XS_CODE_CODE_ARCHIVE_4);
			count++;
		}
		if (0 < offset)
			p += offset;
		else if (0 == offset)
			p += 1 + sizeof(txID);
		else if (-1 == offset) {
			txU1 index = *(txU1*)(p + 1);
			p += 2 + index;
		}
		else if (-2 == offset) {
			txU2 index;
			p++;
			mxDecode2(p, index);
			p += index;
		}
		else if (-4 == offset) {
			txS4 index;
			p++;
			mxDecode4(p, index);
			p += index;
		}
		else {
			fprintf(stderr, "xscompile: unknown instruction size %d for opcode %d\n", offset, op);
			exit(1);
		}
	}
	return count;
}

static void put32(FILE* f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, f);
}

int main(int argc, char** argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: xscompile IN.js OUT.xsb\n");
		return 2;
	}
	FILE* in = fopen(argv[1], "rb");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	txParser parser;
	txParserJump jump;
	txScript* script = NULL;
	fxInitializeParser(&parser, C_NULL, 32 * 1024, 1993);
	parser.firstJump = &jump;
	parser.path = fxNewParserSymbol(&parser, argv[1]);
	if (c_setjmp(jump.jmp_buf) == 0) {
		fxParserTree(&parser, in, (txGetter)fgetc, mxProgramFlag, NULL);
		fclose(in);
		in = NULL;
		fxParserHoist(&parser);
		fxParserBind(&parser);
		script = fxParserCode(&parser);
	}
	if (in)
		fclose(in);
	int errors = parser.errorCount;
	fxTerminateParser(&parser);
	if (errors || !script) {
		fprintf(stderr, "%s: %d error(s)\n", argv[1], errors);
		return 1;
	}
	FILE* out = fopen(argv[2], "wb");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	archive_functions(script->codeBuffer, script->codeSize);
	fwrite("XSBC", 1, 4, out);
	txS1 version[4] = { XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION, XSBC_ARCHIVED };
	fwrite(version, 1, 4, out);
	put32(out, (uint32_t)script->symbolsSize);
	put32(out, (uint32_t)script->codeSize);
	fwrite(script->symbolsBuffer, 1, script->symbolsSize, out);
	fwrite(script->codeBuffer, 1, script->codeSize, out);
	if (fclose(out) != 0) {
		perror(argv[2]);
		return 1;
	}
	fxDeleteScript(script);
	return 0;
}
