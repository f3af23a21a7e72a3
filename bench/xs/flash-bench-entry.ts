// Runs on the QEMU flash image for bench/firmware.ts: the raw write speed of the emulated NOR flash
// (nativeFlashBench.program: erase and program in a C loop, no XS in between) beside the flash
// store's own (a Files upload of the same size in 4 KiB writes, as SFTP and scp give it on a board),
// on a fresh DIR/flash.img. Prints "bench raw BYTES NS INSTRUCTIONS" and "bench store BYTES MS".

import { Files } from "../../modules/files/files.js";
import { BOARD_TRANSFER_LENGTH } from "../../modules/files/files.js";
import { FLASH_STORE_BLOCKS, nativeFlash, openFirmwareFlash } from "../../hosts/qemu/flash.js";
import { print } from "../../hosts/qemu/xs/host.js";

/** Bytes written each way: 1 MiB, within the store's 1.77 MB and past its first erase block. */
const BENCH_BYTES = 1 << 20;

interface FlashBench {
  program(offset: number, bytes: number): [number, number];
}
const bench = (globalThis as unknown as { nativeFlashBench: FlashBench }).nativeFlashBench;

/** The raw loop writes at 16 MiB: past the store's blocks (2 MiB) and the SSH image's OTA records
 * and slots (2-8 MiB: hosts/qemu/ota.ts), inside the 32 MiB bank. */
const RAW_OFFSET = 16 << 20;
if (RAW_OFFSET < FLASH_STORE_BLOCKS * nativeFlash().eraseSize) throw new Error("the raw bench would overwrite the store");
const rawOffset = RAW_OFFSET;
const [ns, instructions] = bench.program(rawOffset, BENCH_BYTES);
print(`bench raw ${BENCH_BYTES} ${ns} ${instructions}`);

const store = openFirmwareFlash();
const files = new Files(store, () => 0x1234);
const piece = new Uint8Array(BOARD_TRANSFER_LENGTH);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 31 + 7) & 0xff;
const t0 = performance.now();
const up = files.beginUpload("bench.bin", false);
for (let off = 0; off < BENCH_BYTES; off += piece.length) up.write(off, piece);
up.commit();
print(`bench store ${BENCH_BYTES} ${(performance.now() - t0).toFixed(1)}`);
