/* lwIP's clock and randomness without an OS.
 *
 * sys_now(): milliseconds from the CLINT's mtime register, which QEMU's virt machine counts at
 * 10 MHz (on an ESP32-C3 the same role falls to the system timer). */
#include <stdint.h>

#include "lwip/sys.h"

#ifndef NET_MTIME_ADDR
#define NET_MTIME_ADDR 0x0200BFF8u /* CLINT mtime on QEMU virt */
#endif
#ifndef NET_MTIME_HZ
#define NET_MTIME_HZ 10000000u
#endif

/** 64-bit mtime. By default through the `time` CSR (rdtime), which QEMU answers from the same
 * counter without an MMIO access: an event loop that polls continuously must not hold QEMU's I/O
 * lock on every turn, or the virtio device (served by QEMU's main thread) slows down. Define
 * NET_MTIME_MMIO to read the CLINT register instead (targets without the time CSR). */
static uint64_t mtime(void) {
  uint32_t h, l, h2;
  do {
#ifdef NET_MTIME_MMIO
    volatile uint32_t *lo = (volatile uint32_t *)NET_MTIME_ADDR;
    h = lo[1];
    l = lo[0];
    h2 = lo[1];
#else
    __asm__ volatile(".option push\n.option arch,+zicsr\nrdtimeh %0\nrdtime %1\nrdtimeh %2\n.option pop"
                     : "=r"(h), "=r"(l), "=r"(h2));
#endif
  } while (h != h2);
  return ((uint64_t)h << 32) | l;
}

u32_t sys_now(void) {
  return (u32_t)(mtime() / (NET_MTIME_HZ / 1000u));
}

/** xorshift32 seeded from mtime: fine for picking local ports, not for secrets. */
__attribute__((weak)) uint32_t net_random(void) {
  static uint32_t s;
  if (s == 0) s = (uint32_t)mtime() | 1u;
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}
