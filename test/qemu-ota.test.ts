// Firmware updates in the QEMU firmware, end to end with OpenSSH: the image's boot selector
// (hosts/qemu/firmware/boot_select.c) and two update slots on the emulated flash, driven over scp.
// One data directory through five boots:
//   1. the factory program: a file and the host key are made; a truncated update image is refused;
//      a rebuilt image (another version string) goes up with scp, `ota commit --reboot`;
//   2. the selector boots it on trial; a login keeps it; `info` shows the new version; the file and
//      the host key are still there; an image that never accepts a login goes up with scp -O;
//   3. that image boots on trial, accepts no login, and rolls back when its trial runs out;
//   4. the selector boots the kept image again: `info` shows it, `ota status` the rolled-back slot.
// Images are built once and cached (build/qemu/ota/): only the JS is bundled and compiled again.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildOtaImage, buildSshFirmware } from "../hosts/qemu/build.js";
import { EXIT_REBOOT, bootSshServer, type Boot } from "../hosts/qemu/run.js";
import { ensureTool, freePort, opensshOptions, run, tempDir } from "./helpers/tools.js";

const TARGET = "console@127.0.0.1";
const EXEC_MS = 30_000;
/** The rolled-back image's trial: long enough for a loaded machine to boot it and try a login. */
const BROKEN_TRIAL_MS = 15_000;
const REBOOT_MS = 30_000;

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");

describe("OTA in the QEMU firmware: boot selector, two slots, rollback", () => {
  const tmp = tempDir("essh-qemu-ota-");
  const key = join(tmp.path, "id_ed25519");
  let port = 0;
  let qemu: Boot | null = null;
  let good = { file: "", bytes: 0, version: "" };
  let broken = { file: "", bytes: 0, version: "" };
  let hostKey = "";
  const logs: string[] = [];

  const ssh = (args: string[], input?: Uint8Array | string) => run("ssh", ["-p", String(port), ...opensshOptions(key, 20), TARGET, ...args], { input, timeoutMs: EXEC_MS });
  const scp = (args: string[]) => run("scp", ["-q", "-P", String(port), ...opensshOptions(key, 20), ...args], { timeoutMs: EXEC_MS });
  const bootIt = async () => {
    qemu = await bootSshServer({ listen: `127.0.0.1:${port}`, data: tmp.path });
  };
  /** Waits for the firmware to end with EXIT_REBOOT. */
  const rebooted = async (ms: number) => {
    const b = qemu!;
    const timer = setTimeout(() => b.child.kill("SIGKILL"), ms);
    const r = await b.done;
    clearTimeout(timer);
    logs.push(r.output);
    qemu = null;
    assert.equal(r.code, EXIT_REBOOT, `the firmware should have rebooted:\n${r.output}`);
    return r.output;
  };

  before(async () => {
    await buildSshFirmware({ log: () => {} });
    good = await buildOtaImage({ version: "0.2.0-ota" });
    broken = await buildOtaImage({ version: "0.3.0-nologin", fault: "no-login", trialMs: BROKEN_TRIAL_MS });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "qemu-ota", "-f", key], { timeout: 20_000 });
    copyFileSync(key + ".pub", join(tmp.path, "authorized_keys"));
    port = await freePort();
    await bootIt();
  });

  after(async () => {
    if (qemu) {
      qemu.child.kill("SIGTERM");
      logs.push((await qemu.done).output);
    }
    const all = logs.join("\n");
    assert.doesNotMatch(all, /uncaught exception|fatal|memory full/, `a firmware log shows an error:\n${all}`);
    tmp.cleanup();
  });

  test("factory program: a truncated image is refused, a rebuilt one is taken and committed", async () => {
    assert.match(qemu!.output(), /^boot: factory \(valid\)$/m);
    assert.match(qemu!.output(), /^firmware 0\.1\.0: booted from factory \(valid\)$/m);
    const info = await ssh(["info"]);
    assert.equal(info.code, 0, info.stderr);
    hostKey = /^host key: (SHA256:\S+) \(ED25519\)$/m.exec(info.stdout.toString())![1];
    assert.match(info.stdout.toString(), /^firmware: 0\.1\.0$/m);
    writeFileSync(join(tmp.path, "keep.txt"), "kept across updates\n");
    const up = await scp([join(tmp.path, "keep.txt"), `${TARGET}:keep.txt`]);
    assert.equal(up.code, 0, up.stderr);

    const cut = join(tmp.path, "cut.xsota");
    writeFileSync(cut, readFileSync(good.file).subarray(0, good.bytes - 1000));
    const r = await scp([cut, `${TARGET}:/ota`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /image cut short.*running firmware is unchanged/);
    const nothing = await ssh(["ota", "commit"]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /nothing to commit/);

    const ok = await scp([good.file, `${TARGET}:/ota`]);
    assert.equal(ok.code, 0, ok.stderr);
    const status = await ssh(["ota", "status"]);
    assert.match(status.stdout.toString(), /^staged: 0\.2\.0-ota \(\d+ bytes\)/m);
    assert.match(status.stdout.toString(), /^slot ota_0: 0\.2\.0-ota \(not booted\)$/m);
    const commit = await ssh(["ota", "commit", "--reboot"]);
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout.toString(), /firmware 0\.2\.0-ota boots next, on trial/);
    await rebooted(REBOOT_MS);
  });

  test("the new image boots on trial, a login keeps it; files and host key survive", async () => {
    await bootIt();
    assert.match(qemu!.output(), /^boot: ota_0 \(trial\), version 0\.2\.0-ota$/m);
    const info = await ssh(["info"]);
    assert.equal(info.code, 0, info.stderr);
    const out = info.stdout.toString();
    assert.match(out, /^firmware: 0\.2\.0-ota/m);
    assert.match(out, new RegExp(`^host key: ${hostKey.replace(/[+/]/g, "\\$&")} \\(ED25519\\)$`, "m"));
    assert.match(qemu!.output(), /ota: a login succeeded: firmware 0\.2\.0-ota marked valid/);
    const cat = await ssh(["cat", "keep.txt"]);
    assert.equal(cat.stdout.toString(), "kept across updates\n");
    const status = await ssh(["ota", "status"]);
    assert.match(status.stdout.toString(), /^slot ota_0: 0\.2\.0-ota \(valid, running\)$/m);

    const up = await scp(["-O", broken.file, `${TARGET}:/ota`]);
    assert.equal(up.code, 0, up.stderr);
    const commit = await ssh(["ota", "commit", "--reboot"]);
    assert.equal(commit.code, 0, commit.stderr);
    await rebooted(REBOOT_MS);
  });

  test("an image that never accepts a login rolls back when its trial ends", async () => {
    await bootIt();
    assert.match(qemu!.output(), /^boot: ota_1 \(trial\), version 0\.3\.0-nologin$/m);
    const denied = await ssh(["info"]);
    assert.notEqual(denied.code, 0, "the broken image must not let anyone in");
    const log = await rebooted(BROKEN_TRIAL_MS + REBOOT_MS);
    assert.match(log, /ota: no SSH login within 15 s: rolling back from firmware 0\.3\.0-nologin/);
  });

  test("after the rollback the kept image runs again; ota status shows the invalid slot", async () => {
    await bootIt();
    assert.match(qemu!.output(), /^boot: ota_0 \(valid\), version 0\.2\.0-ota$/m);
    const info = await ssh(["info"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout.toString(), /^firmware: 0\.2\.0-ota$/m);
    const status = await ssh(["ota", "status"]);
    assert.match(status.stdout.toString(), /^slot ota_1: 0\.3\.0-nologin \(invalid \(rolled back\)\)$/m);
    const cat = await ssh(["cat", "keep.txt"]);
    assert.equal(cat.stdout.toString(), "kept across updates\n");
    const m = /^memory at start: .*$/m.exec(qemu!.output());
    console.log(`# ${m?.[0]}`);
  });
});
