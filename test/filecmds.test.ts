// The flash store's device commands over `ssh host CMD` (OpenSSH client, node host): ls, ls -l, df,
// rm, mv, cat NAME (binary, byte-exact), cat without a name (stdin loopback), and info's flash line.
// Files are put on the flash with `scp -O`, so that the store's own accounting sees them.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, opensshOptions, run, tempDir } from "./helpers/tools.js";
import { sha256 } from "./helpers/procs.js";

const HOST = "console@127.0.0.1";
const EXEC_MS = 30_000;
const FLASH = 1 << 20;

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");

describe("flash commands over ssh", () => {
  let ts: TestServer;
  let flash = "";
  const local = tempDir("essh-filecmds-");
  const blob = randomBytes(200 << 10);

  const ssh = (command: string, input?: Uint8Array) => run("ssh", [...ts.sshArgs, HOST, command], { timeoutMs: EXEC_MS, input });

  async function put(name: string, content: Uint8Array | string): Promise<void> {
    const src = join(local.path, "upload.tmp");
    writeFileSync(src, content);
    const r = await run("scp", ["-O", "-q", "-P", String(ts.port), ...opensshOptions(ts.clientKey), src, `${HOST}:${name}`], { timeoutMs: EXEC_MS });
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    ts = await startTestServer({ flashSize: FLASH });
    flash = join(ts.dir, "flash");
    await put("blob.bin", blob);
    await put("notes.txt", "hello flash\n");
    await put("a.txt", "aaa\n");
  });
  after(async () => {
    await ts?.close();
    local.cleanup();
  });

  test("ls lists the files by name; ls -l with sizes", async () => {
    const r = await ssh("ls");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.toString().trim().split("\n").sort(), ["a.txt", "blob.bin", "notes.txt"]);

    const l = await ssh("ls -l");
    assert.equal(l.code, 0, l.stderr);
    const lines = l.stdout.toString().trim().split("\n");
    const blobLine = lines.find((x) => x.endsWith(" blob.bin"));
    assert.ok(blobLine, l.stdout.toString());
    assert.match(blobLine, new RegExp(`^- +${blob.length}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  blob\\.bin$`));
    assert.ok(lines.some((x) => /^- +12 .* notes\.txt$/.test(x)), l.stdout.toString());

    const missing = await ssh("ls nothing");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ls: nothing: no such file or directory/);
  });

  test("df: capacity, used and free agree with the files", async () => {
    const r = await ssh("df");
    assert.equal(r.code, 0, r.stderr);
    const m = /^flash: (\d+) bytes, (\d+) used \((\d+)%\), (\d+) free; flat, names up to 31 bytes\n$/.exec(r.stdout.toString());
    assert.ok(m, r.stdout.toString());
    const [capacity, used, , free] = m.slice(1).map(Number);
    const expected = ["blob.bin", "notes.txt", "a.txt"].reduce((n, f) => n + statSync(join(flash, f)).size, 0);
    assert.equal(capacity, FLASH);
    assert.equal(used, expected);
    assert.equal(free, FLASH - expected);
  });

  test("cat NAME prints the file byte-exact (200 KiB of binary)", async () => {
    const r = await ssh("cat blob.bin");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, blob.length);
    assert.equal(sha256(r.stdout), sha256(blob));

    const missing = await ssh("cat nothing");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cat: .*nothing.*no such file/);
  });

  test("cat without a name still copies stdin to stdout", async () => {
    const data = randomBytes(100_000);
    const r = await ssh("cat", data);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(r.stdout), sha256(data));
  });

  test("mv renames; rm removes; a missing name exits 1 with a message", async () => {
    await put("old.txt", "moving\n");
    const mv = await ssh("mv old.txt new.txt");
    assert.equal(mv.code, 0, mv.stderr);
    assert.equal(existsSync(join(flash, "old.txt")), false);
    assert.equal(readFileSync(join(flash, "new.txt"), "utf8"), "moving\n");

    const mvMissing = await ssh("mv old.txt other.txt");
    assert.equal(mvMissing.code, 1);
    assert.match(mvMissing.stderr, /mv: old\.txt: no such file/);

    const rm = await ssh("rm new.txt");
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(existsSync(join(flash, "new.txt")), false);
    const ls = await ssh("ls");
    assert.doesNotMatch(ls.stdout.toString(), /new\.txt/);

    const rmMissing = await ssh("rm new.txt");
    assert.equal(rmMissing.code, 1);
    assert.match(rmMissing.stderr, /rm: new\.txt: no such file/);

    const traversal = await ssh("rm ../authorized_keys");
    assert.equal(traversal.code, 1);
    assert.match(traversal.stderr, /".." is not allowed/);
    assert.ok(existsSync(join(ts.dir, "authorized_keys")));

    // The space of removed files comes back.
    const df = await ssh("df");
    const used = Number(/(\d+) used/.exec(df.stdout.toString())![1]);
    assert.equal(used, blob.length + "hello flash\n".length + "aaa\n".length);
  });

  test("info shows the flash line", async () => {
    const r = await ssh("info");
    assert.equal(r.code, 0, r.stderr);
    const m = /^flash: (\d+) of (\d+) bytes used$/m.exec(r.stdout.toString());
    assert.ok(m, r.stdout.toString());
    assert.equal(Number(m[2]), FLASH);
    assert.ok(Number(m[1]) >= blob.length);
  });
});
