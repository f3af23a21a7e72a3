// Firmware updates on the simulated ESP32 (hosts/esp32/ota.ts over test/esp32-sim/ota.ts: Moddable's
// OTA module, ESP-IDF's otadata and the bootloader's app rollback, hosts/esp32/esp32_ota.c's hooks):
// one state directory through four boots, driven by OpenSSH's scp and ssh:
//   1. an image for another chip is refused; an ESP32 image goes up with scp, `ota commit --reboot`;
//   2. it boots on trial and a login keeps it (`info`: the new version; the host key is the same);
//      another image goes up and is committed, then the board restarts before anyone logs in...
//   3. ...and the trial boot's board is restarted again without a login: the bootloader rolls back;
//   4. the kept image runs again.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool, run, tempDir } from "./helpers/tools.js";
import { SimBoard } from "./esp32-sim/harness.js";
import { espImage } from "./helpers/ota.js";

const SSID = "sim-net";
const WIFI_PASSWORD = "sim-secret";
const BOOT_MS = 20_000;
const EXEC_MS = 20_000;
const TARGET = "console@127.0.0.1";

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");

describe("ESP32 (simulated): OTA over scp, commit, trial, rollback", () => {
  const tmp = tempDir("essh-esp32ota-");
  const state = join(tmp.path, "state");
  const resources = join(tmp.path, "resources");
  const key = join(tmp.path, "id_ed25519");
  const knownHosts = join(tmp.path, "known_hosts");
  let board: SimBoard | null = null;
  let port = 0;

  const boot = async () => {
    board = new SimBoard({ stateDir: state, resourcesDir: resources, config: { ssid: SSID, password: WIFI_PASSWORD }, mdnsProbeMs: 100 });
    await board.waitLog(/ssh: listening on .*\n[\s\S]*authorized keys: /, BOOT_MS);
    port = await board.hostPort(22);
    return board;
  };
  const restarted = async () => {
    const b = board!;
    await Promise.race([b.exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`no restart:\n${b.log}`)), BOOT_MS))]);
    board = null;
    return b.log;
  };
  const opts = () => ["-i", key, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=esp32-sim-ota", "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-F", "/dev/null"];
  const ssh = (args: string[], input?: Uint8Array) => run("ssh", ["-p", String(port), ...opts(), TARGET, ...args], { input, timeoutMs: EXEC_MS });
  const scp = (args: string[]) => run("scp", ["-q", "-P", String(port), ...opts(), ...args], { timeoutMs: EXEC_MS });

  before(async () => {
    mkdirSync(resources, { recursive: true });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sim-ota", "-f", key], { timeout: 20_000 });
    writeFileSync(join(resources, "authorized_keys"), readFileSync(key + ".pub"));
    writeFileSync(join(tmp.path, "v2.bin"), espImage({ chip: "esp32", version: "0.2.0-esp", segments: [4096, 60_000, 500] }));
    writeFileSync(join(tmp.path, "v3.bin"), espImage({ chip: "esp32", version: "0.3.0-esp", segments: [4096, 20_000] }));
    writeFileSync(join(tmp.path, "c3.bin"), espImage({ chip: "esp32c3", version: "9.9.9" }));
    await boot();
  });
  after(async () => {
    await board?.kill();
    tmp.cleanup();
  });

  test("an image for another chip is refused; an ESP32 image goes up and is committed", async () => {
    assert.match(board!.log, /firmware 0\.1\.0: OTA slot of 1769472 bytes for ESP32 app images/);
    const wrong = await scp([join(tmp.path, "c3.bin"), `${TARGET}:/ota`]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /built for ESP32C3, this board is an ESP32/);
    const up = await scp([join(tmp.path, "v2.bin"), `${TARGET}:/ota`]);
    assert.equal(up.code, 0, up.stderr);
    const status = await ssh(["ota", "status"]);
    assert.match(status.stdout.toString(), /^slot ota_0: 0\.1\.0 \(valid, running\)$/m);
    assert.match(status.stdout.toString(), /^staged: 0\.2\.0-esp/m);
    const commit = await ssh(["ota", "commit", "--reboot"]);
    assert.equal(commit.code, 0, commit.stderr);
    await restarted();
  });

  test("the new image boots on trial; a login keeps it", async () => {
    await boot();
    assert.match(board!.log, /ota: firmware 0\.2\.0-esp is on trial/);
    const info = await ssh(["info"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout.toString(), /^firmware: 0\.2\.0-esp$/m);
    assert.match(board!.log, /marked valid/);
    const status = await ssh(["ota", "status"]);
    assert.match(status.stdout.toString(), /^slot ota_1: 0\.2\.0-esp \(valid, running\)$/m);
  });

  test("an image whose trial boots never see a login is rolled back by the bootloader", async () => {
    const p = await ssh(["ota"], readFileSync(join(tmp.path, "v3.bin")));
    assert.equal(p.code, 0, p.stderr);
    const commit = await ssh(["ota", "commit", "--reboot"]);
    assert.equal(commit.code, 0, commit.stderr);
    await restarted();
    await boot();
    assert.match(board!.log, /ota: firmware 0\.3\.0-esp is on trial/);
    await board!.kill(); // a reset during the trial, before any login
    board = null;
    await boot();
    const info = await ssh(["info"]);
    assert.match(info.stdout.toString(), /^firmware: 0\.2\.0-esp$/m);
    assert.doesNotMatch(board!.log, /on trial/);
  });
});
