// PuTTY's plink (0.78, Debian putty-tools) against the node host over real TCP: public key login
// with a .ppk converted at test time, a pinned host key (-hostkey SHA256:...), exit status
// propagation, password login, and 1 MiB through `cat`.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";
import { sha256 } from "./helpers/procs.js";

const TARGET = "console@127.0.0.1";
const EXEC_MS = 20_000;
const PASSWORD = "correct horse battery staple";

ensureTool("plink", "putty-tools");
ensureTool("puttygen", "putty-tools");

/** plink gets a HOME of its own (it keeps host keys and a random seed under ~/.putty). */
function plinkEnv(home: string): NodeJS.ProcessEnv {
  mkdirSync(join(home, ".putty"), { recursive: true });
  return { ...process.env, HOME: home };
}

describe("PuTTY plink", () => {
  let srv: TestServer;
  const home = tempDir("essh-putty-home-");
  let ppk = "";
  let env: NodeJS.ProcessEnv;
  /** plink options for srv: batch, port, the converted key, the host key pinned by fingerprint. */
  let base: string[] = [];

  before(async () => {
    srv = await startTestServer({ password: PASSWORD });
    ppk = join(home.path, "key.ppk");
    execFileSync("puttygen", [srv.clientKey, "-O", "private", "-o", ppk], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    env = plinkEnv(home.path);
    base = ["-batch", "-ssh", "-P", String(srv.port), "-hostkey", srv.server.fingerprint];
  });
  after(async () => {
    await srv?.close();
    home.cleanup();
  });

  test("exec echo with a .ppk key and a pinned SHA256 host key", async () => {
    assert.match(srv.server.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const r = await run("plink", [...base, "-i", ppk, TARGET, "echo hi"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.stdout.toString(), "hi\n", `stderr: ${r.stderr}`);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.ok(srv.logs.some((l) => /logged in with publickey/.test(l)), srv.logs.join("\n"));
  });

  test("a wrong pinned host key is refused", async () => {
    // Proves -hostkey is really checked: a different key's fingerprint must make plink give up.
    const other = "SHA256:" + Buffer.alloc(32, 7).toString("base64").replace(/=+$/, "");
    const r = await run("plink", ["-batch", "-ssh", "-P", String(srv.port), "-hostkey", other, "-i", ppk, TARGET, "echo hi"], { timeoutMs: EXEC_MS, env });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /Host key not in manually configured list/);
  });

  test("unknown command: plink exits 127", async () => {
    const r = await run("plink", [...base, "-i", ppk, TARGET, "no-such-command"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.code, 127, `stderr: ${r.stderr}`);
    assert.match(r.stderr, /no-such-command: command not found/);
  });

  test("password login with -pw", async () => {
    const r = await run("plink", [...base, "-pw", PASSWORD, TARGET, "echo by password"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.stdout.toString(), "by password\n", `stderr: ${r.stderr}`);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.ok(srv.logs.some((l) => /logged in with password/.test(l)), srv.logs.join("\n"));
  });

  test("wrong password is refused", async () => {
    const r = await run("plink", [...base, "-pw", "not the password", TARGET, "echo nope"], { timeoutMs: EXEC_MS, env });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /Configured password was not accepted/);
    assert.ok(srv.logs.some((l) => /password refused for user "console"/.test(l)), srv.logs.join("\n"));
  });

  test("1 MiB through cat, byte-exact", async () => {
    const data = randomBytes(1 << 20);
    const r = await run("plink", [...base, "-i", ppk, TARGET, "cat"], { input: data, timeoutMs: 60_000, env });
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha256(r.stdout), sha256(data));
  });
});
