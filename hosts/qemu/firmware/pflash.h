/*
 * The second CFI parallel flash bank of QEMU's `virt` machine (virt.flash1, `-drive if=pflash,unit=1`),
 * as raw NOR flash for the firmware's file system (modules/files/flashfs.ts through xs_flash.c).
 *
 * QEMU 7.2 hw/riscv/virt.c: two pflash_cfi01 devices (Intel/Sharp command set) of 32 MiB each at
 * 0x20000000 (unit 0: QEMU boots from it when it is given, so it stays unused) and 0x22000000
 * (unit 1), each a 32-bit bank of two 16-bit chips (width 4, device-width 2), 256 KiB erase blocks
 * (VIRT_FLASH_SECTOR_SIZE), backed by the drive's file: every program and erase is written through
 * to it at once, so the content survives a reboot or a killed QEMU. The file must be exactly 32 MiB.
 *
 * NOR rules as on a real chip: program only clears bits (this driver ANDs the new bytes with the
 * old ones itself, because QEMU's model overwrites), erase sets a whole block to 0xFF.
 */
#ifndef PFLASH_H
#define PFLASH_H

#include <stddef.h>
#include <stdint.h>

#define PFLASH_BASE       0x22000000u /* virt.flash1 */
#define PFLASH_BANK_SIZE  (32u << 20)
/* The erase block QEMU's virt uses; pflash_init() checks it against the chip's CFI table. */
#define PFLASH_ERASE_SIZE (256u << 10)

enum {
	PFLASH_OK = 0,
	PFLASH_ERR_RANGE = -1,   /* outside the bank, or an erase not on a block boundary */
	PFLASH_ERR_DEVICE = -2,  /* the chip reported a program/erase error (read-only drive, locked) */
	PFLASH_ERR_ABSENT = -3,  /* no CFI flash answers at PFLASH_BASE */
	PFLASH_ERR_GEOMETRY = -4 /* CFI geometry is not what this driver expects */
};

/* Checks the chip (CFI query: "QRY", size, erase block) and leaves it in read-array mode. */
int pflash_init(void);
/* Bytes in the bank and its erase block size (valid after pflash_init). */
uint32_t pflash_size(void);
uint32_t pflash_erase_size(void);
/* Copies n bytes at offset (memory-mapped read). */
int pflash_read(uint32_t offset, void* out, size_t n);
/* Programs n bytes at offset: every bit that is 0 in data is cleared, the others stay as they are. */
int pflash_program(uint32_t offset, const void* data, size_t n);
/* Erases the block at offset (a multiple of the erase size) to 0xFF. */
int pflash_erase(uint32_t offset);
/* Operation counters since boot. */
typedef struct {
	uint32_t words_programmed, blocks_erased, errors;
} pflash_stats;
void pflash_get_stats(pflash_stats* s);

#endif /* PFLASH_H */
