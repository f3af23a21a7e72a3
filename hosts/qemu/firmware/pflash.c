/*
 * Driver for QEMU virt's CFI flash bank 1 (pflash_cfi01, Intel command set); see pflash.h.
 *
 * The bank is 32 bits wide: two 16-bit chips side by side, so every command is written to both
 * (the command byte in each 16-bit lane) and status reads come back in both lanes. Commands used:
 *   0xFF read array      0x20 block erase + 0xD0 confirm (poll status bit 7 = ready)
 *   0xE8 write to buffer: count - 1, the words, 0xD0 confirm (poll): up to BUFFER_WORDS words of one
 *        aligned window per command (QEMU writes the window through to the file at the end; a word
 *        program, 0x40, would cost a file write and a memory-map switch per word: ~7 KiB/s)
 *   0x50 clear status    0x98 CFI query
 * Status bits checked: 0x10 program error, 0x20 erase error, 0x02 block locked.
 */
#include <string.h>

#include "pflash.h"

#define LANES(c)       ((uint32_t)(c) * 0x00010001u)
#define CMD_READ_ARRAY LANES(0xFF)
#define CMD_BUFFER     LANES(0xE8)
#define CMD_ERASE      LANES(0x20)
#define CMD_CONFIRM    LANES(0xD0)
#define CMD_CLEAR      LANES(0x50)
#define CMD_CFI_QUERY  LANES(0x98)
#define SR_READY       0x80u
#define SR_ERRORS      (0x20u | 0x10u | 0x08u | 0x02u)
/* Words per write-to-buffer command: a 1 KiB window, inside the chip's buffer (CFI 0x2A: 2 KiB per
 * chip, 4 KiB for the bank) and aligned so that it never straddles QEMU's write-back window. */
#define BUFFER_WORDS   256u
/* Polls before giving up (QEMU completes at once; a real chip takes microseconds to a second). */
#define POLL_LIMIT     10000000u

static volatile uint32_t* const bank = (volatile uint32_t*)(uintptr_t)PFLASH_BASE;
static uint32_t bank_size = PFLASH_BANK_SIZE;
static uint32_t erase_size = PFLASH_ERASE_SIZE;
static pflash_stats stats;

static uint32_t wait_ready(volatile uint32_t* at)
{
	uint32_t sr = 0;
	for (uint32_t i = 0; i < POLL_LIMIT; i++) {
		sr = *at;
		if ((sr & SR_READY) && (sr & (SR_READY << 16)))
			break;
	}
	return sr;
}

/* Ends a command: status errors are cleared, the bank goes back to read-array mode. */
static int finish(volatile uint32_t* at, uint32_t sr)
{
	int rc = PFLASH_OK;
	if (!(sr & SR_READY) || (sr & (SR_ERRORS | (SR_ERRORS << 16)))) {
		*at = CMD_CLEAR;
		stats.errors++;
		rc = PFLASH_ERR_DEVICE;
	}
	*at = CMD_READ_ARRAY;
	return rc;
}

/* CFI query byte at query offset q (both chips answer; the low lane is read). */
static uint8_t cfi(uint32_t q)
{
	return (uint8_t)(bank[q] & 0xFF);
}

int pflash_init(void)
{
	bank[0x55] = CMD_CFI_QUERY;
	int ok = cfi(0x10) == 'Q' && cfi(0x11) == 'R' && cfi(0x12) == 'Y';
	uint32_t chip_size = 0, block = 0;
	if (ok) {
		chip_size = 1u << cfi(0x27);                                 /* bytes per chip */
		block = ((uint32_t)cfi(0x2F) | ((uint32_t)cfi(0x30) << 8)) * 256u; /* per chip */
	}
	bank[0] = CMD_READ_ARRAY;
	if (!ok)
		return PFLASH_ERR_ABSENT;
	/* Two chips interleaved: the bank's sizes are twice a chip's. */
	if (chip_size * 2 != PFLASH_BANK_SIZE || block * 2 != PFLASH_ERASE_SIZE)
		return PFLASH_ERR_GEOMETRY;
	bank_size = chip_size * 2;
	erase_size = block * 2;
	return PFLASH_OK;
}

uint32_t pflash_size(void)
{
	return bank_size;
}

uint32_t pflash_erase_size(void)
{
	return erase_size;
}

static int in_bank(uint32_t offset, size_t n)
{
	return offset <= bank_size && n <= bank_size - offset;
}

int pflash_read(uint32_t offset, void* out, size_t n)
{
	if (!in_bank(offset, n))
		return PFLASH_ERR_RANGE;
	/* Read-array mode maps the content straight into memory. */
	memcpy(out, (const void*)((uintptr_t)PFLASH_BASE + offset), n);
	return PFLASH_OK;
}

int pflash_program(uint32_t offset, const void* data, size_t n)
{
	static uint32_t words[BUFFER_WORDS];
	if (!in_bank(offset, n))
		return PFLASH_ERR_RANGE;
	const uint8_t* src = data;
	uint32_t end = offset + (uint32_t)n;
	uint32_t word = offset & ~3u;
	while (word < end) {
		/* One window: the new words are the old ones ANDed with the data (NOR programming only
		 * clears bits; QEMU's model would overwrite), read while the bank is in read-array mode. */
		uint32_t window_end = (word / (BUFFER_WORDS * 4) + 1) * (BUFFER_WORDS * 4);
		uint32_t stop = end < window_end ? end : window_end;
		uint32_t first = word, count = 0, changed = 0;
		for (; word < stop; word += 4, count++) {
			uint32_t old = bank[word / 4], value = old;
			for (uint32_t i = 0; i < 4; i++) {
				uint32_t pos = word + i;
				if (pos >= offset && pos < end)
					value &= ~((uint32_t)(uint8_t)~src[pos - offset] << (8 * i));
			}
			words[count] = value;
			changed |= value ^ old;
		}
		if (!changed)
			continue;
		volatile uint32_t* at = bank + first / 4;
		*at = CMD_BUFFER;
		uint32_t sr = wait_ready(at);
		if (!(sr & SR_READY))
			return finish(at, sr);
		*at = LANES(count - 1);
		for (uint32_t i = 0; i < count; i++)
			at[i] = words[i];
		*at = CMD_CONFIRM;
		int rc = finish(at, wait_ready(at));
		if (rc != PFLASH_OK)
			return rc;
		stats.words_programmed += count;
	}
	return PFLASH_OK;
}

int pflash_erase(uint32_t offset)
{
	if (offset % erase_size || !in_bank(offset, erase_size))
		return PFLASH_ERR_RANGE;
	volatile uint32_t* at = bank + offset / 4;
	*at = CMD_ERASE;
	*at = CMD_CONFIRM;
	int rc = finish(at, wait_ready(at));
	if (rc == PFLASH_OK)
		stats.blocks_erased++;
	return rc;
}

void pflash_get_stats(pflash_stats* s)
{
	*s = stats;
}
