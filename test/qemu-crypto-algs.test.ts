// The native provider's optional primitives inside the QEMU firmware image: test/xs/crypto-algs-entry.ts
// (the published vectors of test/vectors-algs.ts through createNativeProvider over the PSA hooks on
// Mbed TLS 3.6 and the ML-KEM hook on libcrux, cross-compiled for rv32imc) booted on the rv32 virt
// machine under -icount shift=0, so the figures it prints are exact guest instruction counts per
// primitive, with Mbed TLS's heap peak and the stacks' use. The figures are printed, not asserted
// (goals live in benchmarks: bench/native-crypto.ts), except that each must be there.

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runAlgsImage, type AlgsRun } from "./helpers/qemu-crypto.js";

const RUN_TIMEOUT_MS = 120_000;
/** The figures the entry prints (test/xs/crypto-algs-entry.ts). */
const FIGURES = [
  "mlkem768-encapsulate", "x25519-kex-server", "ed25519-sign", "ecdh-p256-kex-server", "ecdh-p384-kex-server", "ecdh-p521-kex-server", "ecdsa-p256-sign",
  "ecdsa-p256-verify", "rsa3072-sign-sha512", "rsa3072-verify-sha512", "rsa2048-verify-sha256", "aes256-gcm-1MiB", "aes256-ctr-1MiB", "hmac-sha256-1MiB",
  "chacha20-poly1305-1MiB",
];

describe("native PSA and ML-KEM hooks inside the QEMU firmware image (-icount)", () => {
  let r: AlgsRun;

  before(async () => {
    const t0 = Date.now();
    r = await runAlgsImage({}, "test-crypto-algs.elf", RUN_TIMEOUT_MS);
    const figures = r.output.split(/\r?\n/).filter((l) => l.startsWith("figure "));
    console.log(`# firmware text ${r.built.sizes.text} bss ${r.built.sizes.bss}, ${r.built.compiled} compiled, ${r.built.linked ? "linked" : "up to date"} ` +
      `(build step ${Date.now() - t0 - r.runMs} ms); QEMU run ${r.runMs} ms\n# ${figures.join("\n# ")}`);
  });

  it("runs to the end and exits 0", () => {
    assert.equal(r.code, 0, `firmware exited ${r.code}\nstdout:\n${r.output}\nstderr:\n${r.stderr}`);
    assert.match(r.output, /^\d+ passed, 0 failed$/m, r.output);
  });

  it("passes every vector and bad-input check on rv32", () => {
    const lines = r.output.split(/\r?\n/);
    assert.deepEqual(lines.filter((l) => l.startsWith("not ok")), []);
    const oks = lines.filter((l) => l.startsWith("ok ")).map((l) => l.slice(3));
    for (const prefix of ["features", "sha384 FIPS 180-4", "hmac-sha2-256/512 RFC 4231", "aes-ctr SP 800-38A", "aes-gcm Wycheproof", "aes-gcm SSH packet layout",
      "ec key pairs RFC 6979", "ecdh Wycheproof", "ecdsa RFC 6979 and Wycheproof", "rsa PKCS#1 v1.5 Wycheproof", "rsa bad input", "mlkem768 encapsulation Wycheproof"]) {
      assert.ok(oks.some((n) => n.startsWith(prefix)), `missing: ok ${prefix}...\n${r.output}`);
    }
  });

  it("prints the guest-instruction figure of every primitive, and ML-KEM's lent stack use", () => {
    for (const name of FIGURES) assert.ok(r.figures[name]?.instructions > 0, `no figure ${name}\n${r.output}`);
    assert.ok(r.figures["mlkem768-encapsulate"].lentStack > 0, "lent stack measured");
  });
});
