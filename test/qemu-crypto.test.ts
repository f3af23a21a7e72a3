// The native crypto hooks inside the QEMU firmware image: test/xs/crypto-entry.ts (the RFC 7748 /
// 8032 / 8439 and FIPS 180-4 vectors of test/vectors.ts, through createNativeProvider over
// globalThis.nativeCrypto) compiled to bytecode and linked with the hooks and their libraries as in
// the SSH image (test/helpers/qemu-crypto.ts), booted on the rv32 virt machine. The
// cross-check input (XS_INPUT) is a small fixed set computed here by node's provider from a seeded
// generator, so the bundle, its bytecode and the link stay cached between runs; small because the
// firmware's heap is 320 KiB.

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { outDir, repoRoot } from "../hosts/qemu/build.js";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { buildCryptoTestImage } from "./helpers/qemu-crypto.js";
import { runFirmware } from "../hosts/qemu/run.js";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import type { CrossCase, XsCryptoInput } from "./xs/crypto-entry.js";
import { hex } from "./vectors.js";

const BOOT_TIMEOUT_MS = 60_000;
const CROSS_CASES = 12;
const node = createNodeProvider();

/** xorshift32: the same input every run (keeps the image cached). */
function generator(seed: number): { bytes(n: number): Uint8Array; int(lo: number, hi: number): number } {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff),
    int: (lo, hi) => lo + (next() % (hi - lo)),
  };
}

function crossInput(): XsCryptoInput {
  const g = generator(0x5eed2025);
  const cases: CrossCase[] = [];
  for (let i = 0; i < CROSS_CASES; i++) {
    const len = g.int(0, 300), data = g.bytes(len), key = g.bytes(32), nonce = g.bytes(8);
    const counter = i % 3 === 0 ? g.int(0, 2 ** 32 - 100) : g.int(0, 3);
    const tag = new Uint8Array(16), ct = new Uint8Array(len);
    node.poly1305(key, data, tag);
    node.chacha20(key, nonce, counter, data, ct);
    const c: CrossCase = {
      data: Array.from(data), off: 1 + 2 * g.int(0, 8), key: hex(key), nonce: hex(nonce), counter,
      sha256: hex(node.sha256(data)), sha512: hex(node.sha512(data)), poly1305: hex(tag), chacha20: Array.from(ct),
    };
    if (i % 3 === 0) {
      const scalar = g.bytes(32), point = g.bytes(32), seed = g.bytes(32), message = data.subarray(0, Math.min(len, 200));
      c.curve = {
        scalar: hex(scalar), point: hex(point), shared: hex(node.x25519(scalar, point)), scalarPublic: hex(node.x25519Public(scalar)),
        seed: hex(seed), edPublic: hex(node.ed25519Public(seed)), message: Array.from(message), signature: hex(node.ed25519Sign(seed, message)),
      };
    }
    cases.push(c);
  }
  const boundary: XsCryptoInput["boundary"] = [];
  for (const [counter, length] of [[0xffffffff, 200], [0xffffffff, 64], [0xfffffffe, 300], [0xfffffff0, 1100], [0xfffffff1, 100]]) {
    const key = g.bytes(32), nonce = g.bytes(8), stream = new Uint8Array(length);
    node.chacha20(key, nonce, counter, new Uint8Array(length), stream);
    boundary.push({ key: hex(key), nonce: hex(nonce), counter, length, stream: hex(stream) });
  }
  return { cases, boundary };
}

describe("native crypto hooks inside the QEMU firmware image", () => {
  let output = "";
  let stderr = "";
  let code: number | null = null;

  before(async () => {
    const t0 = Date.now();
    const bundled = await bundleForXs(join(repoRoot, "test/xs/crypto-entry.ts"), join(outDir, "test", "crypto.tmp.js"));
    // The input first, as a global the entry reads (the bundle is an IIFE script); rewritten only
    // when it changed, so the bytecode and the link stay cached.
    const text = `var XS_INPUT = ${JSON.stringify(crossInput())};\n${readFileSync(bundled.outfile, "utf8")}`;
    const js = join(outDir, "test", "crypto.js");
    if (!existsSync(js) || readFileSync(js, "utf8") !== text) writeFileSync(js, text);
    const built = await buildCryptoTestImage(js, "test-crypto.elf");
    const r = await runFirmware({ elf: built.elf, stdio: "pipe", timeoutMs: BOOT_TIMEOUT_MS });
    output = r.output;
    stderr = r.stderr;
    code = r.code;
    console.log(`# firmware ${built.compiled} compiled, ${built.cached} cached, ${built.linked ? "linked" : "up to date"} ` +
      `in ${built.ms} ms (build step ${Date.now() - t0 - r.ms} ms); QEMU run ${r.ms} ms`);
  });

  it("runs to the end and exits 0", () => {
    assert.equal(code, 0, `firmware exited ${code}\nstdout:\n${output}\nstderr:\n${stderr}`);
    assert.match(output, /^\d+ passed, 0 failed$/m, output);
  });

  it("passes every check, vectors and cross-checks alike", () => {
    const lines = output.split(/\r?\n/);
    const failures = lines.filter((l) => l.startsWith("not ok"));
    assert.deepEqual(failures, []);
    const oks = lines.filter((l) => l.startsWith("ok "));
    for (const name of ["sha256 FIPS 180-4", "x25519 RFC 7748 5.2 iterated 1000", "ed25519 RFC 8032 TEST 1024", "chacha20 RFC 8439 2.4.2 (original layout)",
      "poly1305 RFC 8439 A.3 #11", `${CROSS_CASES} random cases agree with node`, "5 chacha20 counter-boundary cases agree with node"]) {
      assert.ok(oks.includes(`ok ${name}`), `missing: ok ${name}\n${output}`);
    }
    assert.ok(oks.length >= 30, `only ${oks.length} checks ran`);
  });
});
