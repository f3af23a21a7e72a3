// The QEMU firmware's flash store: modules/files/flashfs.ts over the emulated NOR flash of QEMU virt's
// second CFI bank (hosts/qemu/firmware/pflash.c, xs_flash.c -> globalThis.nativeFlash), which
// run.ts backs with the file DATA/flash.img (-drive if=pflash,unit=1): files survive reboots.
//
// The bank has 32 MiB in 256 KiB erase blocks; the store takes the first FLASH_STORE_BLOCKS of them.
// One block is always kept erased for garbage collection, so the store holds
// (FLASH_STORE_BLOCKS - 1) blocks of pages, less one header page per block and two reserved pages:
// FLASH_STORE_CAPACITY bytes of file data (inode pages included in the count, like SPIFFS's df).

import { FlashFS, type NorFlash } from "../../modules/files/flashfs.js";

/** What xs_flash.c installs. */
export interface NativeFlash {
  readonly size: number;
  readonly eraseSize: number;
  read(offset: number, buffer: Uint8Array): void;
  program(offset: number, buffer: Uint8Array): void;
  erase(offset: number): void;
  stats(): { wordsProgrammed: number; blocksErased: number; errors: number };
}

/** Erase blocks of the bank the store uses (256 KiB each): 2 MiB, like a large ESP32 data partition. */
export const FLASH_STORE_BLOCKS = 8;
/** The store's page: 1 KiB (992 bytes of data); RAM tables take 3 bytes per page (6 KiB here). */
export const FLASH_STORE_PAGE = 1024;
/** Bytes of file data the store holds: (8 - 1) * (256 - 1) - 2 pages of 992 bytes = 1,768,736. */
export const FLASH_STORE_CAPACITY = ((FLASH_STORE_BLOCKS - 1) * (262144 / FLASH_STORE_PAGE - 1) - 2) * (FLASH_STORE_PAGE - 32);

export function nativeFlash(): NativeFlash {
  const f = (globalThis as unknown as { nativeFlash?: NativeFlash }).nativeFlash;
  if (!f) throw new Error("this XS host has no nativeFlash (hosts/qemu/firmware/xs_flash.c)");
  return f;
}

/** The first `blocks` erase blocks of the bank as a NorFlash. */
export function bankRegion(native: NativeFlash, blocks = FLASH_STORE_BLOCKS): NorFlash {
  const size = blocks * native.eraseSize;
  if (size > native.size) throw new Error(`flash: ${blocks} blocks of ${native.eraseSize} bytes do not fit the ${native.size}-byte bank`);
  const check = (offset: number, n: number) => {
    if (offset < 0 || offset + n > size) throw new RangeError(`flash: ${offset}+${n} is outside the store's ${size} bytes`);
  };
  return {
    size,
    eraseSize: native.eraseSize,
    programSize: 4,
    read(offset, out) {
      check(offset, out.length);
      native.read(offset, out);
    },
    program(offset, data) {
      check(offset, data.length);
      native.program(offset, data);
    },
    erase(offset) {
      check(offset, native.eraseSize);
      native.erase(offset);
    },
  };
}

/** Mounts (formatting blank or foreign flash, repairing what a power cut left) the firmware's store. */
export function openFirmwareFlash(native: NativeFlash = nativeFlash()): FlashFS {
  return new FlashFS(bankRegion(native), { pageSize: FLASH_STORE_PAGE });
}
