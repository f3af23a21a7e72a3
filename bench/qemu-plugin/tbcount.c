/* A QEMU TCG plugin for bench/firmware.ts --ssh-pc: guest instructions executed, by the address of
 * the translation block that executed them. Each block gets an inline counter when QEMU translates
 * it; at exit every block that ran is written as "ADDRESS INSTRUCTIONS" (hex, decimal), one a line,
 * to the file the argument out=PATH names. The bench maps addresses to the image's functions.
 *
 *   qemu-system-riscv32 ... -plugin build/qemu/plugin/libtbcount.so,out=counts.txt
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* One record per (start address, length): a block re-translated with another length (icount's I/O
 * recompiles) is another record. */
typedef struct Block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t runs;
	struct Block* next;
} Block;

#define BUCKETS 65536
static Block* buckets[BUCKETS];
static char out_path[1024] = "tbcount.txt";

static Block* block_for(uint64_t vaddr, uint64_t insns)
{
	unsigned h = (unsigned)((vaddr >> 1) ^ (insns << 7)) & (BUCKETS - 1);
	for (Block* b = buckets[h]; b; b = b->next)
		if (b->vaddr == vaddr && b->insns == insns)
			return b;
	Block* b = calloc(1, sizeof *b);
	if (!b)
		abort();
	b->vaddr = vaddr;
	b->insns = insns;
	b->next = buckets[h];
	buckets[h] = b;
	return b;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb)
{
	Block* b = block_for(qemu_plugin_tb_vaddr(tb), qemu_plugin_tb_n_insns(tb));
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->runs, 1);
}

static void on_exit_dump(qemu_plugin_id_t id, void* unused)
{
	FILE* f = fopen(out_path, "w");
	if (!f)
		return;
	for (int i = 0; i < BUCKETS; i++)
		for (Block* b = buckets[i]; b; b = b->next)
			if (b->runs)
				fprintf(f, "%" PRIx64 " %" PRIu64 "\n", b->vaddr, b->runs * b->insns);
	fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv)
{
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "out=", 4) == 0)
			snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_exit_dump, NULL);
	return 0;
}
