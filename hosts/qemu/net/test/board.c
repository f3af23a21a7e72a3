/* Minimal board support for the network test image on QEMU virt: console on the ns16550 UART at
 * 0x10000000, exit through the sifive test device at 0x100000, and a trap handler that reports the
 * cause and stops (instead of hanging). picolibc's hosted crt0 does the rest (stack, .data, .bss). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define UART0 ((volatile uint8_t *)0x10000000u)
#define UART_THR 0
#define UART_LSR 5
#define LSR_THRE 0x20u
#define TEST_DEVICE ((volatile uint32_t *)0x00100000u)
#define TEST_PASS 0x5555u
#define TEST_FAIL 0x3333u

static int uart_putc(char c, FILE *f) {
  (void)f;
  while (!(UART0[UART_LSR] & LSR_THRE)) {
  }
  UART0[UART_THR] = (uint8_t)c;
  return (unsigned char)c;
}

static FILE console = FDEV_SETUP_STREAM(uart_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &console;
FILE *const stdout = &console;
FILE *const stderr = &console;

void _exit(int code) {
  *TEST_DEVICE = code == 0 ? TEST_PASS : (((uint32_t)code << 16) | TEST_FAIL);
  for (;;) {
  }
}

static void __attribute__((interrupt("machine"), aligned(4))) trap(void) {
  uint32_t cause, epc, tval;
  __asm__ volatile(".option push\n.option arch,+zicsr\ncsrr %0, mcause\ncsrr %1, mepc\ncsrr %2, mtval\n.option pop"
                   : "=r"(cause), "=r"(epc), "=r"(tval));
  printf("\ntrap: mcause=%lu mepc=0x%08lx mtval=0x%08lx\n", (unsigned long)cause, (unsigned long)epc, (unsigned long)tval);
  _exit(3);
}

void board_init(void) {
  __asm__ volatile(".option push\n.option arch,+zicsr\ncsrw mtvec, %0\n.option pop" ::"r"(trap));
}
