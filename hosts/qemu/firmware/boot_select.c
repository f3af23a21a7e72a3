/*
 * The boot selector of the SSH image: which program runs, the image's own (the "factory" app, linked
 * in by bundle.S) or one of the two update slots on the flash bank (board.h), imitating ESP-IDF's
 * bootloader with app rollback enabled:
 *
 *   - boot records (32 bytes each, appended to one erase block; the last valid one counts) say
 *     which slot boots and in which state: NEW (committed by `ota commit`), PENDING (booted once,
 *     on trial), VALID (a login kept it), INVALID (rolled back), and which slot ran before (prev);
 *   - NEW: the record becomes PENDING and the slot boots; PENDING at boot means the image never
 *     marked itself valid (it hung, crashed or was reset during its trial): it becomes INVALID and
 *     prev boots; INVALID boots prev; VALID boots the slot;
 *   - a slot boots only when its header and SHA-256 check (a damaged slot counts as INVALID and the
 *     selector falls back to prev, then to the factory program).
 *
 * Slot image (XSOTA, made by hosts/qemu/build.ts, checked while it streams in by hosts/qemu/ota.ts):
 *   "XSOTA001" | u32 LE body bytes | u32 flags (0) | version[32] NUL-padded | 16 zero bytes |
 *   body (XS bytecode, "XSBC...") | SHA-256 of everything before it.
 * Boot record: "OTAD" | u32 seq | u8 slot | u8 state | u8 prev (0xFF: factory) | 17 zero bytes |
 *   u32 FNV-1a of the 28 bytes before it.
 *
 * The chosen slot is copied to BOARD_OTA_RUN_ADDR and its bytecode runs in place there (the flash
 * bank cannot be executed from while the flash store programs it). nativeBoard.boot() tells the
 * program what was chosen and why (xs_ssh.c).
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "board.h"
#include "boot_select.h"
#include "pflash.h"

#define HEADER_BYTES   64
#define DIGEST_BYTES   32
#define RECORD_BYTES   32
#define RECORDS        (PFLASH_ERASE_SIZE / RECORD_BYTES)
#define FACTORY        0xFF

enum { ST_NEW = 1, ST_PENDING = 2, ST_VALID = 3, ST_INVALID = 4 };

extern const char firmware_bundle[];
extern const char firmware_bundle_end[];

static BootChoice choice = { BOOT_FACTORY, "factory", "valid", "", "" };

static uint32_t le32(const uint8_t* p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put32(uint8_t* p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t fnv1a(const uint8_t* p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

typedef struct {
	uint32_t seq;
	uint8_t slot, state, prev;
	int index; /* where it lies; -1: none */
	int next;  /* the first free record; RECORDS when the block is full */
} Record;

static void last_record(Record* r)
{
	uint8_t b[RECORD_BYTES];
	r->index = -1;
	r->next = 0;
	for (int i = 0; i < (int)RECORDS; i++) {
		if (pflash_read(BOARD_OTA_DATA_OFFSET + (uint32_t)i * RECORD_BYTES, b, sizeof b) != PFLASH_OK)
			return;
		int erased = 1;
		for (size_t k = 0; k < sizeof b; k++)
			if (b[k] != 0xFF)
				erased = 0;
		if (erased) {
			r->next = i;
			return;
		}
		r->next = i + 1;
		if (memcmp(b, "OTAD", 4) != 0 || fnv1a(b, 28) != le32(b + 28) || b[8] > 1)
			continue; /* torn or foreign: skipped */
		r->seq = le32(b + 4);
		r->slot = b[8];
		r->state = b[9];
		r->prev = b[10];
		r->index = i;
	}
}

/* Appends a record (the block is erased and restarted when full). */
static void write_record(Record* r, uint8_t slot, uint8_t state, uint8_t prev)
{
	uint8_t b[RECORD_BYTES];
	memset(b, 0, sizeof b);
	memcpy(b, "OTAD", 4);
	put32(b + 4, r->index >= 0 ? r->seq + 1 : 1);
	b[8] = slot;
	b[9] = state;
	b[10] = prev;
	put32(b + 28, fnv1a(b, 28));
	if (r->next >= (int)RECORDS) {
		pflash_erase(BOARD_OTA_DATA_OFFSET);
		r->next = 0;
	}
	pflash_program(BOARD_OTA_DATA_OFFSET + (uint32_t)r->next * RECORD_BYTES, b, sizeof b);
	r->seq = le32(b + 4);
	r->slot = slot;
	r->state = state;
	r->prev = prev;
	r->index = r->next++;
}

static uint32_t slot_offset(int slot)
{
	return slot == 0 ? BOARD_OTA_SLOT0_OFFSET : BOARD_OTA_SLOT1_OFFSET;
}

/* Copies the slot to the run window when its image checks; returns its body size, or 0. */
static size_t load_slot(int slot, char* version)
{
	uint8_t* run = (uint8_t*)(uintptr_t)BOARD_OTA_RUN_ADDR;
	uint8_t digest[DIGEST_BYTES];
	if (pflash_read(slot_offset(slot), run, HEADER_BYTES) != PFLASH_OK || memcmp(run, "XSOTA001", 8) != 0)
		return 0;
	uint32_t body = le32(run + 8);
	if (body < 16 || body > BOARD_OTA_SLOT_SIZE - HEADER_BYTES - DIGEST_BYTES)
		return 0;
	uint32_t total = HEADER_BYTES + body + DIGEST_BYTES;
	if (pflash_read(slot_offset(slot), run, total) != PFLASH_OK)
		return 0;
	crypto_hash_sha256(digest, run, HEADER_BYTES + body);
	if (sodium_memcmp(digest, run + HEADER_BYTES + body, DIGEST_BYTES) != 0 || memcmp(run + HEADER_BYTES, "XSBC", 4) != 0)
		return 0;
	memcpy(version, run + 16, 32);
	version[32] = 0;
	return body;
}

static const char* label(int slot)
{
	return slot == 0 ? "ota_0" : slot == 1 ? "ota_1" : "factory";
}

const char* boot_select(size_t* size)
{
	static char note[96];
	*size = (size_t)(firmware_bundle_end - firmware_bundle);
	choice.note = note;
	if (pflash_init() != PFLASH_OK) {
		choice.note = "no flash bank: the factory program";
		return firmware_bundle;
	}
	Record r;
	last_record(&r);
	if (r.index < 0)
		return firmware_bundle;
	int slot = r.slot, prev = r.prev == FACTORY ? -1 : r.prev, boot, trial = 0;
	if (r.state == ST_NEW) {
		write_record(&r, r.slot, ST_PENDING, r.prev);
		boot = slot;
		trial = 1;
	} else if (r.state == ST_PENDING) {
		/* Booted on trial before and never marked valid: ESP-IDF's ESP_OTA_IMG_ABORTED. */
		write_record(&r, r.slot, ST_INVALID, r.prev);
		snprintf(note, sizeof note, "rolled back: %s was not marked valid on its trial boot", label(slot));
		boot = prev;
	} else if (r.state == ST_VALID)
		boot = slot;
	else
		boot = prev;
	size_t n = boot >= 0 ? load_slot(boot, choice.version) : 0;
	if (n == 0 && boot >= 0 && boot == slot) {
		write_record(&r, r.slot, ST_INVALID, r.prev);
		snprintf(note, sizeof note, "%s does not check (header or SHA-256): booting %s", label(slot), label(prev));
		trial = 0;
		boot = prev;
		n = boot >= 0 ? load_slot(boot, choice.version) : 0;
	}
	if (n == 0) {
		choice.version[0] = 0;
		return firmware_bundle;
	}
	*size = n;
	choice.slot = boot;
	choice.label = label(boot);
	choice.state = trial ? "trial" : "valid";
	return (const char*)(uintptr_t)(BOARD_OTA_RUN_ADDR + HEADER_BYTES);
}

const BootChoice* boot_choice(void)
{
	return &choice;
}

/* The SSH image's program (xs_platform.c calls this before creating the XS machine). */
const char* platform_program(size_t* size)
{
	const char* p = boot_select(size);
	printf("boot: %s (%s)%s%s%s%s\n", choice.label, choice.state, choice.version[0] ? ", version " : "", choice.version,
	       choice.note[0] ? "; " : "", choice.note);
	return p;
}
