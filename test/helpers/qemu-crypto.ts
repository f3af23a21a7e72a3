// The crypto self-test images of test/qemu-crypto*.test.ts and bench/native-crypto.ts: a script
// bundle on XS with the native crypto hooks and their libraries as the SSH image has them
// (hosts/qemu/build.ts nativeCryptoParts: libsodium, Mbed TLS 3.6, libcrux ML-KEM) and
// firmware/crypto_test_extras.c (globalThis.nativeCrypto and the measuring nativeProbe), without
// lwIP, the UART bridge or the flash store. Cached like any firmware build.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIRMWARE_WARNINGS, buildFirmware, firmwareDir, nativeCryptoParts, outDir, repoRoot, type BuildResult } from "../../hosts/qemu/build.js";
import { bundleForXs } from "../../hosts/qemu/bundle.js";
import { runFirmware } from "../../hosts/qemu/run.js";

/** heapBytes: a C heap other than the board's 320 KiB (the vectors' strings alone need more). */
export async function buildCryptoTestImage(bundle: string, out: string, heapBytes?: number): Promise<BuildResult> {
  const crypto = await nativeCryptoParts();
  return buildFirmware({
    bundle,
    out,
    components: [
      ...crypto.components,
      { name: "crypto-test", sources: [...crypto.sources, join(firmwareDir, "crypto_test_extras.c")], includes: crypto.includes, cflags: [...FIRMWARE_WARNINGS, ...crypto.cflags] },
    ],
    heapBytes,
    log: () => {},
  });
}

/** The algs image's C heap: the vectors (~90 KB of hex in the bundle, as XS strings in chunks) do
 * not fit beside XS in a board's 320 KiB. The figures do not depend on it: Mbed TLS's own heap use
 * is counted by its allocator (psaHeap), ML-KEM's by its lent stack. */
const ALGS_HEAP_BYTES = 768 * 1024;

export interface AlgsRun {
  code: number | null;
  output: string;
  stderr: string;
  built: BuildResult;
  runMs: number;
  /** figure lines parsed: name -> key -> number */
  figures: Record<string, Record<string, number>>;
}

/** Builds (cached) and boots under -icount the image running test/xs/crypto-algs-entry.ts with
 * `options` (its XS_ALGS global), as `out` under build/qemu/. */
export async function runAlgsImage(options: { keygen3072?: boolean }, out: string, timeoutMs: number): Promise<AlgsRun> {
  const name = out.replace(/\.elf$/, "");
  const bundled = await bundleForXs(join(repoRoot, "test/xs/crypto-algs-entry.ts"), join(outDir, "test", `${name}.tmp.js`));
  // The options first, as a global the entry reads; rewritten only when changed (the link stays cached).
  const text = `var XS_ALGS = ${JSON.stringify(options)};\n${readFileSync(bundled.outfile, "utf8")}`;
  const js = join(outDir, "test", `${name}.js`);
  mkdirSync(join(outDir, "test"), { recursive: true });
  if (!existsSync(js) || readFileSync(js, "utf8") !== text) writeFileSync(js, text);
  const built = await buildCryptoTestImage(js, out, ALGS_HEAP_BYTES);
  const r = await runFirmware({ elf: built.elf, stdio: "pipe", icount: true, timeoutMs });
  return { code: r.code, output: r.output, stderr: r.stderr, built, runMs: r.ms, figures: parseFigures(r.output) };
}

/** "figure NAME k=v k=v" lines into { NAME: { k: v } }. */
export function parseFigures(output: string): Record<string, Record<string, number>> {
  const figures: Record<string, Record<string, number>> = {};
  for (const line of output.split(/\r?\n/)) {
    const m = /^figure (\S+) (.*)$/.exec(line);
    if (!m) continue;
    figures[m[1]] = Object.fromEntries(m[2].split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
  }
  return figures;
}
