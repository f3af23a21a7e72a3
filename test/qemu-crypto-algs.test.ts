// The native provider's optional primitives inside the QEMU firmware image: test/xs/crypto-algs-entry.ts
// (the published vectors of test/vectors-algs.ts through createNativeProvider over the PSA hooks on
// Mbed TLS 3.6 and the ML-KEM hook on libcrux, cross-compiled for rv32imc) booted on the rv32 virt
// machine under -icount shift=0, so the figures it prints are exact guest instruction counts per
// primitive, with Mbed TLS's heap peak and the stacks' use. The figures are printed, not asserted
// (goals live in benchmarks), except that each must be there.

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { outDir, repoRoot } from "../hosts/qemu/build.js";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { runFirmware } from "../hosts/qemu/run.js";
import { buildCryptoTestImage } from "./helpers/qemu-crypto.js";

const RUN_TIMEOUT_MS = 120_000;
/** The image's C heap: the vectors (~90 KB of hex in the bundle, as XS strings in chunks) do not fit
 * beside XS in a board's 320 KiB. The figures do not depend on it: Mbed TLS's own heap use is
 * counted by its allocator (psaHeap), ML-KEM's by its lent stack. */
const TEST_HEAP_BYTES = 768 * 1024;
/** The figures the entry prints (test/xs/crypto-algs-entry.ts), each one line. */
export const FIGURES = [
  "mlkem768-encapsulate", "x25519-kex-server", "ed25519-sign", "ecdh-p256-kex-server", "ecdh-p384-kex-server", "ecdh-p521-kex-server", "ecdsa-p256-sign",
  "ecdsa-p256-verify", "rsa3072-sign-sha512", "rsa3072-verify-sha512", "rsa2048-verify-sha256", "aes256-gcm-1MiB", "aes256-ctr-1MiB", "hmac-sha256-1MiB",
  "chacha20-poly1305-1MiB",
];

describe("native PSA and ML-KEM hooks inside the QEMU firmware image (-icount)", () => {
  let output = "";
  let stderr = "";
  let code: number | null = null;

  before(async () => {
    const t0 = Date.now();
    const bundled = await bundleForXs(join(repoRoot, "test/xs/crypto-algs-entry.ts"), join(outDir, "test", "crypto-algs.tmp.js"));
    // Options first, as a global the entry reads; rewritten only when changed (the link stays cached).
    const text = `var XS_ALGS = ${JSON.stringify({})};\n${readFileSync(bundled.outfile, "utf8")}`;
    const js = join(outDir, "test", "crypto-algs.js");
    mkdirSync(join(outDir, "test"), { recursive: true });
    if (!existsSync(js) || readFileSync(js, "utf8") !== text) writeFileSync(js, text);
    const built = await buildCryptoTestImage(js, "test-crypto-algs.elf", TEST_HEAP_BYTES);
    const r = await runFirmware({ elf: built.elf, stdio: "pipe", icount: true, timeoutMs: RUN_TIMEOUT_MS });
    output = r.output;
    stderr = r.stderr;
    code = r.code;
    const figures = output.split(/\r?\n/).filter((l) => l.startsWith("figure "));
    console.log(`# firmware text ${built.sizes.text} bss ${built.sizes.bss}, ${built.compiled} compiled, ${built.linked ? "linked" : "up to date"} ` +
      `(build step ${Date.now() - t0 - r.ms} ms); QEMU run ${r.ms} ms\n# ${figures.join("\n# ")}`);
  });

  it("runs to the end and exits 0", () => {
    assert.equal(code, 0, `firmware exited ${code}\nstdout:\n${output}\nstderr:\n${stderr}`);
    assert.match(output, /^\d+ passed, 0 failed$/m, output);
  });

  it("passes every vector and bad-input check on rv32", () => {
    const lines = output.split(/\r?\n/);
    assert.deepEqual(lines.filter((l) => l.startsWith("not ok")), []);
    const oks = lines.filter((l) => l.startsWith("ok ")).map((l) => l.slice(3));
    for (const prefix of ["features", "sha384 FIPS 180-4", "hmac-sha2-256/512 RFC 4231", "aes-ctr SP 800-38A", "aes-gcm Wycheproof", "aes-gcm SSH packet layout",
      "ec key pairs RFC 6979", "ecdh Wycheproof", "ecdsa RFC 6979 and Wycheproof", "rsa PKCS#1 v1.5 Wycheproof", "rsa bad input", "mlkem768 encapsulation Wycheproof"]) {
      assert.ok(oks.some((n) => n.startsWith(prefix)), `missing: ok ${prefix}...\n${output}`);
    }
  });

  it("prints the guest-instruction figure of every primitive", () => {
    for (const name of FIGURES) assert.match(output, new RegExp(`^figure ${name} instructions=\\d+ `, "m"), `no figure ${name}\n${output}`);
  });
});
