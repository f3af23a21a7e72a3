// The SFTP v3 subsystem against the node host's flash store: OpenSSH's scp (SFTP mode, the 9.x
// default) and sftp, PuTTY's psftp, the npm ssh2 client as a scripted client (out-of-order writes,
// refused names), a full flash, an upload killed halfway, and protocol edges driven straight into
// sftpServer with a recording session context (packets split anywhere, oversized requests, answers
// the channel does not take at once).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { passwordAccess } from "../modules/ssh/access.js";
import { execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SFTPWrapper } from "ssh2";
import { startTestServer, xferArgs, type TestServer } from "./helpers/server.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";
import { Procs, pollUntil, sha256, waitExit } from "./helpers/procs.js";
import { connect, type Client } from "./helpers/ssh2.js";
import { startNodeServer } from "../hosts/node/server.js";
import { DirectoryFlashStore } from "../hosts/node/flash.js";
import { BOARD_TRANSFER_LENGTH, Files, TEMP_PREFIX } from "../modules/files/files.js";
import { MAX_PACKET_LENGTH, MAX_READ_LENGTH, sftpServer, type KeysFile } from "../modules/files/sftp.js";
import type { SessionContext, SessionProgram } from "../modules/ssh/session.js";
import { SshReader, SshWriter } from "../modules/ssh/wire.js";

const HOST = "console@127.0.0.1";
const XFER_MS = 60_000;
const MiB = 1 << 20;

ensureTool("scp", "openssh-client");
ensureTool("sftp", "openssh-client");
ensureTool("psftp", "putty-tools");
ensureTool("puttygen", "putty-tools");

function tempsIn(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(TEMP_PREFIX)) found.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

function openSftp(conn: Client): Promise<SFTPWrapper> {
  return withTimeout(new Promise((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s)))), 15_000, "sftp subsystem");
}

/** ssh2's callback API, promisified with a bound. */
function call<T>(what: string, fn: (cb: (err: Error | null | undefined, v?: T) => void) => void, ms = 15_000): Promise<T> {
  return withTimeout(new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T)))), ms, what);
}

async function sftpError(p: Promise<unknown>): Promise<Error & { code?: number }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: number };
  }
  throw new Error("expected the request to fail");
}

describe("SFTP with OpenSSH scp and sftp, psftp and ssh2 (flat store)", () => {
  let srv: TestServer;
  let flash = "";
  const local = tempDir("essh-sftp-local-");
  let args: string[] = [];

  before(async () => {
    srv = await startTestServer({ flashSize: 8 * MiB });
    flash = join(srv.dir, "flash");
    args = xferArgs(srv);
  });
  after(async () => {
    await srv?.close();
    local.cleanup();
  });

  test("scp (SFTP mode) uploads and downloads 1 MiB byte-exact", async () => {
    const data = randomBytes(MiB);
    const src = join(local.path, "up.bin");
    writeFileSync(src, data);
    const t0 = Date.now();
    const up = await run("scp", ["-q", ...args, src, `${HOST}:big.bin`], { timeoutMs: XFER_MS });
    const upMs = Date.now() - t0;
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256(readFileSync(join(flash, "big.bin"))), sha256(data));
    const dst = join(local.path, "down.bin");
    const t1 = Date.now();
    const down = await run("scp", ["-q", ...args, `${HOST}:/big.bin`, dst], { timeoutMs: XFER_MS });
    const downMs = Date.now() - t1;
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(dst)), sha256(data));
    assert.deepEqual(tempsIn(flash), []);
    console.log(`# scp 1 MiB: upload ${upMs} ms, download ${downMs} ms`);
  });

  test("scp over an existing file with a shorter one leaves exactly the new bytes", async () => {
    const long = randomBytes(300 * 1024);
    const short = randomBytes(1234);
    writeFileSync(join(local.path, "long.bin"), long);
    writeFileSync(join(local.path, "short.bin"), short);
    let r = await run("scp", ["-q", ...args, join(local.path, "long.bin"), `${HOST}:over.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    // -p: the times come with FSETSTAT and are applied when the upload is committed.
    utimesSync(join(local.path, "short.bin"), 1_000_000_000, 1_234_567_890);
    r = await run("scp", ["-q", "-p", ...args, join(local.path, "short.bin"), `${HOST}:over.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(join(flash, "over.bin")), short);
    assert.equal(statSync(join(flash, "over.bin")).mtimeMs, 1_234_567_890_000);
    assert.deepEqual(tempsIn(flash), []);
  });

  test("sftp -b: put, ls -l, get, rename, rm, df", async () => {
    const data = randomBytes(70_000);
    writeFileSync(join(local.path, "b-in.bin"), data);
    const batch = join(local.path, "batch1");
    writeFileSync(
      batch,
      [
        `put ${join(local.path, "b-in.bin")} a.bin`,
        "ls -l",
        `get a.bin ${join(local.path, "b-out.bin")}`,
        "rename a.bin b.bin",
        "ls",
        "df",
        "rm b.bin",
        "ls -l",
        "",
      ].join("\n"),
    );
    const r = await run("sftp", ["-b", batch, ...args, HOST], { timeoutMs: XFER_MS });
    const out = r.stdout.toString();
    assert.equal(r.code, 0, `stdout: ${out}\nstderr: ${r.stderr}`);
    assert.deepEqual(readFileSync(join(local.path, "b-out.bin")), data);
    // ls -l shows the server's long names: "-rw-r--r--    1 0        0           70000 Mmm dd hh:mm a.bin"
    assert.match(out, /-rw-r--r--\s+1 0\s+0\s+70000 [A-Z][a-z]{2} [0-9]{2} [0-9 ][0-9]:?[0-9]{2} a\.bin/);
    assert.match(out, /sftp> rename a\.bin b\.bin\nsftp> ls\n(?:.*\n)*?b\.bin/);
    // df: "Size Used Avail (root) %Capacity" then the numbers in KiB (8 MiB = 8192).
    assert.match(out, /Size\s+Used\s+Avail\s+\(root\)\s+%Capacity\n\s*8192\s+\d+\s+\d+\s+\d+\s+\d+%/);
    assert.ok(!existsSync(join(flash, "a.bin")) && !existsSync(join(flash, "b.bin")));
  });

  test("psftp put and get", async () => {
    const home = join(local.path, "putty-home");
    mkdirSync(join(home, ".putty"), { recursive: true });
    const ppk = join(local.path, "key.ppk");
    execFileSync("puttygen", [srv.clientKey, "-O", "private", "-o", ppk], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    const data = randomBytes(200_000);
    writeFileSync(join(local.path, "p-in.bin"), data);
    const batch = join(local.path, "batch-psftp");
    writeFileSync(batch, `put ${join(local.path, "p-in.bin")} p.bin\nget p.bin ${join(local.path, "p-out.bin")}\nls\n`);
    const r = await run("psftp", ["-batch", "-P", String(srv.port), "-hostkey", srv.server.fingerprint, "-i", ppk, "-b", batch, HOST], {
      timeoutMs: XFER_MS,
      env: { ...process.env, HOME: home },
    });
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.deepEqual(readFileSync(join(flash, "p.bin")), data);
    assert.deepEqual(readFileSync(join(local.path, "p-out.bin")), data);
    assert.match(r.stdout.toString(), /p\.bin/);
  });

  test("ssh2: pipelined writes at random offsets in random order give the exact file", async () => {
    const conn = await connect({ port: srv.port, privateKey: readFileSync(srv.clientKey) });
    try {
      const sftp = await openSftp(conn);
      const data = randomBytes(300_000);
      // Chunks of random sizes covering the file, sent all at once in shuffled order.
      const chunks: [number, number][] = [];
      for (let off = 0; off < data.length; ) {
        const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 20_000));
        chunks.push([off, n]);
        off += n;
      }
      for (let i = chunks.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
      }
      const h = await call<Buffer>("open", (cb) => sftp.open("/ooo.bin", "w", cb));
      await Promise.all(chunks.map(([off, n]) => call<void>("write", (cb) => sftp.write(h, data, off, n, off, cb))));
      const st = await call<{ size: number }>("fstat", (cb) => sftp.fstat(h, cb));
      assert.equal(st.size, data.length);
      // Not visible before CLOSE: the old name does not exist yet.
      assert.ok(!existsSync(join(flash, "ooo.bin")));
      await call<void>("close", (cb) => sftp.close(h, cb));
      assert.deepEqual(readFileSync(join(flash, "ooo.bin")), data);

      // 64 READs in flight (ssh2's fastGet): answers back up in the channel, all arrive in order.
      const got = join(local.path, "fastget.bin");
      const t0 = Date.now();
      await call<void>("fastGet", (cb) => sftp.fastGet("big.bin", got, { concurrency: 64 }, cb), XFER_MS);
      console.log(`# ssh2 fastGet 1 MiB, 64 reads in flight: ${Date.now() - t0} ms`);
      assert.equal(sha256(readFileSync(got)), sha256(readFileSync(join(flash, "big.bin"))));

      // Opening without TRUNC keeps the old content around what is written (merged at CLOSE).
      const patch = randomBytes(5000);
      const h2 = await call<Buffer>("open r+", (cb) => sftp.open("ooo.bin", "r+", cb));
      await call<void>("write", (cb) => sftp.write(h2, patch, 0, 5000, 123_456, cb));
      await call<void>("write", (cb) => sftp.write(h2, patch, 0, 100, 299_950, cb)); // past the old end
      const back = Buffer.alloc(5000);
      const n = await call<number>("read", (cb) => sftp.read(h2, back, 0, 5000, 123_000, cb));
      assert.equal(n, 5000);
      await call<void>("close", (cb) => sftp.close(h2, cb));
      const expect = Buffer.concat([data, Buffer.alloc(50)]);
      patch.copy(expect, 123_456);
      patch.copy(expect, 299_950, 0, 100);
      assert.equal(back.toString("hex"), expect.subarray(123_000, 128_000).toString("hex"));
      assert.deepEqual(readFileSync(join(flash, "ooo.bin")), expect);

      // SETSTAT size shortens a file (atomically, through an upload).
      await call<void>("setstat", (cb) => sftp.setstat("ooo.bin", { size: 1000 }, cb));
      assert.deepEqual(readFileSync(join(flash, "ooo.bin")), expect.subarray(0, 1000));

      // EXCL on an existing file; WRITE without CREAT on a missing one.
      let e = await sftpError(call("open wx", (cb) => sftp.open("ooo.bin", "wx", cb)));
      assert.match(e.message, /file exists/);
      e = await sftpError(call("open r+", (cb) => sftp.open("missing.bin", "r+", cb)));
      assert.equal(e.code, 2);

      // Append: writes land at the end whatever the offset.
      const ha = await call<Buffer>("open a", (cb) => sftp.open("ooo.bin", "a", cb));
      await call<void>("write", (cb) => sftp.write(ha, Buffer.from("tail"), 0, 4, 0, cb));
      await call<void>("close", (cb) => sftp.close(ha, cb));
      assert.deepEqual(readFileSync(join(flash, "ooo.bin")), Buffer.concat([expect.subarray(0, 1000), Buffer.from("tail")]));

      // RENAME refuses to replace; posix-rename replaces.
      writeFileSync(join(local.path, "r.bin"), "r");
      await call<void>("fastPut", (cb) => sftp.fastPut(join(local.path, "r.bin"), "r.bin", cb));
      e = await sftpError(call("rename", (cb) => sftp.rename("r.bin", "ooo.bin", cb)));
      assert.match(e.message, /already exists/);
      await call<void>("posix-rename", (cb) => sftp.ext_openssh_rename("r.bin", "ooo.bin", cb));
      assert.equal(readFileSync(join(flash, "ooo.bin"), "utf8"), "r");

      const list = await call<{ filename: string; longname: string }[]>("readdir", (cb) => sftp.readdir("/", cb));
      assert.ok(list.some((f) => f.filename === "ooo.bin" && /^-rw-r--r--    1 0        0               1 /.test(f.longname)), JSON.stringify(list));
      assert.equal(await call<string>("realpath", (cb) => sftp.realpath(".", cb)), "/");
      assert.equal(await call<string>("realpath", (cb) => sftp.realpath("a/./b/../c", cb)), "/a/c");
      e = await sftpError(call("readlink", (cb) => sftp.readlink("ooo.bin", cb)));
      assert.equal(e.code, 8);
      assert.deepEqual(tempsIn(flash), []);
    } finally {
      conn.end();
    }
  });

  test("traversal, NUL, overlong names and mkdir on a flat store are refused with clear errors", async () => {
    writeFileSync(join(local.path, "x"), "x");
    let r = await run("scp", ["-q", ...args, join(local.path, "x"), `${HOST}:../x`], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"\.\." is not allowed/);
    r = await run("scp", ["-q", ...args, join(local.path, "x"), `${HOST}:/../x`], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"\.\." is not allowed/);

    const conn = await connect({ port: srv.port, privateKey: readFileSync(srv.clientKey) });
    try {
      const sftp = await openSftp(conn);
      let e = await sftpError(call("open", (cb) => sftp.open("/../x", "w", cb)));
      assert.match(e.message, /"\.\." is not allowed/);
      e = await sftpError(call("open", (cb) => sftp.open("a\0b", "w", cb)));
      assert.match(e.message, /NUL/);
      e = await sftpError(call("open", (cb) => sftp.open("n".repeat(40), "w", cb)));
      assert.match(e.message, /limited to 31 bytes/);
      e = await sftpError(call("open", (cb) => sftp.open(".~up12345678", "w", cb)));
      assert.match(e.message, /reserved/);
      e = await sftpError(call("mkdir", (cb) => sftp.mkdir("d", cb)));
      assert.equal(e.code, 8);
      assert.match(e.message, /flat \(no directories\)/);
      e = await sftpError(call("open", (cb) => sftp.open("d/x", "w", cb)));
      assert.match(e.message, /flat \(no directories\)/);
    } finally {
      conn.end();
    }
    const batch = join(local.path, "batch-mkdir");
    writeFileSync(batch, "mkdir d\n");
    r = await run("sftp", ["-b", batch, ...args, HOST], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /flat \(no directories\)/);
    assert.deepEqual(readdirSync(flash).filter((n) => n === "d" || n === "x" || n.length > 31), []);
  });
});

describe("SFTP on a store with directories", () => {
  let srv: TestServer;
  const local = tempDir("essh-sftp-dirs-");
  after(async () => {
    await srv?.close();
    local.cleanup();
  });

  test("mkdir, put into the subdirectory, ls, rmdir refused while not empty", async () => {
    srv = await startTestServer({ flashDirs: true });
    const data = randomBytes(50_000);
    writeFileSync(join(local.path, "f.bin"), data);
    const batch = join(local.path, "batch");
    writeFileSync(batch, `mkdir sub\nput ${join(local.path, "f.bin")} sub/f.bin\ncd sub\nls -l\n-rmdir /sub\n`);
    const r = await run("sftp", ["-b", batch, ...xferArgs(srv), HOST], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.deepEqual(readFileSync(join(srv.dir, "flash", "sub", "f.bin")), data);
    assert.match(r.stdout.toString(), / 50000 .* f\.bin/);
    assert.match(r.stderr, /ENOTEMPTY|not empty/i);
    const s = await run("scp", ["-q", ...xferArgs(srv), `${HOST}:sub/f.bin`, join(local.path, "back.bin")], { timeoutMs: XFER_MS });
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(readFileSync(join(local.path, "back.bin")), data);
  });
});

describe("SFTP when the flash is full", () => {
  let srv: TestServer;
  const local = tempDir("essh-sftp-full-");
  after(async () => {
    await srv?.close();
    local.cleanup();
  });

  test("a 300 KiB upload over a file on a 256 KiB flash fails with a space error; the old file stays", async () => {
    srv = await startTestServer({ flashSize: 256 * 1024 });
    const flash = join(srv.dir, "flash");
    const args = xferArgs(srv);
    const old = randomBytes(100_000);
    writeFileSync(join(local.path, "old.bin"), old);
    let r = await run("scp", ["-q", ...args, join(local.path, "old.bin"), `${HOST}:keep.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(join(local.path, "new.bin"), randomBytes(300 * 1024));
    r = await run("scp", ["-q", ...args, join(local.path, "new.bin"), `${HOST}:keep.bin`], { timeoutMs: XFER_MS });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no space left on the flash \(\d+ of 262144 bytes free\)/);
    assert.deepEqual(readFileSync(join(flash, "keep.bin")), old);
    assert.deepEqual(tempsIn(flash), []);
    // The flash is usable afterwards: the space of the dropped upload is free again.
    const small = randomBytes(100_000);
    writeFileSync(join(local.path, "small.bin"), small);
    r = await run("scp", ["-q", ...args, join(local.path, "small.bin"), `${HOST}:keep.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(join(flash, "keep.bin")), small);
  });

  test("replacing a file that fits only once the old one is gone says to remove it first", async () => {
    const own = await startTestServer({ flashSize: 256 * 1024 });
    try {
      const flash = join(own.dir, "flash");
      const args = xferArgs(own);
      const old = randomBytes(150_000);
      writeFileSync(join(local.path, "a.bin"), old);
      let r = await run("scp", ["-q", ...args, join(local.path, "a.bin"), `${HOST}:same.bin`], { timeoutMs: XFER_MS });
      assert.equal(r.code, 0, r.stderr);
      const next = randomBytes(150_000);
      writeFileSync(join(local.path, "b.bin"), next);
      r = await run("scp", ["-q", ...args, join(local.path, "b.bin"), `${HOST}:same.bin`], { timeoutMs: XFER_MS });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no space left on the flash \(\d+ of 262144 bytes free\); the old "same\.bin" \(150000 bytes\) stays until the new copy is complete: remove it first to make room/);
      assert.deepEqual(readFileSync(join(flash, "same.bin")), old);
      assert.deepEqual(tempsIn(flash), []);
      // As it says: removed first, the same upload goes in.
      const batch = join(local.path, "rm.batch");
      writeFileSync(batch, "rm same.bin\n");
      r = await run("sftp", ["-b", batch, ...args, HOST], { timeoutMs: XFER_MS });
      assert.equal(r.code, 0, r.stderr);
      r = await run("scp", ["-q", ...args, join(local.path, "b.bin"), `${HOST}:same.bin`], { timeoutMs: XFER_MS });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readFileSync(join(flash, "same.bin")), next);
    } finally {
      await own.close();
    }
  });
});

describe("SFTP upload killed halfway", () => {
  let srv: TestServer;
  const local = tempDir("essh-sftp-kill-");
  const procs = new Procs();
  let child: ChildProcess | null = null;
  after(async () => {
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    procs.killAll();
    await srv?.close();
    local.cleanup();
  });

  test("kill -9 of scp leaves the old file intact and no temp; a temp left behind goes at restart", async () => {
    const flashSize = 8 * MiB;
    srv = await startTestServer({ flashSize });
    const flash = join(srv.dir, "flash");
    const args = xferArgs(srv);
    const old = randomBytes(MiB);
    writeFileSync(join(local.path, "old.bin"), old);
    let r = await run("scp", ["-q", ...args, join(local.path, "old.bin"), `${HOST}:victim.bin`], { timeoutMs: XFER_MS });
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(join(local.path, "big.bin"), randomBytes(4 * MiB));
    // -l 8000 (Kbit/s, about 1 MB/s) keeps the upload running for seconds; its own process group so
    // that the ssh it runs goes too.
    child = procs.spawn("scp", ["-q", "-l", "8000", ...args, join(local.path, "big.bin"), `${HOST}:victim.bin`], { detached: true });
    await pollUntil("an upload in progress", async () => tempsIn(flash).length > 0, 300, 20);
    process.kill(child.pid!, "SIGKILL");
    await waitExit(child, 10_000, "scp");
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // the group is gone already
    }
    assert.deepEqual(readFileSync(join(flash, "victim.bin")), old);
    await pollUntil("the temp file removed once the connection is gone", async () => tempsIn(flash).length === 0, 300, 20);
    assert.deepEqual(readFileSync(join(flash, "victim.bin")), old);

    // A temp file from a crash (left by hand here) is removed when the server starts again.
    writeFileSync(join(flash, `${TEMP_PREFIX}0badf00d`), randomBytes(1000));
    await srv.server.close();
    const logs: string[] = [];
    const again = await startNodeServer({ listen: "127.0.0.1:0", dataDir: srv.dir, flashSize, log: (l) => logs.push(l), announce: () => {} });
    try {
      assert.deepEqual(tempsIn(flash), []);
      assert.ok(logs.some((l) => /removed 1 unfinished upload/.test(l)), logs.join("\n"));
      assert.deepEqual(readFileSync(join(flash, "victim.bin")), old);
    } finally {
      await again.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Protocol edges straight into sftpServer.

/** A session context that records output and takes at most `room` bytes per write when set. */
function recorder() {
  const out: number[] = [];
  let err = "";
  let exited: number | null = null;
  let consumed = 0;
  const rec = {
    room: Infinity,
    get out() {
      return Uint8Array.from(out);
    },
    get err() {
      return err;
    },
    get exited() {
      return exited;
    },
    get consumed() {
      return consumed;
    },
    ctx: null as unknown as SessionContext,
  };
  rec.ctx = {
    user: "console",
    remote: "test",
    access: passwordAccess("test"),
    pty: null,
    env: new Map(),
    server: null as never,
    write(d: Uint8Array) {
      const n = Math.min(d.length, rec.room);
      for (let i = 0; i < n; i++) out.push(d[i]);
      if (rec.room !== Infinity) rec.room -= n;
      return n;
    },
    writeErr(d: Uint8Array) {
      err += Buffer.from(d).toString();
      return d.length;
    },
    print(t: string) {
      err += t;
      return t.length;
    },
    get writableBytes() {
      return rec.room === Infinity ? 65536 : rec.room;
    },
    consume(n: number) {
      consumed += n;
    },
    exit(s: number) {
      exited = s;
    },
    exitSignal() {},
    eof() {},
  };
  return rec;
}

/** Parses answers: [type, id, reader over the rest]. */
function answers(bytes: Uint8Array): { type: number; id: number; r: SshReader }[] {
  const list = [];
  const r = new SshReader(bytes);
  while (r.remaining > 0) {
    const body = r.string();
    const br = new SshReader(body);
    const type = br.byte();
    const id = type === 2 ? -1 : br.uint32();
    list.push({ type, id, r: br });
  }
  return list;
}

function packet(type: number, id: number | null, fill: (w: SshWriter) => void = () => {}): Uint8Array {
  const w = new SshWriter();
  w.uint32(0).byte(type);
  if (id !== null) w.uint32(id);
  fill(w);
  const b = w.bytes();
  new DataView(b.buffer).setUint32(0, b.length - 4);
  return b;
}

describe("sftpServer protocol edges", () => {
  const dir = tempDir("essh-sftp-unit-");
  after(() => dir.cleanup());
  let n = 0;
  const make = (transferLength?: number) => {
    const store = new DirectoryFlashStore(join(dir.path, `flash${n++}`), MiB, false);
    const files = new Files(store, () => 0x1234, { transferLength });
    const rec = recorder();
    const prog: SessionProgram = sftpServer(rec.ctx, files);
    return { store, files, rec, prog };
  };

  test("packets split at every byte boundary; VERSION lists the extensions; limits", () => {
    const { rec, prog } = make();
    const input = Buffer.concat([
      packet(1, null, (w) => w.uint32(3)),
      packet(200, 7, (w) => w.text("limits@openssh.com")),
      packet(16, 8, (w) => w.text(".")),
    ]);
    for (let i = 0; i < input.length; i++) prog.data!(input.subarray(i, i + 1));
    const a = answers(rec.out);
    assert.equal(a.length, 3);
    assert.equal(a[0].type, 2);
    assert.equal(a[0].r.uint32(), 3);
    const ext = new Map<string, string>();
    while (a[0].r.remaining > 0) ext.set(a[0].r.text(), a[0].r.text());
    assert.deepEqual([...ext.keys()].sort(), ["expand-path@openssh.com", "fsync@openssh.com", "limits@openssh.com", "posix-rename@openssh.com", "statvfs@openssh.com"]);
    assert.equal(a[1].type, 201);
    assert.deepEqual([a[1].r.uint64(), a[1].r.uint64(), a[1].r.uint64(), a[1].r.uint64()], [MAX_PACKET_LENGTH, MAX_READ_LENGTH, MAX_READ_LENGTH, 0]);
    // max-open-handles states no limit although the store has 5 open files: OpenSSH's client caps its
    // requests in flight at it, and 5 READs in flight made a download a ping-pong (LIMITS_OPEN_HANDLES).
    assert.equal(a[2].type, 104);
    assert.equal(a[2].r.uint32(), 1);
    assert.equal(a[2].r.text(), "/");
    assert.equal(rec.consumed, input.length);
  });

  test("a board's transfer length: limits ask for 4 KiB pieces, a 32 KiB READ is answered whole (streamed), 32 KiB WRITEs still land", () => {
    const { rec, prog, store } = make(BOARD_TRANSFER_LENGTH);
    const content = randomBytes(40_000);
    const big = randomBytes(MAX_READ_LENGTH);
    const h = store.open("f", "create");
    h.write(0, content);
    h.close();
    const input = Buffer.concat([
      packet(1, null, (w) => w.uint32(3)),
      packet(200, 1, (w) => w.text("limits@openssh.com")),
      packet(3, 2, (w) => w.text("f").uint32(1).uint32(0)), // OPEN f, READ
      packet(3, 3, (w) => w.text("g").uint32(2 | 8).uint32(0)), // OPEN g, WRITE|CREAT
    ]);
    prog.data!(input);
    let a = answers(rec.out);
    assert.deepEqual(a.map((x) => x.type), [2, 201, 102, 102]);
    assert.deepEqual([a[1].r.uint64(), a[1].r.uint64(), a[1].r.uint64()], [MAX_PACKET_LENGTH, BOARD_TRANSFER_LENGTH, BOARD_TRANSFER_LENGTH]);
    const rh = a[2].r.string(), wh = a[3].r.string();
    const seen = a.length;
    prog.data!(Buffer.concat([
      packet(5, 4, (w) => w.string(rh).uint64(1000).uint32(MAX_READ_LENGTH)), // READ 32 KiB at 1000
      packet(6, 5, (w) => w.string(wh).uint64(0).string(big)), // WRITE 32 KiB (a client ignoring limits)
      packet(4, 6, (w) => w.string(wh)), // CLOSE g
    ]));
    a = answers(rec.out).slice(seen);
    assert.deepEqual(a.map((x) => [x.type, x.id]), [[103, 4], [101, 5], [101, 6]]);
    const data = a[0].r.string();
    // libssh2 takes a short answer for a regular file as a protocol error: the whole READ comes back.
    assert.equal(data.length, MAX_READ_LENGTH, "the READ answer is whole");
    assert.ok(Buffer.from(data).equals(content.subarray(1000, 1000 + MAX_READ_LENGTH)));
    assert.equal(a[1].r.uint32(), 0, "the 32 KiB WRITE was taken");
    const g = store.open("g", "read");
    const back = new Uint8Array(big.length);
    g.read(0, back);
    g.close();
    assert.ok(Buffer.from(back).equals(big));
    assert.throws(() => new Files(store, () => 1, { transferLength: 100 }), /transferLength 100/);
  });

  test("a board's transfer length: .ssh/authorized_keys longer than a piece comes back whole for a 32 KiB READ (streamed), as a stored file does", () => {
    const store = new DirectoryFlashStore(join(dir.path, `flash${n++}`), MiB, false);
    const files = new Files(store, () => 0x1234, { transferLength: BOARD_TRANSFER_LENGTH });
    const rec = recorder();
    const text = Array.from({ length: 120 }, (_, i) => `ssh-ed25519 ${randomBytes(51).toString("base64")} key-${i}\n`).join("");
    assert.ok(text.length > 2 * BOARD_TRANSFER_LENGTH);
    const keys: KeysFile = { read: () => text, write: () => null, mayWrite: () => null };
    const prog = sftpServer(rec.ctx, files, keys);
    prog.data!(Buffer.concat([
      packet(1, null, (w) => w.uint32(3)),
      packet(3, 1, (w) => w.text(".ssh/authorized_keys").uint32(1).uint32(0)), // OPEN, READ
    ]));
    let a = answers(rec.out);
    assert.deepEqual(a.map((x) => x.type), [2, 102]);
    const h = a[1].r.string();
    const seen = a.length;
    prog.data!(Buffer.concat([
      packet(5, 2, (w) => w.string(h).uint64(100).uint32(MAX_READ_LENGTH)), // READ 32 KiB at 100
      packet(5, 3, (w) => w.string(h).uint64(text.length).uint32(MAX_READ_LENGTH)), // at the end
    ]));
    a = answers(rec.out).slice(seen);
    assert.deepEqual(a.map((x) => [x.type, x.id]), [[103, 2], [101, 3]]);
    assert.equal(Buffer.from(a[0].r.string()).toString("latin1"), text.slice(100), "the whole rest of the file in one answer");
    assert.equal(a[1].r.uint32(), 1, "EOF");
  });

  test("an oversized request gets a failure status and is skipped; the session goes on", () => {
    const { rec, prog } = make();
    const big = packet(6, 9, (w) => w.string(new Uint8Array(4)).uint64(0).string(new Uint8Array(MAX_PACKET_LENGTH + 100)));
    const input = Buffer.concat([packet(1, null, (w) => w.uint32(3)), big, packet(17, 10, (w) => w.text("/"))]);
    for (let i = 0; i < input.length; i += 1000) prog.data!(input.subarray(i, i + 1000));
    const a = answers(rec.out);
    assert.deepEqual(a.map((x) => [x.type, x.id]), [[2, -1], [101, 9], [105, 10]]);
    assert.equal(a[1].r.uint32(), 4);
    assert.match(a[1].r.text(), /over|at most/);
    assert.equal(rec.exited, null);
    assert.equal(rec.consumed, input.length);
    // A length that cannot be a request ends the session with a message.
    prog.data!(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 6, 0, 0, 0, 1));
    assert.equal(rec.exited, 1);
    assert.match(rec.err, /malformed request stream/);
  });

  test("answers the channel does not take stop the requests until writable(); input stays unconsumed", () => {
    const { rec, prog, store } = make();
    const h = store.open("f", "create");
    h.write(0, randomBytes(100_000));
    h.close();
    prog.data!(packet(1, null, (w) => w.uint32(3)));
    prog.data!(packet(3, 1, (w) => w.text("f").uint32(1).uint32(0)));
    const handle = answers(rec.out)[1].r.string();
    const before = rec.out.length;
    rec.room = 10_000; // less than one READ answer
    const reads = Buffer.concat([0, 1, 2].map((i) => packet(5, 100 + i, (w) => w.string(handle).uint64(i * 32768).uint32(32768))));
    const consumedBefore = rec.consumed;
    prog.data!(reads);
    // The first READ was handled (its answer is partly out); the other two wait, unconsumed.
    assert.equal(rec.out.length - before, 10_000);
    assert.equal(rec.consumed - consumedBefore, reads.length / 3);
    rec.room = Infinity;
    prog.writable!();
    const a = answers(rec.out.subarray(before));
    assert.deepEqual(a.map((x) => [x.type, x.id]), [[103, 100], [103, 101], [103, 102]]);
    assert.equal(rec.consumed - consumedBefore, reads.length);
    // EOF: everything is closed and the program exits.
    prog.eof!();
    assert.equal(rec.exited, 0);
  });

  test("a long READ on a board streams its pieces as the channel takes them; requests wait; EOF short at the end", () => {
    const { rec, prog, store } = make(BOARD_TRANSFER_LENGTH);
    const content = randomBytes(50_000);
    const h = store.open("f", "create");
    h.write(0, content);
    h.close();
    prog.data!(packet(1, null, (w) => w.uint32(3)));
    prog.data!(packet(3, 1, (w) => w.text("f").uint32(1).uint32(0)));
    const handle = answers(rec.out)[1].r.string();
    const before = rec.out.length;
    const reads = Buffer.concat([
      packet(5, 100, (w) => w.string(handle).uint64(0).uint32(30_000)), // libssh2's request size
      packet(5, 101, (w) => w.string(handle).uint64(30_000).uint32(30_000)), // 20,000 left: short, at EOF
      packet(5, 102, (w) => w.string(handle).uint64(50_000).uint32(30_000)), // EOF
    ]);
    const consumedBefore = rec.consumed;
    rec.room = 1_000; // less than one piece
    prog.data!(reads);
    assert.equal(rec.out.length - before, 1_000);
    assert.equal(rec.consumed - consumedBefore, reads.length / 3, "the other READs wait, unconsumed");
    // The channel takes 3,000 bytes at a time: the answer goes out a piece at a time, in order.
    for (let i = 0; i < 100 && rec.consumed - consumedBefore < reads.length; i++) {
      rec.room = 3_000;
      prog.writable!();
    }
    rec.room = Infinity;
    prog.writable!();
    const a = answers(rec.out.subarray(before));
    assert.deepEqual(a.map((x) => [x.type, x.id]), [[103, 100], [103, 101], [101, 102]]);
    assert.ok(Buffer.from(a[0].r.string()).equals(content.subarray(0, 30_000)));
    assert.ok(Buffer.from(a[1].r.string()).equals(content.subarray(30_000)));
    assert.equal(a[2].r.uint32(), 1, "EOF");
    assert.equal(rec.consumed - consumedBefore, reads.length);
    assert.equal(rec.exited, null);
  });

  test("a failed WRITE makes CLOSE drop the upload; closed() drops open uploads", () => {
    const { rec, prog, store } = make();
    const h = store.open("keep", "create");
    h.write(0, Buffer.from("old content"));
    h.close();
    prog.data!(packet(1, null, (w) => w.uint32(3)));
    prog.data!(packet(3, 1, (w) => w.text("keep").uint32(0x1a).uint32(0)));
    const handle = answers(rec.out)[1].r.string();
    prog.data!(packet(6, 2, (w) => w.string(handle).uint64(0).string(Buffer.from("new"))));
    prog.data!(packet(6, 3, (w) => w.string(handle).uint64(2 * MiB).string(Buffer.from("x"))));
    prog.data!(packet(4, 4, (w) => w.string(handle)));
    const a = answers(rec.out);
    assert.deepEqual(a.slice(2).map((x) => [x.type, x.id, x.r.uint32()]), [[101, 2, 0], [101, 3, 4], [101, 4, 4]]);
    assert.match(a[3].r.text(), /no space left on the flash/);
    assert.match(a[4].r.text(), /dropped \(any earlier version is unchanged\)/);
    assert.equal(Buffer.from(readFileSync(join(dir.path, `flash${n - 1}`, "keep"))).toString(), "old content");
    // An upload still open when the channel goes: dropped.
    prog.data!(packet(3, 5, (w) => w.text("other").uint32(0x1a).uint32(0)));
    assert.equal(store.list("").length, 2); // keep + a temp
    prog.closed!();
    assert.deepEqual(store.list("").map((s) => s.name), ["keep"]);
  });

  test("without TRUNC, the old bytes around what was written are merged in at CLOSE", () => {
    const { rec, prog, store } = make();
    const h = store.open("keep", "create");
    h.write(0, Buffer.from("old content here"));
    h.close();
    prog.data!(packet(1, null, (w) => w.uint32(3)));
    prog.data!(packet(3, 1, (w) => w.text("keep").uint32(2).uint32(0))); // WRITE only
    const handle = answers(rec.out)[1].r.string();
    prog.data!(packet(6, 2, (w) => w.string(handle).uint64(4).string(Buffer.from("NEW"))));
    prog.data!(packet(6, 3, (w) => w.string(handle).uint64(18).string(Buffer.from("!"))));
    prog.data!(packet(4, 4, (w) => w.string(handle)));
    const a = answers(rec.out);
    assert.deepEqual(a.slice(2).map((x) => [x.type, x.id, x.r.uint32()]), [[101, 2, 0], [101, 3, 0], [101, 4, 0]]);
    assert.deepEqual(readFileSync(join(dir.path, `flash${n - 1}`, "keep")), Buffer.from("old NEWtent here\0\0!"));
    assert.deepEqual(store.list("").map((s) => s.name), ["keep"]);
  });
});

test("a channel window smaller than one SFTP WRITE does not stall an upload (a small device's window)", async () => {
  const small = await startTestServer({ limits: { channelWindow: 16 * 1024, maxChannelPacket: 8192, channelSendQueue: 8192 } });
  try {
    const data = randomBytes(300_000);
    const local = join(small.dir, "small-window.bin");
    writeFileSync(local, data);
    const scpArgs = ["-P", String(small.port), "-i", small.clientKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-F", "/dev/null"];
    const up = await run("scp", [...scpArgs, local, "console@127.0.0.1:sw.bin"], { timeoutMs: 60_000 });
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(readFileSync(join(small.dir, "flash", "sw.bin")), data);
    const back = join(small.dir, "back.bin");
    const down = await run("scp", [...scpArgs, "console@127.0.0.1:sw.bin", back], { timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(readFileSync(back), data);
  } finally {
    await small.close();
  }
});
