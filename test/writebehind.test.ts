// Write-behind in the node host's flash store (hosts/node/writebehind.ts) against a disk that fills up:
// the store's directory is a 2 MiB tmpfs (mounted here; needs root), its capacity set far beyond that,
// so the disk, not the store's accounting, runs out in the middle of a pipelined upload. OpenSSH's
// sftp put (64 WRITEs outstanding), scp (SFTP) and scp -O must each get an error, the old file at that
// name must stay intact, no temp file may remain, and the store must take the next upload. Also, the
// store's handles straight: reads, truncation and close see every earlier write, and a disk error
// met behind the caller's back is thrown by a later call, never lost.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, xferArgs, type TestServer } from "./helpers/server.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";
import { sha256 } from "./helpers/procs.js";
import { DirectoryFlashStore } from "../hosts/node/flash.js";
import { TEMP_PREFIX } from "../modules/files/files.js";
import { StoreError } from "../modules/files/store.js";

const HOST = "console@127.0.0.1";
const XFER_MS = 60_000;
const KiB = 1024;
const MiB = 1 << 20;
/** The tmpfs under the store: smaller than the uploads below, larger than the old file plus one. */
const DISK = "2m";

ensureTool("scp", "openssh-client");
ensureTool("sftp", "openssh-client");

function mountTmpfs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  // Loud failure (no skip) when this is not root or cannot mount.
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${DISK}`, "tmpfs", dir], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
}

function umount(dir: string): void {
  try {
    execFileSync("umount", [dir], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    execFileSync("umount", ["-l", dir], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
  }
}

function temps(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX));
}

describe("flash store write-behind: handles", () => {
  const tmp = tempDir("essh-wb-");
  const disk = join(tmp.path, "disk");
  before(() => mountTmpfs(disk));
  after(() => {
    umount(disk);
    tmp.cleanup();
  });

  test("reads, truncation and sync see every earlier write (byte-exact, 1.5 MiB in odd pieces)", () => {
    const store = new DirectoryFlashStore(join(disk, "a"), 64 * MiB, false, true);
    const h = store.open("f", "create");
    const data = randomBytes(1536 * KiB);
    // Pieces of odd sizes (records wrap the ring at odd places), some over one record's 64 KiB.
    for (let off = 0, i = 0; off < data.length; i++) {
      const n = Math.min([1, 4093, 32768, 100_000, 7][i % 5], data.length - off);
      h.write(off, data.subarray(off, off + n));
      off += n;
    }
    const back = new Uint8Array(data.length);
    let got = 0;
    while (got < back.length) {
      const n = h.read(got, back.subarray(got));
      assert.ok(n > 0, `read returned ${n} at ${got}`);
      got += n;
    }
    assert.equal(sha256(back), sha256(data));
    // An overwrite then a truncate: the queued write lands before the truncation, never after it.
    h.write(0, new Uint8Array(200 * KiB).fill(7));
    h.truncate(1000);
    h.sync();
    h.close();
    const onDisk = readFileSync(join(disk, "a", "f"));
    assert.equal(onDisk.length, 1000);
    assert.ok(onDisk.every((b) => b === 7));
    store.remove("f");
  });

  test("a full disk behind the caller's back is thrown by a later call (ENOSPC), and the store goes on", () => {
    const store = new DirectoryFlashStore(join(disk, "b"), 64 * MiB, false, true);
    const h = store.open("big", "create");
    const piece = randomBytes(32 * KiB);
    let failure: unknown = null;
    try {
      for (let off = 0; off < 4 * MiB; off += piece.length) h.write(off, piece);
      h.sync();
    } catch (e) {
      failure = e;
    }
    assert.ok(failure instanceof StoreError, `expected a StoreError, got ${String(failure)}`);
    assert.equal(failure.code, "ENOSPC", failure.message);
    // The same handle keeps failing (the error is not consumed by being thrown once) ...
    assert.throws(() => h.sync(), (e: unknown) => e instanceof StoreError && e.code === "ENOSPC");
    assert.throws(() => h.close(), (e: unknown) => e instanceof StoreError && e.code === "ENOSPC");
    store.remove("big");
    // ... and a new file after the space came back is written whole.
    const g = store.open("small", "create");
    const small = randomBytes(300 * KiB);
    g.write(0, small);
    g.sync();
    g.close();
    assert.equal(sha256(readFileSync(join(disk, "b", "small"))), sha256(small));
  });
});

for (const behind of [true, false]) describe(`flash store ${behind ? "with" : "without"} write-behind: a disk that fills up during OpenSSH uploads`, () => {
  let ts: TestServer;
  let flash = "";
  const local = tempDir("essh-wb-client-");
  const old = randomBytes(600 * KiB);
  const big = join(local.path, "big.bin");

  before(async () => {
    ts = await startTestServer({ flashSize: 64 * MiB, flashWriteBehind: behind });
    flash = join(ts.dir, "flash");
    // The store is empty at start: a tmpfs over its directory is what it writes to from now on.
    mountTmpfs(flash);
    writeFileSync(big, randomBytes(4 * MiB));
    writeFileSync(join(local.path, "old.bin"), old);
    const r = await run("scp", ["-q", ...xferArgs(ts), join(local.path, "old.bin"), `${HOST}:data.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(join(flash, "data.bin"))), sha256(old));
  });
  after(async () => {
    if (flash) umount(flash);
    await ts?.close();
    local.cleanup();
  });

  const kept = () => {
    assert.equal(sha256(readFileSync(join(flash, "data.bin"))), sha256(old), "the old file changed");
    assert.deepEqual(temps(flash), [], "a temp file remained");
  };

  test("sftp put (pipelined WRITEs) fails, the old file stays", async () => {
    const batch = join(local.path, "batch");
    writeFileSync(batch, `put ${big} data.bin\n`);
    const r = await run("sftp", ["-b", batch, ...xferArgs(ts), HOST], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0, `sftp put succeeded on a full disk: ${r.stderr}`);
    assert.match(r.stderr, /no space left on the disk/, r.stderr);
    kept();
  });

  test("scp (SFTP) fails, the old file stays", async () => {
    const r = await run("scp", ["-q", ...xferArgs(ts), big, `${HOST}:data.bin`], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0, `scp succeeded on a full disk: ${r.stderr}`);
    assert.match(r.stderr, /no space left on the disk|Failure/, r.stderr);
    kept();
  });

  test("scp -O fails, the old file stays", async () => {
    const r = await run("scp", ["-O", "-q", ...xferArgs(ts), big, `${HOST}:data.bin`], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0, `scp -O succeeded on a full disk: ${r.stderr}`);
    assert.match(r.stderr, /no space left on the disk/, r.stderr);
    kept();
  });

  test("the store takes the next upload that fits, byte-exact, and reports its usage", async () => {
    const fits = join(local.path, "fits.bin");
    const data = randomBytes(400 * KiB); // twice over (old file + this + its replacement) still fits the 2 MiB
    writeFileSync(fits, data);
    for (const mode of [[], ["-O"]]) {
      const r = await run("scp", [...mode, "-q", ...xferArgs(ts), fits, `${HOST}:fits.bin`], { timeoutMs: XFER_MS });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(join(flash, "fits.bin"))), sha256(data));
    }
    kept();
    assert.equal(statSync(join(flash, "fits.bin")).size, data.length);
    const df = await run("ssh", [...ts.sshArgs, HOST, "df"], { timeoutMs: XFER_MS });
    assert.match(df.stdout.toString(), new RegExp(`${old.length + data.length} used`), df.stdout.toString());
  });
});
