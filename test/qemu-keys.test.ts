// A long .ssh/authorized_keys (40 ed25519 and 6 RSA-3072 lines, ~7 KB, built into the image) read
// over SFTP from the QEMU firmware by curl (libssh2) and by OpenSSH's sftp: byte-exact, and the
// firmware stays up and lets the admin log in afterwards. Before utf8Encode wrote into an exact
// Uint8Array, the read ran the firmware out of memory ("Chunk allocation: failed for 57352 bytes").
// One boot.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSshFirmware } from "../hosts/qemu/build.js";
import { bootSshServer, type Boot } from "../hosts/qemu/run.js";
import { ensureTool, freePort, keyring, opensshOptions, run, tempDir } from "./helpers/tools.js";

const EXEC_MS = 60_000;
const ED25519_LINES = 40;
const RSA_LINES = 6;

ensureTool("ssh", "openssh-client");
ensureTool("sftp", "openssh-client");
ensureTool("curl", "curl");

describe("a long .ssh/authorized_keys read over SFTP from the QEMU firmware", () => {
  const tmp = tempDir("essh-qemu-keys-");
  const dir = tmp.path;
  let qemu: Boot | null = null;
  let port = 0;
  let written = Buffer.alloc(0);
  let output = "";
  const { keys, keygen, pub } = keyring(dir);

  before(async () => {
    await buildSshFirmware({ log: () => {} });
    keygen("admin");
    const lines = [pub("admin")];
    for (let i = 0; i < ED25519_LINES; i++) lines.push(pub(keygen(`e${i}`).slice(dir.length + 1)));
    for (let i = 0; i < RSA_LINES; i++) {
      const f = join(dir, `r${i}`);
      execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", `r${i}`, "-f", f], { timeout: 60_000 });
      lines.push(readFileSync(f + ".pub", "utf8").trim());
    }
    writeFileSync(join(dir, "authorized_keys"), lines.join("\n") + "\n");
    written = readFileSync(join(dir, "authorized_keys"));
    assert.ok(written.length > 5000, String(written.length));
    port = await freePort();
    qemu = await bootSshServer({ listen: `127.0.0.1:${port}`, data: dir });
  });

  after(async () => {
    if (qemu) {
      qemu.child.kill("SIGTERM");
      output = (await qemu.done).output;
    }
    assert.doesNotMatch(output, /uncaught exception|exception in a|fatal|memory full|Chunk allocation/, `the firmware's log shows an error:\n${output.slice(-3000)}`);
    tmp.cleanup();
  });

  test("curl (libssh2) reads it byte-exact", async () => {
    const r = await run("curl", ["-sS", "-k", "--key", keys.admin, "--pubkey", keys.admin + ".pub", "-u", "console:", `sftp://127.0.0.1:${port}/.ssh/authorized_keys`], { timeoutMs: EXEC_MS });
    assert.equal(r.code, 0, `${r.stderr}\n${qemu!.output().slice(-2000)}`);
    assert.ok(r.stdout.equals(written), `${r.stdout.length} bytes, want ${written.length}`);
  });

  test("OpenSSH sftp reads it byte-exact", async () => {
    const local = join(dir, "got");
    const r = await run("sftp", ["-P", String(port), ...opensshOptions(keys.admin, 20), "-b", "-", `console@127.0.0.1`], { input: `get .ssh/authorized_keys ${local}\n`, timeoutMs: EXEC_MS });
    assert.equal(r.code, 0, `${r.stderr}\n${qemu!.output().slice(-2000)}`);
    assert.ok(readFileSync(local).equals(written));
  });

  test("the firmware is still up: the admin logs in and keys lists every line", async () => {
    const r = await run("ssh", ["-p", String(port), ...opensshOptions(keys.admin, 20), "console@127.0.0.1", "keys"], { timeoutMs: EXEC_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().split("\n").filter((l) => /^SHA256:/.test(l)).length, 1 + ED25519_LINES + RSA_LINES, r.stdout.toString());
  });
});
