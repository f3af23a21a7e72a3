// Firmware updates (modules/files/ota.ts) on the node host with two slots in memory: ESP-IDF app
// images checked as they stream (split anywhere), refused with a reason when wrong, and the ways
// in: OpenSSH's scp (SFTP) and scp -O to /ota, `ssh board ota < image`; `ota status`, `ota commit
// [--reboot]`; the trial of a new image (a login keeps it, no login rolls it back). The incremental
// SHA-256 against node:crypto.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sha256 } from "../modules/crypto/sha256.js";
import { Ota, OTA_REBOOT_DELAY_MS, espImageFormat } from "../modules/files/ota.js";
import { StoreError } from "../modules/files/store.js";
import { MemoryOtaHost, espImage } from "./helpers/ota.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";

ensureTool("scp", "openssh-client");

const FORMAT = espImageFormat("esp32c3");
const MS = 30_000;

describe("incremental SHA-256", () => {
  test("matches node:crypto for lengths around the block boundaries, in pieces", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4097]) {
      const data = randomBytes(n);
      const h = new Sha256();
      let i = 0;
      while (i < n) {
        const k = Math.min(n - i, 1 + ((i * 7) % 70));
        h.update(data.subarray(i, i + k));
        i += k;
      }
      assert.equal(Buffer.from(h.digest()).toString("hex"), createHash("sha256").update(data).digest("hex"), `length ${n}`);
    }
  });
});

function feed(image: Buffer, split: number, max = 1 << 20) {
  const check = FORMAT.check(max, new Sha256());
  for (let i = 0; i < image.length; i += split) check.push(image.subarray(i, i + split));
  return check.end();
}

function refused(image: Buffer, pattern: RegExp, max = 1 << 20) {
  assert.throws(() => feed(image, 333, max), (e: unknown) => e instanceof StoreError && pattern.test(e.message));
}

describe("ESP app image check", () => {
  test("a good image, fed in any split, gives its version and size", () => {
    const image = espImage({ version: "2.0.1-test" });
    for (const split of [1, 7, 16, 4096, image.length]) {
      assert.deepEqual(feed(image, split), { version: "2.0.1-test", size: image.length });
    }
  });
  test("wrong files are refused with the reason", () => {
    refused(Buffer.from("\x7fELF" + "x".repeat(100)), /first byte 0x7f, an ESP image starts with 0xe9/);
    refused(espImage({ chip: "esp32s3" }), /built for ESP32S3, this board is an ESP32C3/);
    refused(espImage({ hashAppended: false }), /no SHA-256 appended/);
    const image = espImage();
    refused(image.subarray(0, image.length - 10), /cut short/);
    refused(Buffer.concat([image, Buffer.from("tail")]), /bytes after the appended SHA-256/);
    refused(image, /larger than the 8192-byte OTA slot/, 8192);
    const flipped = Buffer.from(image);
    flipped[3000] ^= 1;
    refused(flipped, /checksum/);
    const digestFlipped = Buffer.from(image);
    digestFlipped[image.length - 1] ^= 1;
    refused(digestFlipped, /SHA-256 does not match/);
  });
});

describe("OTA trial", () => {
  test("a login keeps a new image; no login within the trial rolls it back", () => {
    let now = 0;
    const logs: string[] = [];
    const kept = new MemoryOtaHost(FORMAT, { trial: true });
    const a = new Ota(kept, { log: (l) => logs.push(l), now: () => now, trialMs: 5000 });
    assert.equal(a.onTrial, true);
    now = 1000;
    a.loggedIn();
    now = 10_000;
    a.tick();
    assert.deepEqual(kept.events, ["markValid"]);
    const bad = new MemoryOtaHost(FORMAT, { trial: true });
    now = 0;
    const b = new Ota(bad, { log: (l) => logs.push(l), now: () => now, trialMs: 5000 });
    now = 4999;
    b.tick();
    assert.deepEqual(bad.events, []);
    now = 5000;
    b.tick();
    assert.deepEqual(bad.events, ["rollback"]);
    assert.ok(logs.some((l) => l.includes("no SSH login within 5 s")));
    assert.throws(() => new Ota(new MemoryOtaHost(FORMAT, { trial: true }), { log() {}, now: () => 0 }).begin(), /on trial/);
  });
});

describe("OTA over OpenSSH (node host, slots in memory)", () => {
  let ts: TestServer;
  let host: MemoryOtaHost;
  const local = tempDir("essh-ota-");
  const image = espImage({ version: "1.1.0", segments: [4096, 150_000, 1000] });
  const imageFile = join(local.path, "firmware.bin");
  const ssh = (args: string[], input?: Buffer) => run("ssh", [...ts.sshArgs, "console@127.0.0.1", ...args], { input, timeoutMs: MS });
  const scp = (args: string[]) => run("scp", ["-q", "-P", String(ts.port), ...ts.sshArgs.slice(2), ...args], { timeoutMs: MS });

  before(async () => {
    host = new MemoryOtaHost(FORMAT, { slotSize: 512 * 1024 });
    ts = await startTestServer({ ota: host });
    writeFileSync(imageFile, image);
  });
  after(async () => {
    await ts?.close();
    local.cleanup();
  });

  test("scp (SFTP) to /ota writes the slot; ota status shows it; ota commit --reboot activates and reboots", async () => {
    const r = await scp([imageFile, "console@127.0.0.1:/ota"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((host.written as Buffer | null)?.equals(image), "the slot holds the image byte-exact");
    const status = await ssh(["ota", "status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout.toString(), /firmware: 1\.0\.0\n[^]*staged: 1\.1\.0 \(\d+ bytes\)/);
    const info = await ssh(["info"]);
    assert.match(info.stdout.toString(), /firmware: 1\.0\.0/);
    const commit = await ssh(["ota", "commit", "--reboot"]);
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout.toString(), /firmware 1\.1\.0 boots next, on trial/);
    const deadline = Date.now() + OTA_REBOOT_DELAY_MS + 10_000;
    while (!host.events.includes("reboot") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(host.events.filter((e) => e === "activate" || e === "reboot"), ["activate", "reboot"]);
    const again = await ssh(["ota", "commit"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /nothing to commit/);
  });

  test("scp -O and ssh ota < image take the image too", async () => {
    host.written = null;
    const r = await scp(["-O", imageFile, "console@127.0.0.1:/ota"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((host.written as Buffer | null)?.equals(image));
    host.written = null;
    const p = await ssh(["ota"], image);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout.toString(), /image 1\.1\.0 \(\d+ bytes\) checked and written/);
    assert.ok((host.written as Buffer | null)?.equals(image));
  });

  test("a truncated or wrong image is refused with the reason; nothing is staged", async () => {
    host.written = null;
    const cut = join(local.path, "cut.bin");
    writeFileSync(cut, image.subarray(0, 100_000));
    const r = await scp([cut, "console@127.0.0.1:/ota"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cut short/);
    const o = await scp(["-O", cut, "console@127.0.0.1:/ota"]);
    assert.notEqual(o.code, 0);
    assert.match(o.stderr, /cut short/);
    const p = await ssh(["ota"], espImage({ chip: "esp32" }));
    assert.equal(p.code, 1);
    assert.match(p.stderr, /built for ESP32, this board is an ESP32C3.*running firmware is unchanged/);
    assert.equal(host.written, null);
    const status = await ssh(["ota", "status"]);
    assert.doesNotMatch(status.stdout.toString(), /staged/);
    const down = await scp(["console@127.0.0.1:/ota", join(local.path, "back.bin")]);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /cannot be read/);
  });
});
