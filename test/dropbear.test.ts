// Dropbear's client (dbclient 2022.83, Debian dropbear-bin) against the node host over real TCP:
// a key converted with dropbearconvert, exec, exit status, 1 MiB through `cat`, and the cipher
// Dropbear negotiates when asked for chacha20-poly1305@openssh.com.

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

ensureTool("dbclient", "dropbear-bin");
ensureTool("dropbearconvert", "dropbear-bin");

describe("Dropbear dbclient", () => {
  let srv: TestServer;
  const home = tempDir("essh-dropbear-home-");
  let key = "";
  /** HOME with a writable ~/.ssh: dbclient records the host key it accepted (-y) in known_hosts. */
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home.path };
  let base: string[] = [];

  before(async () => {
    srv = await startTestServer();
    mkdirSync(join(home.path, ".ssh"), { mode: 0o700 });
    key = join(home.path, "id_dropbear");
    execFileSync("dropbearconvert", ["openssh", "dropbear", srv.clientKey, key], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    base = ["-y", "-i", key, "-p", String(srv.port)];
  });
  after(async () => {
    await srv?.close();
    home.cleanup();
  });

  test("exec echo", async () => {
    const r = await run("dbclient", [...base, TARGET, "echo hi"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.stdout.toString(), "hi\n", `stderr: ${r.stderr}`);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.ok(srv.logs.some((l) => /logged in with publickey/.test(l) ), srv.logs.join("\n"));
  });

  test("unknown command exits 127", async () => {
    const r = await run("dbclient", [...base, TARGET, "no-such-command"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.code, 127, `stderr: ${r.stderr}`);
    assert.match(r.stderr, /no-such-command: command not found/);
  });

  test("1 MiB through cat, byte-exact", async () => {
    const data = randomBytes(1 << 20);
    const r = await run("dbclient", [...base, TARGET, "cat"], { input: data, timeoutMs: 60_000, env });
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha256(r.stdout), sha256(data));
  });

  test("-c chacha20-poly1305@openssh.com is what gets negotiated", async () => {
    const before = srv.logs.length;
    const r = await run("dbclient", [...base, "-c", "chacha20-poly1305@openssh.com", TARGET, "echo cipher"], { timeoutMs: EXEC_MS, env });
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
    assert.equal(r.stdout.toString(), "cipher\n");
    const kex = srv.logs.slice(before).find((l) => / kex /.test(l));
    assert.ok(kex, srv.logs.join("\n"));
    assert.match(kex, /kex curve25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com/);
    assert.match(kex, /client SSH-2\.0-dropbear/);
  });
});
