/* lwIP architecture glue for the QEMU firmware (rv32imc, picolibc, little-endian, no OS). */
#ifndef NET_ARCH_CC_H
#define NET_ARCH_CC_H

#include <stdint.h>
#include <stdio.h>

#ifndef BYTE_ORDER /* picolibc's <machine/endian.h> usually has it */
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_ERRNO_STDINCLUDE 1   /* picolibc's <errno.h> */
#define LWIP_TIMEVAL_PRIVATE 0

/* Diagnostics go to stdout (the platform's console). */
#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)

void net_platform_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_ASSERT(x) net_platform_assert((x), __FILE__, __LINE__)

/* Random numbers (local ports; lwIP's own uses). Weak default in sys_arch.c; the firmware may
 * override net_random() with its hardware RNG. */
uint32_t net_random(void);
#define LWIP_RAND() net_random()

#endif
