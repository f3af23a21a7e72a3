// The native provider's optional primitives under the XS engine (xsrun, hosts/qemu/xs-host): the
// PSA hooks (modules/crypto/native_psa.c over Mbed TLS 3.6) and the ML-KEM hook
// (modules/crypto/native_mlkem.c over libcrux), through createNativeProvider, with the published
// vectors of test/vectors-algs.ts (test/xs/crypto-algs-entry.ts), RSA-2048 key generation, and
// the milliseconds each primitive takes (printed, not asserted).

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { buildXsHost, repoRoot } from "../hosts/qemu/xs-host/build.js";
import { run } from "./helpers/tools.js";

const outDir = join(repoRoot, "build/xs-test");

describe("native PSA and ML-KEM hooks under XS (xsrun)", () => {
  let output = "";
  let stderr = "";
  let code: number | null = null;

  before(async () => {
    const [exe, bundle] = await Promise.all([
      buildXsHost(),
      bundleForXs(join(repoRoot, "test/xs/crypto-algs-entry.ts"), join(outDir, "crypto-algs.js")),
    ]);
    mkdirSync(outDir, { recursive: true });
    const options = join(outDir, "crypto-algs-options.js");
    writeFileSync(options, `var XS_ALGS = ${JSON.stringify({ generate: true })};\n`);
    const r = await run(exe.path, [options, bundle.outfile], { timeoutMs: 120_000 });
    output = r.stdout.toString();
    stderr = r.stderr;
    code = r.code;
    const figures = output.split("\n").filter((l) => l.startsWith("figure "));
    console.log(`# xsrun ${exe.compiled ? `built (${exe.compiled} objects)` : "up to date"}, bundle ${bundle.bytes} bytes\n# ${figures.join("\n# ")}`);
  });

  it("runs to the end and exits 0", () => {
    assert.equal(code, 0, `xsrun exited ${code}\nstdout:\n${output}\nstderr:\n${stderr}`);
    assert.match(output, /^\d+ passed, 0 failed$/m, output);
  });

  it("passes every vector and bad-input check, and generates an RSA-2048 key", () => {
    const lines = output.split("\n");
    assert.deepEqual(lines.filter((l) => l.startsWith("not ok")), []);
    const oks = lines.filter((l) => l.startsWith("ok ")).map((l) => l.slice(3));
    for (const prefix of ["features", "sha384 FIPS 180-4", "hmac-sha2-256/512 RFC 4231", "aes-ctr SP 800-38A", "aes-gcm Wycheproof", "aes-gcm SSH packet layout",
      "ec key pairs RFC 6979", "ecdh Wycheproof", "ecdsa RFC 6979 and Wycheproof", "rsa PKCS#1 v1.5 Wycheproof", "rsa bad input", "rsa generate 2048", "mlkem768 encapsulation Wycheproof"]) {
      assert.ok(oks.some((n) => n.startsWith(prefix)), `missing: ok ${prefix}...\n${output}`);
    }
    assert.ok(lines.some((l) => l.startsWith("figure mlkem768-encapsulate ")), "figures printed");
  });
});
