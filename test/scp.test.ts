// Legacy scp (the rcp protocol, `scp -O`) against the node host's flash store: OpenSSH's scp 9.2 and
// PuTTY's pscp (-scp) over real TCP, plus protocol edge cases driven straight into scpCommand with a
// recording session context (bad names, overlong lines, ENOSPC in mid-file, a sender cut off).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { passwordAccess } from "../modules/ssh/access.js";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, opensshOptions, run, tempDir } from "./helpers/tools.js";
import { Procs, pollUntil, sha256, waitExit } from "./helpers/procs.js";
import { DirectoryFlashStore } from "../hosts/node/flash.js";
import { Files, TEMP_PREFIX } from "../modules/files/files.js";
import { SCP_MAX_LINE, scpCommand } from "../modules/files/scp.js";
import type { SessionContext, SessionProgram } from "../modules/ssh/session.js";

const HOST = "console@127.0.0.1";
const SCP_MS = 30_000;

ensureTool("scp", "openssh-client");
ensureTool("pscp", "putty-tools");
ensureTool("puttygen", "putty-tools");

function scpArgs(ts: TestServer): string[] {
  return ["-O", "-q", "-P", String(ts.port), ...opensshOptions(ts.clientKey)];
}

function scp(ts: TestServer, args: string[], timeoutMs = SCP_MS) {
  return run("scp", [...scpArgs(ts), ...args], { timeoutMs });
}

function temps(flash: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(TEMP_PREFIX)) found.push(join(dir, e.name));
      if (e.isDirectory()) walk(join(dir, e.name));
    }
  };
  walk(flash);
  return found;
}

describe("scp -O (OpenSSH) onto a flat flash store", () => {
  let ts: TestServer;
  let flash = "";
  const local = tempDir("essh-scp-local-");
  const procs = new Procs();

  before(async () => {
    ts = await startTestServer({ flashSize: 16 << 20 });
    flash = join(ts.dir, "flash");
  });
  after(async () => {
    procs.killAll();
    await ts?.close();
    local.cleanup();
  });

  test("upload and download 1 MiB of random bytes, byte-exact", async () => {
    const data = randomBytes(1 << 20);
    const src = join(local.path, "big.bin");
    writeFileSync(src, data);
    const up = await scp(ts, [src, `${HOST}:`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256(readFileSync(join(flash, "big.bin"))), sha256(data));
    assert.deepEqual(temps(flash), []);

    const dst = join(local.path, "big.back");
    const down = await scp(ts, [`${HOST}:big.bin`, dst]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(dst)), sha256(data));
  });

  test("-p keeps the modification time both ways", async () => {
    const src = join(local.path, "dated.txt");
    writeFileSync(src, "from 2001\n");
    const t1 = new Date("2001-02-03T04:05:06Z");
    utimesSync(src, t1, t1);
    const up = await scp(ts, ["-p", src, `${HOST}:dated.txt`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(statSync(join(flash, "dated.txt")).mtime.getTime(), t1.getTime());

    const t2 = new Date("2011-12-13T14:15:16Z");
    utimesSync(join(flash, "dated.txt"), t2, t2);
    const dst = join(local.path, "dated.back");
    const down = await scp(ts, ["-p", `${HOST}:dated.txt`, dst]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(statSync(dst).mtime.getTime(), t2.getTime());
    assert.equal(readFileSync(dst, "utf8"), "from 2001\n");
  });

  test("overwriting with a shorter file leaves exactly the new bytes", async () => {
    const src = join(local.path, "shrink.txt");
    writeFileSync(src, "x".repeat(5000));
    assert.equal((await scp(ts, [src, `${HOST}:shrink.txt`])).code, 0);
    writeFileSync(src, "short\n");
    const r = await scp(ts, [src, `${HOST}:shrink.txt`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(flash, "shrink.txt"), "utf8"), "short\n");
  });

  test("an empty file goes both ways", async () => {
    const src = join(local.path, "empty.txt");
    writeFileSync(src, "");
    assert.equal((await scp(ts, [src, `${HOST}:empty.txt`])).code, 0);
    assert.equal(statSync(join(flash, "empty.txt")).size, 0);
    const dst = join(local.path, "empty.back");
    const r = await scp(ts, [`${HOST}:empty.txt`, dst]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(dst).size, 0);
  });

  test("several files in one command, uploaded and downloaded; a glob on the device side", async () => {
    const a = join(local.path, "m1.txt"), b = join(local.path, "m2.txt");
    writeFileSync(a, "one\n");
    writeFileSync(b, "two\n");
    const up = await scp(ts, [a, b, `${HOST}:`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(flash, "m1.txt"), "utf8"), "one\n");
    assert.equal(readFileSync(join(flash, "m2.txt"), "utf8"), "two\n");

    const out = join(local.path, "multi");
    mkdirSync(out);
    const down = await scp(ts, [`${HOST}:m1.txt`, `${HOST}:m2.txt`, `${HOST}:big.bin`, out + "/"]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(join(out, "m1.txt"), "utf8"), "one\n");
    assert.equal(readFileSync(join(out, "m2.txt"), "utf8"), "two\n");
    assert.equal(sha256(readFileSync(join(out, "big.bin"))), sha256(readFileSync(join(flash, "big.bin"))));

    const globbed = join(local.path, "globbed");
    mkdirSync(globbed);
    const g = await scp(ts, [`${HOST}:m*.txt`, globbed]);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(readdirSync(globbed).sort(), ["m1.txt", "m2.txt"]);
  });

  test("a missing file: non-zero exit and a clear message; the other files still arrive", async () => {
    const out = join(local.path, "missing");
    mkdirSync(out);
    const r = await scp(ts, [`${HOST}:no-such-file`, out]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-file: No such file or directory/);

    // One remote command naming two files (the remote shell would split them): the good one arrives.
    // -T: the client would otherwise insist on names matching "no-such-file m1.txt" as one pattern.
    const both = await scp(ts, ["-T", `${HOST}:no-such-file m1.txt`, out]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /no-such-file: No such file or directory/);
    assert.equal(readFileSync(join(out, "m1.txt"), "utf8"), "one\n");
  });

  test("a local directory without -r: refused, the warning reaches the device and both fail", async () => {
    mkdirSync(join(local.path, "adir"), { recursive: true });
    const r = await scp(ts, [join(local.path, "adir"), `${HOST}:`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a regular file/);
  });

  test("traversal and bad names are refused with clear errors", async () => {
    const src = join(local.path, "t.txt");
    writeFileSync(src, "t\n");
    const before = readdirSync(flash).sort();

    const up1 = await scp(ts, [src, `${HOST}:../x`]);
    assert.notEqual(up1.code, 0);
    assert.match(up1.stderr, /"\.\.\/x": "\.\." is not allowed/);

    const up2 = await scp(ts, [src, `${HOST}:/../../etc/x`]);
    assert.notEqual(up2.code, 0);
    assert.match(up2.stderr, /"\.\." is not allowed/);

    const down = await scp(ts, [`${HOST}:/../../etc/passwd`, join(local.path, "passwd")]);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /"\.\." is not allowed/);
    assert.equal(existsSync(join(local.path, "passwd")), false);

    const longName = "n".repeat(40);
    const longSrc = join(local.path, longName);
    writeFileSync(longSrc, "long\n");
    const up3 = await scp(ts, [longSrc, `${HOST}:`]);
    assert.notEqual(up3.code, 0);
    assert.match(up3.stderr, /names are limited to 31 bytes on this flash/);

    const up4 = await scp(ts, [src, `${HOST}:sub/x`]);
    assert.notEqual(up4.code, 0);
    assert.match(up4.stderr, /this flash store is flat \(no directories\)/);

    const up5 = await scp(ts, [src, `${HOST}:${TEMP_PREFIX}12345678`]);
    assert.notEqual(up5.code, 0);
    assert.match(up5.stderr, /reserved/);

    assert.deepEqual(readdirSync(flash).sort(), before);
  });

  test("scp -r onto the flat store: a clear error, non-zero exit", async () => {
    const tree = join(local.path, "tree");
    mkdirSync(join(tree, "inner"), { recursive: true });
    writeFileSync(join(tree, "f.txt"), "f\n");
    const r = await scp(ts, ["-r", tree, `${HOST}:`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /scp: tree: this flash store is flat \(no directories\)/);
    assert.equal(existsSync(join(flash, "tree")), false);
  });

  test("scp -r of the device's root is refused with a hint", async () => {
    const r = await scp(ts, ["-r", `${HOST}:`, join(local.path, "rootcopy")]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /root directory itself cannot be sent/);
  });

  for (const how of ["scp alone (its ssh sends EOF)", "scp and its ssh (the connection is cut)"]) {
    test(`an upload killed in mid-file (kill -9 of ${how}) leaves the old file intact and no temp file`, async () => {
      const old = randomBytes(10_000);
      const oldSrc = join(local.path, "victim.bin");
      writeFileSync(oldSrc, old);
      assert.equal((await scp(ts, [oldSrc, `${HOST}:victim.bin`])).code, 0);

      const bigSrc = join(local.path, "victim4m.bin");
      writeFileSync(bigSrc, randomBytes(4 << 20));
      // -l 4000 (kbit/s) makes the 4 MiB take ~8 s, so the kill lands in mid-file. scp and its ssh
      // get a process group of their own, so that the ssh child can be found and ended afterwards.
      const child = procs.spawn("scp", [...scpArgs(ts), "-l", "4000", bigSrc, `${HOST}:victim.bin`], { detached: true });
      const killGroup = () => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // the group is gone already
        }
      };
      try {
        try {
          await pollUntil("a temp file appears in the flash dir", async () => temps(flash).length > 0, 400, 25);
        } finally {
          if (how.startsWith("scp alone")) child.kill("SIGKILL");
          else killGroup();
        }
        await waitExit(child, 10_000, "scp");
        await pollUntil("the server drops the temp file", async () => temps(flash).length === 0, 400, 25);
        assert.equal(sha256(readFileSync(join(flash, "victim.bin"))), sha256(old));
      } finally {
        killGroup();
      }
    });
  }
});

describe("scp -O when the flash is full", () => {
  let ts: TestServer;
  let flash = "";
  const local = tempDir("essh-scp-full-");

  before(async () => {
    ts = await startTestServer({ flashSize: 256 << 10 });
    flash = join(ts.dir, "flash");
  });
  after(async () => {
    await ts?.close();
    local.cleanup();
  });

  test("a 300 KiB upload over an existing file fails clearly; the old file stays", async () => {
    const old = randomBytes(50_000);
    const src = join(local.path, "data.bin");
    writeFileSync(src, old);
    assert.equal((await scp(ts, [src, `${HOST}:data.bin`])).code, 0);

    writeFileSync(src, randomBytes(300 << 10));
    const r = await scp(ts, [src, `${HOST}:data.bin`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /data\.bin: no space left on the flash \(307200 bytes to write, \d+ of 262144 bytes free\)/);
    assert.equal(sha256(readFileSync(join(flash, "data.bin"))), sha256(old));
    assert.deepEqual(temps(flash), []);

    // Space is still accounted right: a file that fits goes in next to it.
    writeFileSync(src, randomBytes(100_000));
    const ok = await scp(ts, [src, `${HOST}:other.bin`]);
    assert.equal(ok.code, 0, ok.stderr);
    const df = await run("ssh", [...ts.sshArgs, HOST, "df"], { timeoutMs: SCP_MS });
    assert.match(df.stdout.toString(), /flash: 262144 bytes, 150000 used \(\d+%\), 112144 free/);
  });

  test("replacing a file that fits only once the old one is gone says to remove it first", async () => {
    const own = await startTestServer({ flashSize: 256 << 10 });
    try {
      const ownFlash = join(own.dir, "flash");
      const old = randomBytes(150_000);
      const src = join(local.path, "same.bin");
      writeFileSync(src, old);
      assert.equal((await scp(own, [src, `${HOST}:same.bin`])).code, 0);
      const next = randomBytes(150_000);
      writeFileSync(src, next);
      let r = await scp(own, [src, `${HOST}:same.bin`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /same\.bin: no space left on the flash \(150000 bytes to write, 112144 of 262144 bytes free\); the old "same\.bin" \(150000 bytes\) stays until the new copy is complete: remove it first to make room/);
      assert.equal(sha256(readFileSync(join(ownFlash, "same.bin"))), sha256(old));
      // As it says: removed first, the same upload goes in.
      const rm = await run("ssh", [...own.sshArgs, HOST, "rm same.bin"], { timeoutMs: SCP_MS });
      assert.equal(rm.code, 0, rm.stderr.toString());
      r = await scp(own, [src, `${HOST}:same.bin`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(join(ownFlash, "same.bin"))), sha256(next));
      assert.deepEqual(temps(ownFlash), []);
    } finally {
      await own.close();
    }
  });
});

describe("scp -O -r onto a flash store with directories", () => {
  let ts: TestServer;
  let flash = "";
  const local = tempDir("essh-scp-dirs-");

  before(async () => {
    ts = await startTestServer({ flashSize: 4 << 20, flashDirs: true });
    flash = join(ts.dir, "flash");
  });
  after(async () => {
    await ts?.close();
    local.cleanup();
  });

  test("a tree arrives, goes into an existing directory, and comes back with -r -p", async () => {
    const tree = join(local.path, "site");
    mkdirSync(join(tree, "css", "deep"), { recursive: true });
    const files: Record<string, Buffer> = {
      "index.html": Buffer.from("<h1>hi</h1>\n"),
      "css/app.css": Buffer.from("body{}\n"),
      "css/deep/blob.bin": randomBytes(70_000),
    };
    for (const [p, b] of Object.entries(files)) writeFileSync(join(tree, p), b);
    const r = await scp(ts, ["-r", tree, `${HOST}:`]);
    assert.equal(r.code, 0, r.stderr);
    for (const [p, b] of Object.entries(files)) assert.equal(sha256(readFileSync(join(flash, "site", p))), sha256(b), p);

    // Into an existing directory by name, and a file into a subdirectory.
    const again = await scp(ts, ["-r", tree, `${HOST}:site`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(flash, "site", "site", "index.html"), "utf8"), "<h1>hi</h1>\n");
    const one = await scp(ts, [join(tree, "index.html"), `${HOST}:site/css/`]);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(existsSync(join(flash, "site", "css", "index.html")));

    const t = new Date("2005-06-07T08:09:10Z");
    utimesSync(join(flash, "site", "css", "app.css"), t, t);
    const back = join(local.path, "back");
    const down = await scp(ts, ["-r", "-p", `${HOST}:site`, back]);
    assert.equal(down.code, 0, down.stderr);
    for (const [p, b] of Object.entries(files)) assert.equal(sha256(readFileSync(join(back, p))), sha256(b), p);
    assert.equal(statSync(join(back, "css", "app.css")).mtime.getTime(), t.getTime());
    assert.deepEqual(temps(flash), []);
  });

  test("a missing target directory is refused", async () => {
    const src = join(local.path, "x.txt");
    writeFileSync(src, "x\n");
    const r = await scp(ts, [src, `${HOST}:nodir/`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nodir\/: No such directory/);
  });
});

describe("pscp -scp (PuTTY, legacy protocol)", () => {
  let ts: TestServer;
  let flash = "";
  const home = tempDir("essh-pscp-home-");
  let env: NodeJS.ProcessEnv;
  let base: string[] = [];

  before(async () => {
    ts = await startTestServer({ flashSize: 4 << 20 });
    flash = join(ts.dir, "flash");
    const ppk = join(home.path, "key.ppk");
    execFileSync("puttygen", [ts.clientKey, "-O", "private", "-o", ppk], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    mkdirSync(join(home.path, ".putty"), { recursive: true });
    env = { ...process.env, HOME: home.path };
    base = ["-scp", "-batch", "-q", "-P", String(ts.port), "-i", ppk, "-hostkey", ts.server.fingerprint];
  });
  after(async () => {
    await ts?.close();
    home.cleanup();
  });

  test("upload and download, byte-exact", async () => {
    const data = randomBytes(300_000);
    const src = join(home.path, "p.bin");
    writeFileSync(src, data);
    const up = await run("pscp", [...base, src, `${HOST}:p.bin`], { timeoutMs: SCP_MS, env });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256(readFileSync(join(flash, "p.bin"))), sha256(data));

    const dst = join(home.path, "p.back");
    const down = await run("pscp", [...base, `${HOST}:p.bin`, dst], { timeoutMs: SCP_MS, env });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(dst)), sha256(data));
  });

  test("a missing file fails with the server's message", async () => {
    const r = await run("pscp", [...base, `${HOST}:nothing-here`, join(home.path, "n")], { timeoutMs: SCP_MS, env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nothing-here: No such file or directory/);
  });
});

// ---- the protocol driven directly ----------------------------------------------------------------

/** A session context that records output and consumption; `room` limits what write() takes. */
class FakeSession {
  out: number[] = [];
  consumed = 0;
  status: number | null = null;
  room = Infinity;
  program!: SessionProgram;
  readonly ctx: SessionContext;

  constructor() {
    const self = this;
    this.ctx = {
      user: "console", remote: "test", access: passwordAccess("test"), pty: null, env: new Map(), server: null as never,
      write(data) {
        if (self.status !== null) return 0;
        const n = Math.min(data.length, self.room);
        self.room -= n;
        for (let i = 0; i < n; i++) self.out.push(data[i]);
        return n;
      },
      writeErr: (d) => d.length,
      print: (t) => t.length,
      get writableBytes() {
        return self.room;
      },
      consume(n) {
        self.consumed += n;
      },
      exit(s) {
        self.status = s;
      },
      exitSignal() {},
      eof() {},
    };
  }

  send(bytes: Uint8Array | string): void {
    this.program.data!(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  text(): string {
    return Buffer.from(this.out).toString("latin1");
  }

  takeText(): string {
    const t = this.text();
    this.out = [];
    return t;
  }
}

describe("scp protocol edge cases (scpCommand driven directly)", () => {
  const tmp = tempDir("essh-scp-unit-");
  let n = 0;

  function setup(opts: { capacity?: number; dirs?: boolean; lieAboutUsed?: boolean; prefill?: Record<string, Uint8Array | string> } = {}) {
    const root = join(tmp.path, `s${n++}`);
    mkdirSync(root);
    for (const [name, content] of Object.entries(opts.prefill ?? {})) writeFileSync(join(root, name), content);
    const store = new DirectoryFlashStore(root, opts.capacity ?? 1 << 20, opts.dirs ?? false);
    if (opts.lieAboutUsed) store.used = () => -(1 << 30); // free space looks plenty: ENOSPC comes in mid-file
    const files = new Files(store, () => 0x1234);
    return { root, store, files };
  }

  function startSink(files: Files, args: string[]): FakeSession {
    const s = new FakeSession();
    s.program = scpCommand(s.ctx, args, files);
    s.program.start!();
    return s;
  }

  after(() => tmp.cleanup());

  test("a name with a NUL byte, a name with a slash, and an overlong line", () => {
    const { root, files } = setup();
    let s = startSink(files, ["-t", "--", "."]);
    assert.equal(s.takeText(), "\0");
    s.send("C0644 3 a\0b\n");
    assert.match(s.takeText(), /^\x01scp: .*NUL.*\n$/);
    assert.equal(s.status, null, "a bad name is a warning: the client goes on");
    s.send("C0644 3 ../etc/x\n");
    assert.match(s.text(), /^\x02scp: error: unexpected filename: \.\.\/etc\/x\n$/);
    assert.equal(s.status, 1);

    s = startSink(files, ["-t", "."]);
    s.takeText();
    s.send("C0644 3 " + "z".repeat(SCP_MAX_LINE));
    assert.match(s.text(), /^\x02scp: protocol error: control line longer than 2048 bytes\n$/);
    assert.equal(s.status, 1);
    assert.deepEqual(readdirSync(root), []);
  });

  test("the flash fills in mid-file: a warning after the data, the old file stays, no temp", () => {
    const { root, files } = setup({ capacity: 64 << 10, lieAboutUsed: true, prefill: { "f.bin": "old content\n" } });
    const s = startSink(files, ["-t", "f.bin"]);
    s.takeText();
    s.send(`C0644 ${100 << 10} f.bin\n`);
    assert.equal(s.takeText(), "\0");
    const data = randomBytes(100 << 10);
    for (let off = 0; off < data.length; off += 16384) s.send(data.subarray(off, off + 16384));
    assert.equal(s.text(), "", "no reply before the sender's final status byte");
    s.send("\0");
    assert.match(s.takeText(), /^\x01scp: f\.bin: no space left on the flash/);
    assert.equal(readFileSync(join(root, "f.bin"), "utf8"), "old content\n");
    assert.deepEqual(temps(root), []);
    s.program.eof!();
    assert.equal(s.status, 1);
    assert.equal(s.consumed, (data.length + 1) + `C0644 ${100 << 10} f.bin\n`.length);
  });

  test("times apply at commit; a sender's own error drops the file; EOF in mid-file aborts", () => {
    const { root, files } = setup();
    const s = startSink(files, ["-t", "-p", "."]);
    s.takeText();
    s.send("T1000000000 0 1000000001 0\n");
    assert.equal(s.takeText(), "\0");
    s.send("C0644 5 t.txt\nhello\0");
    assert.equal(s.takeText(), "\0\0");
    assert.equal(statSync(join(root, "t.txt")).mtimeMs, 1000000000_000);

    // The sender could not read its file: it sends an error line instead of its final 0.
    s.send("C0644 4 bad.txt\nxxxx\x01scp: bad.txt: Input/output error\n");
    assert.equal(s.takeText(), "\0\0");
    assert.equal(existsSync(join(root, "bad.txt")), false);

    s.send("C0644 10 cut.txt\n12345");
    assert.equal(s.takeText(), "\0");
    assert.equal(temps(root).length, 1);
    s.program.eof!();
    assert.equal(s.status, 1);
    assert.deepEqual(temps(root), []);
    assert.equal(existsSync(join(root, "cut.txt")), false);
  });

  test("a connection closed in mid-file aborts the upload", () => {
    const { root, files } = setup();
    const s = startSink(files, ["-t", "keep.txt"]);
    s.takeText();
    s.send("C0644 100 keep.txt\nabc");
    assert.equal(temps(root).length, 1);
    s.program.closed!();
    assert.deepEqual(temps(root), []);
    assert.equal(existsSync(join(root, "keep.txt")), false);
  });

  test("replies the client does not read stall the input instead of piling up", () => {
    const { files } = setup();
    const s = startSink(files, ["-t", "."]);
    s.takeText();
    s.room = 0; // the channel takes nothing more
    const lines = "T1 0 1 0\n".repeat(10_000);
    s.send(lines);
    assert.ok(s.consumed < lines.length / 2, `consumed ${s.consumed} of ${lines.length}`);
    assert.equal(s.status, null);
    // The client reads again: everything is processed, one ack per line.
    s.room = Infinity;
    s.program.writable!();
    assert.equal(s.consumed, lines.length);
    assert.equal(s.text(), "\0".repeat(10_000));
  });

  test("the source writes only what the channel takes and resumes on writable()", () => {
    const data = randomBytes(50_000);
    const { files } = setup({ prefill: { "src.bin": data } });
    const s = new FakeSession();
    s.program = scpCommand(s.ctx, ["-f", "src.bin", "missing.bin"], files);
    s.program.start!();
    assert.equal(s.text(), "", "the source waits for the client's first 0");
    s.send("\0");
    assert.equal(s.takeText(), "C0644 50000 src.bin\n");
    s.room = 1000;
    s.send("\0");
    let got = Buffer.from(s.out);
    s.out = [];
    while (got.length < data.length + 1) {
      s.room = 7000;
      s.program.writable!();
      got = Buffer.concat([got, Buffer.from(s.out)]);
      s.out = [];
    }
    assert.equal(sha256(got.subarray(0, data.length)), sha256(data));
    assert.equal(got[data.length], 0);
    s.room = Infinity;
    s.send("\0");
    assert.equal(s.text(), "\x01scp: missing.bin: No such file or directory\n");
    assert.equal(s.status, 1);
  });
});
