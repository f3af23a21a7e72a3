// The firmware's flash store in QEMU: modules/files/flashfs.ts under XS on the rv32 firmware, over
// virt's second CFI flash bank (hosts/qemu/firmware/pflash.c, xs_flash.c) backed by DIR/flash.img.
// Three boots of the same image and data directory: write a 256 KiB file; reboot, read it back, churn
// (garbage collection of 256 KiB blocks); reboot, read it again. The image file is then checked from
// the host: erased (0xFF) past the store's region.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildFirmware, firmwareDir, outDir, repoRoot } from "../hosts/qemu/build.js";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { FLASH_IMAGE_BYTES, runFirmware } from "../hosts/qemu/run.js";
import { FLASH_STORE_BLOCKS } from "../hosts/qemu/flash.js";
import { tempDir } from "./helpers/tools.js";

const BOOT_TIMEOUT_MS = 120_000;

describe("QEMU firmware: flash store on the emulated NOR flash", () => {
  let elf = "";
  const data = tempDir("essh-qemu-flash-");

  before(async () => {
    const js = join(outDir, "test", "flash.js");
    await bundleForXs(join(repoRoot, "test/xs/flash-entry.ts"), js);
    const warnings = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare"];
    const r = await buildFirmware({
      bundle: js,
      out: "test-flash.elf",
      components: [{ name: "flash", sources: ["pflash.c", "xs_flash.c", "flash_test_extras.c"].map((f) => join(firmwareDir, f)), cflags: warnings }],
      log: () => {},
    });
    elf = r.elf;
  });

  const bootOnce = async (n: number, t: { diagnostic(s: string): void }) => {
    const r = await runFirmware({ elf, data: data.path, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 0, `boot ${n}: exit ${r.code}\n${r.output}\n${r.stderr}`);
    assert.match(r.output, new RegExp(`^flash boot ${n} ok$`, "m"), r.output);
    for (const line of r.output.split("\n")) if (line.startsWith("flash:") || line.startsWith("mem at exit")) t.diagnostic(line);
    t.diagnostic(`boot ${n}: ${r.ms} ms wall`);
    return r;
  };

  test("boot 1 writes a file", async (t) => {
    await bootOnce(1, t);
  });
  test("boot 2 reads it back after a reboot, churns (GC)", async (t) => {
    await bootOnce(2, t);
  });
  test("boot 3 still reads it; the image is erased outside the store", async (t) => {
    await bootOnce(3, t);
    const image = readFileSync(join(data.path, "flash.img"));
    assert.equal(image.length, FLASH_IMAGE_BYTES);
    const region = FLASH_STORE_BLOCKS * 256 * 1024;
    assert.ok(image.subarray(region).every((b) => b === 0xff), "nothing written past the store's blocks");
    assert.ok(image.subarray(0, region).some((b) => b !== 0xff));
    data.cleanup();
  });
});
