/*
 * Host tool: compiles a JS program (sloppy script) to XS bytecode with XS's own parser, so the
 * firmware does not parse JS at boot. Built by hosts/qemu/build.ts with the host's cc from the same
 * XS sources (parser and code generator only: no machine is needed).
 *
 *   xscompile IN.js OUT.xsb
 *
 * OUT.xsb: "XSBC" | version[4] | symbolsSize (u32 LE) | codeSize (u32 LE) | symbols | code.
 * The firmware (xs_engine.c) recognises the magic and hands symbols + code to fxRunScript.
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
	fwrite("XSBC", 1, 4, out);
	txS1 version[4] = { XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION, 0 };
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
