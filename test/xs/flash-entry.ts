// Runs on the QEMU firmware (test/qemu-flash.test.ts): the flash store on the emulated NOR flash,
// across boots of the same DIR/flash.img. Each boot mounts the store and counts itself in "boots":
//   boot 1: writes persist.bin (PERSIST_BYTES, deterministic) through a Files upload;
//   boot 2: reads it back and checks it, then replaces churn.bin CHURN_ROUNDS times (garbage
//           collection of 256 KiB blocks) and removes it;
//   boot 3: checks persist.bin once more, and that churn.bin is gone.
// Prints "flash: ..." figures and "flash boot N ok"; any failure throws (the firmware exits 1).

import { Files } from "../../modules/files/files.js";
import { FLASH_STORE_CAPACITY, nativeFlash, openFirmwareFlash } from "../../hosts/qemu/flash.js";
import { print } from "../../hosts/qemu/xs/host.js";
import type { FlashStore } from "../../modules/files/store.js";

const PERSIST_BYTES = 256 * 1024;
const CHURN_BYTES = 300 * 1024;
const CHURN_ROUNDS = 8;
const CHUNK = 4096;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`flash self-test: ${what}`);
}

/** Deterministic content: byte i of a stream seeded with `seed`. */
function fill(buf: Uint8Array, offset: number, seed: number): void {
  for (let i = 0; i < buf.length; i++) {
    const x = (offset + i) * 2654435761 + seed;
    buf[i] = (x ^ (x >>> 13) ^ (x >>> 7)) & 0xff;
  }
}

function upload(files: Files, name: string, size: number, seed: number): number {
  const t0 = performance.now();
  const up = files.beginUpload(name, false);
  const buf = new Uint8Array(CHUNK);
  for (let off = 0; off < size; off += CHUNK) {
    const n = Math.min(CHUNK, size - off);
    const part = n === CHUNK ? buf : buf.subarray(0, n);
    fill(part, off, seed);
    up.write(off, part);
  }
  up.commit();
  return performance.now() - t0;
}

function verify(store: FlashStore, name: string, size: number, seed: number): number {
  const t0 = performance.now();
  const s = store.stat(name);
  check(s !== null && s.size === size, `${name}: size ${s?.size}, expected ${size}`);
  const h = store.open(name, "read");
  const got = new Uint8Array(CHUNK), want = new Uint8Array(CHUNK);
  for (let off = 0; off < size; off += CHUNK) {
    const n = h.read(off, got);
    check(n === Math.min(CHUNK, size - off), `${name}: short read at ${off}`);
    fill(want.subarray(0, n), off, seed);
    for (let i = 0; i < n; i++) if (got[i] !== want[i]) throw new Error(`flash self-test: ${name} differs at byte ${off + i}`);
  }
  h.close();
  return performance.now() - t0;
}

const t0 = performance.now();
const store = openFirmwareFlash();
const mountMs = performance.now() - t0;
const files = new Files(store, () => Math.floor(Math.random() * 4294967296));
files.recover();
const boots = new Uint8Array(1);
const bootsFile = store.stat("boots");
if (bootsFile) {
  const h = store.open("boots", "read");
  h.read(0, boots);
  h.close();
}
const boot = boots[0] + 1;
{
  const h = store.open("boots", "create");
  h.write(0, Uint8Array.of(boot));
  h.close();
}
print(`flash: boot ${boot}, mounted in ${mountMs.toFixed(1)} ms; capacity ${store.capacity} (named ${FLASH_STORE_CAPACITY}), used ${store.used()}, ` +
  `${store.list("").length} file(s), RAM tables ${store.ramBytes()} B, erase block ${nativeFlash().eraseSize}`);
check(store.capacity === FLASH_STORE_CAPACITY, "capacity");

if (boot === 1) {
  const ms = upload(files, "persist.bin", PERSIST_BYTES, 1);
  print(`flash: wrote ${PERSIST_BYTES} B in ${ms.toFixed(0)} ms (${(PERSIST_BYTES / 1024 / (ms / 1000)).toFixed(0)} KiB/s)`);
} else if (boot === 2) {
  const ms = verify(store, "persist.bin", PERSIST_BYTES, 1);
  print(`flash: read back ${PERSIST_BYTES} B in ${ms.toFixed(0)} ms (${(PERSIST_BYTES / 1024 / (ms / 1000)).toFixed(0)} KiB/s)`);
  const c0 = performance.now();
  for (let i = 0; i < CHURN_ROUNDS; i++) upload(files, "churn.bin", CHURN_BYTES, 100 + i);
  verify(store, "churn.bin", CHURN_BYTES, 100 + CHURN_ROUNDS - 1);
  const churnMs = performance.now() - c0;
  store.remove("churn.bin");
  print(`flash: churn ${CHURN_ROUNDS} x ${CHURN_BYTES} B in ${churnMs.toFixed(0)} ms; gc runs ${store.stats.gcRuns}, pages copied ${store.stats.gcCopied}, ` +
    `erases ${store.stats.erases}, wear ${JSON.stringify(store.wear())}`);
} else {
  verify(store, "persist.bin", PERSIST_BYTES, 1);
  check(store.stat("churn.bin") === null, "churn.bin is gone");
}
const st = nativeFlash().stats();
print(`flash: device ${st.wordsProgrammed} words programmed, ${st.blocksErased} blocks erased, ${st.errors} errors`);
print(`flash boot ${boot} ok`);
