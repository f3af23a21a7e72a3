/*
 * The QEMU `virt` board as the firmware sees it (rv32imc, no OS, one hart, machine mode).
 * Addresses are QEMU 7.2's hw/riscv/virt.c memory map.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_TEST_BASE      0x00100000u /* sifive_test: pass/fail/reset finisher */
#define BOARD_RTC_BASE       0x00101000u /* goldfish RTC: ns since the epoch (host clock) */
#define BOARD_CLINT_BASE     0x02000000u
#define BOARD_MTIMECMP       (BOARD_CLINT_BASE + 0x4000u)
#define BOARD_MTIME          (BOARD_CLINT_BASE + 0xBFF8u)
#define BOARD_UART0_BASE     0x10000000u /* ns16550a, QEMU's first -serial */
#define BOARD_MTIME_HZ       10000000u   /* CLINT timebase on virt: 10 MHz */

/* Entropy seed the run script places with `-device loader,file=SEED,addr=BOARD_SEED_ADDR`
 * (outside every segment of the image, inside the machine's RAM). Layout: 8-byte magic then
 * BOARD_SEED_BYTES random bytes. The firmware wipes it after reading. */
#define BOARD_SEED_ADDR      0x80300000u
#define BOARD_SEED_MAGIC     "XSSEED01"
#define BOARD_SEED_BYTES     32

/* authorized_keys the run script places the same way (`-device loader`, like the seed): 8-byte
 * magic, a little-endian uint32 length, then the text; BOARD_KEYS_MAX bytes at most. */
#define BOARD_KEYS_ADDR      0x80301000u
#define BOARD_KEYS_MAGIC     "XSKEYS01"
#define BOARD_KEYS_MAX       (64u * 1024u)

/* A fixed XS machine size the run script may place the same way (`npm run qemu -- --creation`):
 * 8-byte magic, then little-endian uint32 chunk bytes, slots and stack slots. The machine then
 * never grows, like a Moddable build's `creation` with incremental sizes of 0. */
#define BOARD_CREATION_ADDR  0x80311000u
#define BOARD_CREATION_MAGIC "XSMEMFX1"

/* Firmware update slots on the flash bank (pflash.h; offsets in the bank, 256 KiB erase blocks),
 * after the flash store's first 2 MiB; boot_select.c picks one at boot and copies its program to
 * BOARD_OTA_RUN_ADDR, where it runs in place, as an ESP32's flash MMU maps the chosen app partition.
 * The layout and formats are mirrored in hosts/qemu/ota.ts. */
#define BOARD_OTA_DATA_OFFSET 0x00200000u /* one block of 32-byte boot records, appended */
#define BOARD_OTA_SLOT0_OFFSET 0x00400000u
#define BOARD_OTA_SLOT1_OFFSET 0x00600000u
#define BOARD_OTA_SLOT_SIZE   0x00100000u /* 1 MiB each */
#define BOARD_OTA_RUN_ADDR    0x80400000u /* guest RAM outside the image and its heap */

#define MTIME_PER_MS (BOARD_MTIME_HZ / 1000u)

/* Exit codes the firmware reports through the test device (QEMU exits with them). */
enum {
	EXIT_OK = 0,
	EXIT_JS_EXCEPTION = 1,    /* uncaught exception or unhandled rejection */
	EXIT_XS_ABORT = 2,        /* XS gave up: memory full, stack overflow, ... */
	EXIT_TRAP = 3,            /* CPU exception: illegal instruction, bad access */
	EXIT_NO_ENTROPY = 4,      /* randomness asked for without a seed */
	EXIT_BOOT = 5,            /* machine creation or image problem */
	EXIT_REBOOT = 6,          /* a reboot asked for (ota commit --reboot, a rollback): run.ts boots again */
};

void board_init(void);
uint64_t board_mtime(void);
/* Sleeps (wfi) until mtime reaches `when` or any enabled interrupt is pending. */
void board_sleep_until(uint64_t when);
/* mtime ticks spent asleep in board_sleep_until (under -icount shift=0 QEMU counts idle time as
 * instructions: 1 per virtual ns, 100 per tick). */
uint64_t board_idle_ticks(void);
/* Host wall clock through the goldfish RTC, in ns since the epoch. */
uint64_t board_rtc_ns(void);
/* The console log: QEMU semihosting, or the UART when QEMU has none (board_log_on_uart()). */
void board_log_putc(char c);
void board_log_write(const char* s, size_t n);
int board_log_on_uart(void);
void board_uart_putc(char c);
int board_uart_getc(void); /* -1 when nothing waits */
void board_uart_write(const char* s, size_t n);
__attribute__((noreturn)) void board_exit(int code);

/* Linker-script symbols (link.ld). */
extern char __heap_start[], __heap_end[], __stack_limit[], __stack[];
extern char __flash_start[], __flash_end[], __ram_start[], __ram_end[];

/* Peak C stack use in bytes (the stack is painted at boot). */
size_t board_stack_peak(void);
void board_paint_stack(void);
/* Stacks lent by native_call_with_stack() (stack_call.c): with measuring on, each is painted whole
 * and board_lent_stack_peak() gives the bytes the last call used (0 with measuring off). */
void board_measure_lent_stack(int on);
size_t board_lent_stack_peak(void);
/* Instructions retired since reset (minstret, 64-bit; under -icount shift=0 idle time counts too,
 * 1 per virtual ns). */
uint64_t board_instret(void);

/* Randomness (random.c): a ChaCha20 DRBG with fast key erasure, seeded from BOARD_SEED_ADDR. */
void random_init(void);
int random_seeded(void);
void native_random(void* buf, size_t n);
int platform_rand(void);

/* Work the event loop polls (drivers without interrupts, e.g. virtio-net + lwIP). A poller returns
 * nonzero when it did something; the loop then polls again before sleeping. While any poller is
 * registered the loop never sleeps longer than PLATFORM_POLL_IDLE_MS and never ends on its own. */
typedef int (*platform_poller)(void* context);
#define PLATFORM_MAX_POLLERS 4
#define PLATFORM_POLL_IDLE_MS 1
int platform_add_poller(platform_poller poller, void* context);
void platform_remove_poller(platform_poller poller, void* context);

#endif /* BOARD_H */
