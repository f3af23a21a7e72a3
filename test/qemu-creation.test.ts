// The ESP32 build's XS machine (`creation` in hosts/esp32/manifest_app.json) holds the board
// scenario of bench/creation.ts (`info`; a 256 KiB scp upload with a 32 KiB `cat` loopback on a second
// connection; the file back down; a legacy scp upload), checked on the QEMU firmware, which runs the
// same core with the same limits:
//
// 1. a boot of the growing machine gives what is live once the modules have run: on a board, the
//    SDK's XS linker keeps that (XS's built-ins, the preloaded modules) in flash, not in the machine;
// 2. a boot with a fixed machine of the manifest's chunks and slots plus that share runs the whole
//    scenario without XS running out of memory;
// 3. an mlkem768x25519 login (OpenSSH 10.0, trixie chroot) on that machine too;
// 4. a machine with a quarter of the manifest's chunks plus that share does not: the check can fail.
//
// `npm run bench:creation` finds the smallest machine; this test keeps the manifest above it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { buildMeasuringFirmware, manifestCreation, mlkemOnBoardCreation, runScenario } from "../bench/creation.js";

test("the ESP32 manifest's creation runs the board scenario (QEMU, fixed machine)", { timeout: 600_000 }, async (t) => {
  const elf = await buildMeasuringFirmware();
  const manifest = manifestCreation();
  const ref = await runScenario(undefined, elf);
  assert.ok(ref.ok && ref.boot, `the reference run (growing machine) failed: ${ref.why}\n${ref.log.slice(-2000)}`);
  const share = ref.boot.modules;
  t.diagnostic(`live after the modules (in flash on a board): ${share.chunks} B of chunks, ${share.slots} slots; XS stack ${share.stackSlots} slots at the bundle's top level, peak ${ref.stackPeak}`);

  const fixed = await runScenario({ chunks: manifest.chunks + share.chunks, slots: manifest.slots + share.slots }, elf);
  assert.ok(fixed.ok, `the manifest's creation (${manifest.chunks} B, ${manifest.slots} slots) plus the modules' share failed: ${fixed.why}\n${fixed.log.slice(-2000)}`);
  t.diagnostic(`manifest ${manifest.chunks} B + ${manifest.slots} slots: scenario passed in ${fixed.ms} ms`);

  // The XS stack: what the program needs beyond the bundle's top level (which a Moddable build,
  // with one module per file, does not hold on the stack), with room to spare in the manifest's.
  const beyond = (fixed.stackPeak ?? Infinity) - share.stackSlots;
  assert.ok(beyond * 2 <= manifest.stack!, `XS stack: ${beyond} slots beyond the top level, the manifest has ${manifest.stack}`);

  // The post-quantum kex (OpenSSH 10.0 from the trixie chroot: its default, mlkem768x25519) on the
  // same machine: its larger messages and the ML-KEM call fit the board's creation too.
  const pq = await mlkemOnBoardCreation(share, elf);
  assert.ok(pq.ok, `an mlkem768x25519 login on the manifest's creation plus the modules' share failed: ${pq.why}`);
  t.diagnostic(`mlkem768x25519 login + info on the same machine: passed`);

  const starved = await runScenario({ chunks: Math.floor(manifest.chunks / 4) + share.chunks, slots: manifest.slots + share.slots }, elf);
  assert.equal(starved.ok, false, "a quarter of the manifest's chunks should not hold the scenario: the check would not catch a too-small creation");
  assert.match(starved.why ?? "", /memory full/, `the starved run failed for another reason: ${starved.why}`);
});
