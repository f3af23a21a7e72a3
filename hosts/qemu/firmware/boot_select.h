/* The boot selector (boot_select.c): which program the SSH image runs. */
#ifndef BOOT_SELECT_H
#define BOOT_SELECT_H

#include <stddef.h>

#define BOOT_FACTORY (-1)

typedef struct {
	int slot;            /* 0, 1, or BOOT_FACTORY (the program linked into the image) */
	const char* label;   /* "ota_0", "ota_1", "factory" */
	const char* state;   /* "trial" (first boot after ota commit) or "valid" */
	char version[33];    /* the slot image's version ("" for the factory program) */
	const char* note;    /* why the selector chose as it did, when it fell back ("" otherwise) */
} BootChoice;

/* Picks and loads the program; returns it and its size. Runs before the XS machine exists. */
const char* boot_select(size_t* size);
const BootChoice* boot_choice(void);

#endif
