// Runs on the QEMU flash image for bench/firmware.ts: the raw write speed of the emulated NOR flash
// (nativeFlashBench.program: erase and program in a C loop, no XS in between) beside the flash
// store's own (a Files upload of the same size in 4 KiB writes, as SFTP and scp give it on a board),
// on a fresh DIR/flash.img. Prints "bench raw BYTES NS INSTRUCTIONS" and "bench NAME BYTES MS FLASH_MS"
// for the store over the emulated flash (store), and over a null flash (store-null); FLASH_MS is the time inside the NorFlash calls (virtual ns = instructions
// under -icount shift=0, so the rest is the store's XS work).

import { Files } from "../../modules/files/files.js";
import { BOARD_TRANSFER_LENGTH } from "../../modules/files/files.js";
import { FLASH_STORE_BLOCKS, FLASH_STORE_PAGE, bankRegion, nativeFlash } from "../../hosts/qemu/flash.js";
import { FlashFS, type NorFlash } from "../../modules/files/flashfs.js";
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

const piece = new Uint8Array(BOARD_TRANSFER_LENGTH);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 31 + 7) & 0xff;

/** Time (performance.now: virtual ns = guest instructions under -icount shift=0) spent inside the
 * NorFlash calls, so the store's own XS work is the rest. */
const inFlash = { ms: 0 };
function timed(f: NorFlash): NorFlash {
  return {
    size: f.size,
    eraseSize: f.eraseSize,
    programSize: f.programSize,
    read(offset, out) { const t = performance.now(); f.read(offset, out); inFlash.ms += performance.now() - t; },
    program(offset, data) { const t = performance.now(); f.program(offset, data); inFlash.ms += performance.now() - t; },
    erase(offset) { const t = performance.now(); f.erase(offset); inFlash.ms += performance.now() - t; },
  };
}
/** A null NorFlash of the same geometry (reads give erased 0xFF, program and erase do nothing; the
 * heap has no room for a 2 MiB RAM copy): the store's XS logic alone, no emulated flash. */
function nullFlash(size: number, eraseSize: number): NorFlash {
  return { size, eraseSize, programSize: 4, read(_offset, out) { out.fill(0xff); }, program() {}, erase() {} };
}
/** One 1 MiB upload through Files over `flash`; prints "bench NAME BYTES MS FLASH_MS". */
function upload(name: string, flash: NorFlash): void {
  const store = new FlashFS(flash, { pageSize: FLASH_STORE_PAGE });
  const files = new Files(store, () => 0x1234);
  inFlash.ms = 0;
  const t0 = performance.now();
  const up = files.beginUpload("bench.bin", false);
  for (let off = 0; off < BENCH_BYTES; off += piece.length) up.write(off, piece);
  up.commit();
  print(`bench ${name} ${BENCH_BYTES} ${(performance.now() - t0).toFixed(3)} ${inFlash.ms.toFixed(3)}`);
}
const native = nativeFlash();
// The store as the SSH image has it (the NorFlash calls timed, the rest is XS).
upload("store", timed(bankRegion(native)));
// The same over the null flash: the store's XS logic alone.
upload("store-null", timed(nullFlash(FLASH_STORE_BLOCKS * native.eraseSize, native.eraseSize)));
