/*
 * XS platform header for the bare-metal rv32 firmware (QEMU virt, picolibc, no OS, one thread).
 * Selected by the build with -DINCLUDE_XSPLATFORM -DXSPLATFORM="qemu_xs.h".
 */
#ifndef QEMU_XS_H
#define QEMU_XS_H

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

/* What XS takes from its own defaults (xsPlatforms.c): everything malloc-based and module-less.
 * Ours (xs_platform.c): machine platform, promise job queue, abort. */
#define mxUseDefaultBuildKeys 1
#define mxUseDefaultChunkAllocation 1
#define mxUseDefaultSlotAllocation 1
#define mxUseDefaultFindModule 1
#define mxUseDefaultLoadModule 1
#define mxUseDefaultParseScript 1
#define mxUseDefaultSharedChunks 1

/* No threads: Atomics.wait cannot block, the waiter fields only keep xsAtomics.c compiling. */
#define mxMachinePlatform \
	void* host; \
	void* waiterCondition; \
	void* waiterData; \
	void* waiterLink; \
	int promiseJobsQueued;

#define C_PATH_MAX 128

/* free() that ignores pointers into the image: archived bytecode runs in place (xs_engine.c). */
extern void platform_free(void* p);
#define c_free platform_free

/* Math.random from the platform DRBG (random.c), not picolibc's rand(). */
extern int platform_rand(void);
#define c_rand platform_rand
#define C_RAND_MAX 0x7fffffff

#endif /* QEMU_XS_H */
