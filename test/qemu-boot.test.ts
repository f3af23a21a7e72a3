// The bare-metal firmware in QEMU: builds it (Debian's riscv64-unknown-elf toolchain + picolibc,
// XS from @agoric/xsnap; installed with apt when missing, failing loudly when that fails), boots it
// on `qemu-system-riscv32 -M virt` with an rv32imc CPU, and checks that the linked JS program runs
// (evaluation, a promise job, timers), that the firmware exits through the virt test device with
// the right status, and that XS fits the 320 KiB heap.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFirmware, outDir, type BuildResult } from "../hosts/qemu/build.js";
import { runFirmware, type RunResult } from "../hosts/qemu/run.js";

const BOOT_TIMEOUT_MS = 60_000;
const HEAP_LIMIT = 320 * 1024;

function fixture(name: string, js: string): string {
  const dir = join(outDir, "test");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.js`);
  if (!existsSync(file) || readFileSync(file, "utf8") !== js) writeFileSync(file, js); // keep the cache warm
  return file;
}

/** A JS program in its own image (build/qemu/test-NAME.elf), as bytecode unless precompile is false. */
async function imageWith(name: string, js: string, precompile = true): Promise<string> {
  const r = await buildFirmware({ bundle: fixture(name, js), precompile, out: `test-${name}.elf`, log: () => {} });
  return r.elf;
}

interface Figures { created: number; evaluated: number; peak: number; slots: number; chunks: number }

function figures(output: string): Figures {
  return {
    created: field(output, /^time machine created: instret (\d+)/m),
    evaluated: field(output, /^time program evaluated: instret (\d+)/m),
    peak: field(output, /^mem at exit: .* heap high-water (\d+) of/m),
    slots: field(output, /^mem at exit: .* slots \d+ \(peak (\d+)\)/m),
    chunks: field(output, /^mem at exit: xs chunks \d+ B \(peak (\d+)\)/m),
  };
}

function field(output: string, re: RegExp): number {
  const m = output.match(re);
  assert.ok(m, `no ${re} in the console output:\n${output}`);
  return Number(m[1]);
}

describe("QEMU firmware: XS on bare-metal rv32", () => {
  let build: BuildResult;

  before(async () => {
    build = await buildFirmware({ log: () => {} });
  });

  test("the image is built for the ESP32-sized budget", (t) => {
    t.diagnostic(
      `build ${(build.ms / 1000).toFixed(1)} s (${build.compiled} compiled, ${build.cached} cached); ` +
        `text ${build.sizes.text} data ${build.sizes.data} bss ${build.sizes.bss}`,
    );
    assert.equal(build.heapBytes, HEAP_LIMIT);
    assert.ok(build.sizes.text < 2 * 1024 * 1024, "image fits the 2 MiB flash region");
  });

  test("boots, runs the self-test (promise job, timers) and exits 0 through the test device", async (t) => {
    const r: RunResult = await runFirmware({ elf: build.elf, stdio: "pipe", icount: true, timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.timedOut, false, `timed out:\n${r.output}`);
    assert.equal(r.code, 0, `exit ${r.code}:\n${r.output}\n${r.stderr}`);
    assert.match(r.output, /^xs ok 338354$/m);
    assert.match(r.output, /^exit 0 \(done\)$/m);
    // With -icount shift=0 instret counts instructions (and idle time, 1 per virtual ns); console
    // output adds a little noise (the UART transmitter is polled).
    const f = figures(r.output);
    t.diagnostic(
      `bytecode: XS machine after ${f.created} instructions, self-test evaluated ${f.evaluated - f.created} later; ` +
        `heap high-water ${f.peak} B of ${HEAP_LIMIT}; XS peak ${f.chunks} B chunks + ${f.slots} slots; wall ${r.ms} ms`,
    );
    assert.ok(f.peak <= HEAP_LIMIT);
  });

  test("the same program linked as source is parsed on the device (more RAM and time)", async (t) => {
    const elf = (await buildFirmware({ precompile: false, out: "test-source.elf", log: () => {} })).elf;
    const r = await runFirmware({ elf, stdio: "pipe", icount: true, timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 0, `exit ${r.code}:\n${r.output}\n${r.stderr}`);
    assert.match(r.output, /^xs ok 338354$/m);
    const f = figures(r.output);
    t.diagnostic(
      `source: self-test parsed + evaluated ${f.evaluated - f.created} instructions after machine creation; ` +
        `heap high-water ${f.peak} B`,
    );
  });

  test("the host compiler reports syntax errors with their line", async () => {
    const file = fixture("syntax-host", "print(1);\nlet x = ;\n");
    await assert.rejects(buildFirmware({ bundle: file, out: "test-syntax-host.elf", log: () => {} }), /syntax-host\.js:2: error: missing expression/);
  });

  test("an uncaught exception prints its message and exits 1", async () => {
    const elf = await imageWith("throw", 'print("before");\nsetTimeout(() => { throw new RangeError("boom " + (6 * 7)); }, 1);\n');
    const r = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^before$/m);
    assert.match(r.output, /^uncaught exception: RangeError: boom 42$/m);
  });

  test("an unhandled rejection is fatal too", async () => {
    const elf = await imageWith("reject", 'Promise.reject(new Error("nobody listens"));\n');
    const r = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^unhandled rejection: Error: nobody listens$/m);
  });

  test("a syntax error found on the device is reported and exits 1", async () => {
    const elf = await imageWith("syntax", "let x = ;\n", false);
    const r = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /uncaught exception: SyntaxError/);
  });

  test("without an entropy seed, randomness is refused (exit 4)", async () => {
    const r = await runFirmware({ elf: build.elf, stdio: "pipe", noSeed: true, timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 4, r.output);
    assert.match(r.output, /no entropy seed/);
    assert.doesNotMatch(r.output, /xs ok/);
  });

  test("two boots get different random streams", async () => {
    const elf = await imageWith(
      "random",
      'print("rand " + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join(""));\n',
    );
    const a = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    const b = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(a.code, 0, a.output);
    assert.equal(b.code, 0, b.output);
    const ra = a.output.match(/^rand ([0-9a-f]{32})$/m)?.[1];
    const rb = b.output.match(/^rand ([0-9a-f]{32})$/m)?.[1];
    assert.ok(ra && rb, a.output);
    assert.notEqual(ra, rb);
  });

  test("memory exhaustion is an orderly abort, not a crash", async () => {
    const elf = await imageWith("oom", "const keep = [];\nfor (;;) keep.push(new Array(1000).fill(keep.length));\n");
    const r = await runFirmware({ elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /fatal xs: memory full/);
  });
});
