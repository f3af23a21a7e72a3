/* XS platform header for xsrun, the Linux host runner (selected with -DXSPLATFORM="xsrun_platform.h").
 *
 * A single-threaded machine without modules, timers or a debugger: one script bundle is evaluated
 * and its promise jobs are run until none are left. Chunks and slots come from malloc (the XS
 * defaults); everything else that xsPlatforms.c would supply by default we write in xsrun.c. */

#ifndef XSRUN_PLATFORM_H
#define XSRUN_PLATFORM_H

#undef mxLinux
#define mxLinux 1

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
#include <pthread.h> /* fxCStackLimit reads the C stack bounds with pthread_getattr_np */

/* XS defaults we keep: symbol keys, malloc'd chunk and slot blocks, the parser entry point. */
#define mxUseDefaultBuildKeys 1
#define mxUseDefaultChunkAllocation 1
#define mxUseDefaultSlotAllocation 1
#define mxUseDefaultParseScript 1
/* No debugger connection (mxDebug is not defined, so these are unused, but harmless). */
#define mxUseDefaultDebug 1

/* One machine, no workers: SharedArrayBuffer and Atomics work on plain memory. */
#define mxUseDefaultSharedChunks 1

/* Per-machine platform data: whether promise jobs are waiting (set by fxQueuePromiseJobs). */
#define mxMachinePlatform \
	int promiseJobsPending; \
	int exitStatus;

#endif /* XSRUN_PLATFORM_H */
