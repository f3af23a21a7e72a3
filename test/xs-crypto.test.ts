// The native crypto hooks (modules/crypto/native_crypto.c) under the XS engine: builds xsrun
// (hosts/qemu/xs-host, cached in build/), bundles test/xs/crypto-entry.ts with the published vectors,
// adds random cases computed here by node's provider, and checks what XS printed.

import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync, randomInt } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { buildXsHost, repoRoot } from "../hosts/qemu/xs-host/build.js";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import type { CrossCase, XsCryptoInput } from "./xs/crypto-entry.js";
import { hex } from "./vectors.js";
import { run } from "./helpers/tools.js";

const outDir = join(repoRoot, "build/xs-test");
const node = createNodeProvider();
const CROSS_CASES = 80;

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  randomFillSync(b);
  return b;
}

/** Random inputs with node's answers; the XS side recomputes them through the native provider. */
function crossInput(): XsCryptoInput {
  const cases: CrossCase[] = [];
  // Fewer and shorter than crypto.test.ts's 200 cases of up to 40 KB: XS parses the input as a
  // script (about 0.5 s per MB) and every byte crosses as a JSON number.
  for (let i = 0; i < CROSS_CASES; i++) {
    const len = i < 30 ? randomInt(0, 300) : randomInt(0, 16385);
    const data = random(len), key = random(32), nonce = random(8);
    const counter = randomInt(0, 3) === 0 ? randomInt(0, 2 ** 32 - 2000) : randomInt(0, 3);
    const tag = new Uint8Array(16), ct = new Uint8Array(len);
    node.poly1305(key, data, tag);
    node.chacha20(key, nonce, counter, data, ct);
    const c: CrossCase = {
      data: Array.from(data), off: 1 + 2 * randomInt(0, 8), key: hex(key), nonce: hex(nonce), counter,
      sha256: hex(node.sha256(data)), sha512: hex(node.sha512(data)), poly1305: hex(tag), chacha20: Array.from(ct),
    };
    if (i % 4 === 0) {
      const scalar = random(32), point = random(32), seed = random(32), message = data.subarray(0, Math.min(len, 2000));
      c.curve = {
        scalar: hex(scalar), point: hex(point), shared: hex(node.x25519(scalar, point)), scalarPublic: hex(node.x25519Public(scalar)),
        seed: hex(seed), edPublic: hex(node.ed25519Public(seed)), message: Array.from(message), signature: hex(node.ed25519Sign(seed, message)),
      };
    }
    cases.push(c);
  }
  const boundary: XsCryptoInput["boundary"] = [];
  for (const [counter, length] of [[0xffffffff, 200], [0xffffffff, 64], [0xfffffffe, 300], [0xfffffff0, 2000], [0xfffffff1, 100]]) {
    const key = random(32), nonce = random(8), stream = new Uint8Array(length);
    node.chacha20(key, nonce, counter, new Uint8Array(length), stream);
    boundary.push({ key: hex(key), nonce: hex(nonce), counter, length, stream: hex(stream) });
  }
  return { cases, boundary };
}

describe("native crypto hooks under XS (xsrun)", () => {
  let output = "";
  let stderr = "";
  let code: number | null = null;

  before(async () => {
    const t0 = Date.now();
    const [exe, bundle] = await Promise.all([
      buildXsHost(),
      bundleForXs(join(repoRoot, "test/xs/crypto-entry.ts"), join(outDir, "crypto.js")),
    ]);
    const inputFile = join(outDir, "crypto-input.js");
    writeFileSync(inputFile, `var XS_INPUT = ${JSON.stringify(crossInput())};\n`);
    const built = Date.now();
    const r = await run(exe.path, [inputFile, bundle.outfile], { timeoutMs: 120_000 });
    output = r.stdout.toString();
    stderr = r.stderr;
    code = r.code;
    const timings = output.split("\n").filter((l) => l.startsWith("timing "));
    console.log(`# xsrun ${exe.compiled ? `built (${exe.compiled} objects)` : "up to date"}, bundle ${bundle.bytes} bytes, ` +
      `${built - t0} ms; XS run ${Date.now() - built} ms; ${timings.join("; ")}`);
  });

  it("runs to the end and exits 0", () => {
    assert.equal(code, 0, `xsrun exited ${code}\nstdout:\n${output}\nstderr:\n${stderr}`);
    assert.match(output, /^\d+ passed, 0 failed$/m, output);
  });

  it("passes every check, vectors and cross-checks alike", () => {
    const failures = output.split("\n").filter((l) => l.startsWith("not ok"));
    assert.deepEqual(failures, []);
    const oks = output.split("\n").filter((l) => l.startsWith("ok "));
    for (const name of ["sha256 FIPS 180-4", "x25519 RFC 7748 5.2 iterated 1000", "ed25519 RFC 8032 TEST 1024", "chacha20 RFC 8439 2.4.2 (original layout)",
      "poly1305 RFC 8439 A.3 #11", `${CROSS_CASES} random cases agree with node`, "5 chacha20 counter-boundary cases agree with node"]) {
      assert.ok(oks.includes(`ok ${name}`), `missing: ok ${name}\n${output}`);
    }
    assert.ok(oks.length >= 30, `only ${oks.length} checks ran`);
  });
});
