// Runs `npm run check:esp32` (hosts/esp32/check.ts): the ESP32 firmware's TypeScript against the
// Moddable SDK 8.2.3 declarations, its manifests, certs/authorized_keys, and the native C hooks
// compiled for a 32-bit target with -Werror. It installs missing Debian packages (libsodium-dev,
// the RISC-V cross compiler) the first time, hence the long timeout.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("check:esp32 passes", { timeout: 1_500_000 }, async () => {
  let output = "";
  try {
    const r = await run(process.execPath, ["--import", "tsx", join(root, "hosts/esp32/check.ts")], { cwd: root, maxBuffer: 32 << 20 });
    output = r.stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    assert.fail(`check:esp32 failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  for (const name of ["typescript", "manifests", "preload", "authorized_keys", "C hooks"]) {
    assert.match(output, new RegExp(`^ok   ${name}`, "m"), `step ${name} did not pass:\n${output}`);
  }
  assert.match(output, /modules\/crypto\/native_crypto\.c/, "the native hooks were not compiled");
});
