// The noble provider's optional primitives under the XS engine (xsrun, XS 13.3): it must stay
// runnable there (bundled with hosts/qemu/bundle.ts, which lowers class fields for XS 13.3), as the
// reference the firmware's native provider is checked against. test/xs/noble-entry.ts runs published
// vectors for each primitive.

import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { buildXsHost, repoRoot } from "../hosts/qemu/xs-host/build.js";
import { run } from "./helpers/tools.js";

describe("noble provider under XS (xsrun)", () => {
  let output = "";
  let code: number | null = null;
  before(async () => {
    const [exe, bundle] = await Promise.all([buildXsHost(), bundleForXs(join(repoRoot, "test/xs/noble-entry.ts"), join(repoRoot, "build/xs-test/noble.js"))]);
    const r = await run(exe.path, [bundle.outfile], { timeoutMs: 240_000 });
    output = r.stdout.toString() + r.stderr;
    code = r.code;
    console.log(`# bundle ${bundle.bytes} bytes; ${output.split("\n").filter((l) => l.startsWith("ok ")).join("; ")}`);
  });
  it("every primitive gives the published answers", () => {
    assert.equal(code, 0, output);
    assert.match(output, /^8 passed, 0 failed$/m, output);
  });
});
