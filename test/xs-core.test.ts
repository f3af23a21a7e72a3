// The SSH server core under the XS engine: builds xsrun (cached in build/), bundles
// test/xs/core-entry.ts (server + an in-process client, native crypto), and checks what XS printed:
// handshake, publickey login, exec echo, exec cat of 96 KiB, disconnect, and the XS heap afterwards.

import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { buildXsHost, repoRoot } from "../hosts/qemu/xs-host/build.js";
import type { XsMemory } from "../hosts/qemu/xs/host.js";
import { run, type RunResult } from "./helpers/tools.js";

/** A fixed heap (no growth, as on a board) the core and its test client must fit in: XS's
 * built-ins (~130 KB of chunks, ~6,400 slots on this host; in ROM on a board), the bundle's bytecode
 * (~50 KB; in flash on a board), and one connection at bulk speed on both ends. 10,000 slots until
 * access control (options, roles, certificates, run-time keys, penalties) and OTA landed: they add
 * ~600 live slots at start, and the fixed heap then ran out during the login (10,124 live after it). */
const FIXED_CHUNKS = 512 * 1024;
const FIXED_SLOTS = 12_000;

function memoryLines(out: string): Map<string, XsMemory> {
  const m = new Map<string, XsMemory>();
  for (const line of out.split("\n")) {
    const hit = /^memory (\S+) (\{.*\})$/.exec(line);
    if (hit) m.set(hit[1], JSON.parse(hit[2]) as XsMemory);
  }
  return m;
}

describe("SSH core under XS (xsrun, native crypto)", () => {
  let xsrun = "";
  let bundle = "";
  let result: RunResult;
  let out = "";

  before(async () => {
    const t0 = Date.now();
    const [exe, b] = await Promise.all([
      buildXsHost(),
      bundleForXs(join(repoRoot, "test/xs/core-entry.ts"), join(repoRoot, "build/xs-test/core.js")),
    ]);
    xsrun = exe.path;
    bundle = b.outfile;
    const t1 = Date.now();
    result = await run(xsrun, [bundle], { timeoutMs: 60_000 });
    out = result.stdout.toString();
    const steps = out.split("\n").filter((l) => l.startsWith("step ")).map((l) => l.slice(5) + " ms");
    console.log(`# build+bundle ${t1 - t0} ms (bundle ${b.bytes} bytes${b.gaps.map((g) => `, ${g.api} x${g.count}`).join("")}); ` +
      `XS run ${Date.now() - t1} ms: ${steps.join(", ")}`);
    for (const [label, m] of memoryLines(out)) {
      console.log(`# XS heap ${label}: chunks ${m.chunks} B (peak ${m.chunksPeak}), slots ${m.slots} x ${m.slotSize} B (peak ${m.slotsPeak}), ` +
        `bytecode ${m.codeSize} B, keys ${m.keys}`);
    }
  });

  it("handshakes, logs in, runs echo and cat, disconnects", () => {
    assert.equal(result.code, 0, `xsrun exited ${result.code}\nstdout:\n${out}\nstderr:\n${result.stderr}`);
    assert.match(out, /^xs-core: ok$/m);
    for (const step of ["server", "handshake", "login", "echo", "cat-98304", "disconnect"]) assert.match(out, new RegExp(`^step ${step} `, "m"));
    assert.match(out, /user "console" logged in with publickey/);
  });

  it("a finished connection leaves nothing behind in the XS heap", () => {
    const m = memoryLines(out);
    const server = m.get("server")!, end = m.get("end")!, loggedIn = m.get("logged-in")!;
    assert.ok(server && end && loggedIn, out);
    assert.ok(end.slots <= server.slots + 16, `slots: ${server.slots} before the connection, ${end.slots} after`);
    assert.ok(end.chunks <= server.chunks + 2048, `chunks: ${server.chunks} before the connection, ${end.chunks} after`);
    assert.ok(loggedIn.chunks > server.chunks, "a live connection costs something");
  });

  it(`fits a fixed heap of ${FIXED_CHUNKS} B of chunks and ${FIXED_SLOTS} slots`, async () => {
    const r = await run(xsrun, ["--fixed", "--chunks", String(FIXED_CHUNKS), "--slots", String(FIXED_SLOTS), bundle], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout.toString(), /^xs-core: ok$/m);
  });
});
