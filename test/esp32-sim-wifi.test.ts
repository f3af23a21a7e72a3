// Wi-Fi provisioning and the clock on the simulated ESP32 (hosts/esp32/network.ts and
// modules/console/wifi.ts over test/esp32-sim/: the ECMA-419 WiFi station, the access point hooks of
// esp32_wifi.c, NVS, SNTP), with the frozen built-ins, driven by OpenSSH. One state directory:
//   1. a build without ssid=: the access point esp-ssh-console-A17C opens, its WPA2 password is in
//      the boot log, and SSH logs in over it (the sim resets connections while no interface is up);
//   2. `wifi scan` lists the networks around; `wifi join` of a network not in range, and with a
//      wrong password, fail with the reason and keep the access point and the session;
//   3. `wifi join` with the right password (never echoed, never logged), the clock: not set, a
//      certificate refused, SNTP answers, the clock set, the certificate accepted; `hostname`;
//   4. a reboot: the saved network comes up, no access point, the hostname kept;
//   5. the saved network drops: after wifi_fallback_s the access point opens; it comes back;
//   6. `wifi forget`: the saved network goes, the access point stays for good.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool, run, tempDir, waitForOutput } from "./helpers/tools.js";
import { Procs, collect, waitExit } from "./helpers/procs.js";
import { SimBoard, nvs } from "./esp32-sim/harness.js";

const BOOT_MS = 30_000;
const EXEC_MS = 30_000;
const TARGET = "console@127.0.0.1";
const MAC = "24:0a:c4:5e:a1:7c";
const AP = "esp-ssh-console-A17C";
const HOME = { ssid: "home", password: "home-secret-1", address: "192.168.1.50", rssi: -48, channel: 6 };
const LAB = { ssid: "lab", password: "lab-secret-99", address: "10.0.0.7", rssi: -71, channel: 11 };

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");

describe("ESP32 (simulated): Wi-Fi provisioning from nothing, join, forget, NVS across a reboot; the clock from SNTP", () => {
  const tmp = tempDir("essh-esp32wifi-");
  const procs = new Procs();
  const state = join(tmp.path, "state");
  const resources = join(tmp.path, "resources");
  const key = join(tmp.path, "id_ed25519");
  const userKey = join(tmp.path, "id_user");
  const ca = join(tmp.path, "ca");
  const knownHosts = join(tmp.path, "known_hosts");
  let board: SimBoard;
  let port = 0;
  let apPassword = "";

  const boot = async () => {
    board = new SimBoard({
      stateDir: state,
      resourcesDir: resources,
      config: { uart_port: "-1", wifi_fallback_s: "5" },
      mdnsProbeMs: 100,
      env: { ESP32_SIM_NETWORKS: JSON.stringify([HOME, LAB]), ESP32_SIM_MAC: MAC, ESP32_SIM_LINK_CHECK: "1" },
    });
    await board.waitLog(/authorized keys: /, BOOT_MS);
    port = await board.hostPort(22);
    return board;
  };
  const opts = (identity = key) => ["-i", identity, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=esp32-sim-wifi", "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-F", "/dev/null"];
  const ssh = (args: string[], input?: string, identity?: string) => run("ssh", ["-p", String(port), ...opts(identity), TARGET, ...args], { input, timeoutMs: EXEC_MS });
  const scp = (args: string[]) => run("scp", ["-q", "-P", String(port), ...opts(), ...args], { timeoutMs: EXEC_MS });

  before(async () => {
    mkdirSync(resources, { recursive: true });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "owner", "-f", key], { timeout: 20_000 });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", ca], { timeout: 20_000 });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", userKey], { timeout: 20_000 });
    execFileSync("ssh-keygen", ["-q", "-s", ca, "-I", "operator-cert", "-n", "console", "-V", "-1d:+30d", userKey + ".pub"], { timeout: 20_000 });
    writeFileSync(join(resources, "authorized_keys"), `${readFileSync(key + ".pub", "utf8").trim()}\ncert-authority ${readFileSync(ca + ".pub", "utf8").trim()}\n`);
    await boot();
  });
  after(async () => {
    procs.killAll();
    await board?.kill();
    tmp.cleanup();
  });

  test("no network configured: the access point opens with its per-board WPA2 password in the boot log; SSH logs in over it", async () => {
    const m = await board.waitLog(new RegExp(`Wi-Fi: access point "${AP}" \\(WPA2, password (\\S+)\\) at 192\\.168\\.4\\.1: no network configured; ssh console@192\\.168\\.4\\.1\\n`), BOOT_MS);
    apPassword = m[1];
    assert.equal(apPassword.length, 12);
    const ap = await board.waitEvent("the access point", (e) => e.type === "ap" && e.up === true, 5_000);
    assert.deepEqual([ap.ssid, ap.password], [AP, apPassword]);
    assert.match(board.log, /ssh: listening on 192\.168\.4\.1:22 \(access point\)/);
    // Keys and the secret came from a started radio (esp_fill_random is only random then).
    assert.equal(board.events.filter((e) => e.type === "random-before-radio").length, 0);
    assert.equal(board.events.filter((e) => e.type === "wifi-connect").length, 0, "nothing to connect to");
    const info = await ssh(["info"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout.toString(), /^clock: not set/m);
    assert.match(info.stdout.toString(), /^wifi: off \(no network configured: wifi join SSID\); access point "esp-ssh-console-A17C" up$/m);
    const status = await ssh(["wifi"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout.toString(), /^mode: ap\nstation: off .*\naccess point: "esp-ssh-console-A17C" at 192\.168\.4\.1 \(WPA2\)\nnetworks: none\nhostname: esp-ssh-console\.local\n$/);
    // A file written now has no time: ls -l says so, SFTP gives mtime 0.
    writeFileSync(join(tmp.path, "early.txt"), "before the clock\n");
    const up = await scp([join(tmp.path, "early.txt"), `${TARGET}:early.txt`]);
    assert.equal(up.code, 0, up.stderr);
    assert.match((await ssh(["ls", "-l"])).stdout.toString(), /^-\s+17  clock not set     early\.txt$/m);
    // The secret the password comes from is in NVS: the same password after a reboot (below).
    assert.equal(nvs(state).sshconsole.ap_secret.type, "blob");
  });

  test("wifi scan lists the networks around, strongest first", async () => {
    const r = await ssh(["wifi", "scan"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), " -48 dBm  ch  6  wpa2_psk      home\n -71 dBm  ch 11  wpa2_psk      lab\n");
  });

  test("a join that cannot work says why and keeps the access point and the session", async () => {
    const absent = await ssh(["wifi", "join", "cafe"], "whatever-1\n");
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /"cafe" is not in range \(a scan saw 2 networks\)/);
    // Interactively, in the built-in shell: the password is read without echo; a wrong one is refused.
    const child = procs.spawn("ssh", ["-tt", "-p", String(port), ...opts(), TARGET]);
    const out = collect(child);
    const exited = waitExit(child, EXEC_MS * 2, "ssh -tt");
    await waitForOutput(child, (t) => t.includes("esp> "), EXEC_MS);
    child.stdin!.write("wifi join lab\r");
    await waitForOutput(child, (t) => t.includes('password for "lab" (not shown'), EXEC_MS);
    const logFrom = board.log.length;
    child.stdin!.write("not-the-lab-password\r");
    await waitForOutput(child, (t) => t.includes("could not join"), EXEC_MS);
    await board.waitLog(/Wi-Fi: joining "lab" failed: "lab" refused the connection \(wrong password\?\)\n/, 5_000, logFrom);
    // The session goes on, the access point stays up, a new login still gets in over it.
    child.stdin!.write("echo still here\r");
    await waitForOutput(child, (t) => t.includes("still here\r\n"), EXEC_MS);
    assert.equal(board.events.filter((e) => e.type === "ap" && e.up === false).length, 0);
    const again = await ssh(["echo", "over", "the", "ap"]);
    assert.equal(again.stdout.toString(), "over the ap\n");
    child.stdin!.write("exit\r");
    await exited;
    const text = out.stdout().toString() + out.stderr();
    assert.match(text, /could not join "lab": "lab" refused the connection \(wrong password\?\); the access point esp-ssh-console-A17C stays up at 192\.168\.4\.1/);
    assert.doesNotMatch(text, /not-the-lab-password/, "the password was echoed");
    assert.doesNotMatch(board.log, /not-the-lab-password/, "the password reached the log");
    assert.equal(nvs(state).sshconsole.wifi_ssid, undefined, "a failed join saved the network");
  });

  test("wifi join: the password from input, never logged; the clock is set by SNTP once online; certificates need it; hostname", async () => {
    // Before SNTP: the clock is not set, so a certificate cannot be checked and is refused.
    const refused = await ssh(["info"], undefined, userKey);
    assert.equal(refused.code, 255);
    await board.waitLog(/certificate "operator-cert" cannot be checked: this host's clock is not set/, 5_000);

    const eventsFrom = board.events.length;
    const r = await ssh(["wifi", "join", "home"], `${HOME.password}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /joined "home": address 192\.168\.1\.50; ssh console@esp-ssh-console\.local; the access point esp-ssh-console-A17C closes in 60 s\n$/);
    assert.doesNotMatch(board.log + r.stdout.toString() + r.stderr, new RegExp(HOME.password));
    assert.deepEqual([nvs(state).sshconsole.wifi_ssid.value, nvs(state).sshconsole.wifi_pass.value], ["home", HOME.password]);
    const status = await ssh(["wifi"]);
    assert.match(status.stdout.toString(), /^mode: station\+ap\nstation: "home" address 192\.168\.1\.50 rssi -48 dBm\n/);
    assert.match(status.stdout.toString(), /^networks: "home" \(saved\)$/m);

    // SNTP: asked once online; the clock counts as set only once a server answered.
    const request = await board.waitEvent("an SNTP request", (e) => e.type === "sntp-request", 10_000, eventsFrom);
    assert.equal(request.host, "0.pool.ntp.org");
    assert.match((await ssh(["info"])).stdout.toString(), /^clock: not set/m);
    // The first server's name does not resolve: the next one is asked.
    await board.command("sntp", { action: "unresolvable" });
    const second = await board.waitEvent("the second server", (e) => e.type === "sntp-request" && e.host === "1.pool.ntp.org", 10_000, eventsFrom);
    assert.ok(second);
    const now = Math.floor(Date.now() / 1000);
    await board.command("sntp", { action: "answer", seconds: now });
    await board.waitLog(/clock: set by SNTP \(1\.pool\.ntp\.org\): 20\d\d-/, 5_000);
    const info = await ssh(["info"]);
    assert.match(info.stdout.toString(), /^clock: set \(sntp\) 20\d\d-\d\d-\d\d \d\d:\d\d UTC$/m);
    writeFileSync(join(tmp.path, "late.txt"), "after\n");
    assert.equal((await scp([join(tmp.path, "late.txt"), `${TARGET}:late.txt`])).code, 0);
    const ls = (await ssh(["ls", "-l"])).stdout.toString();
    assert.match(ls, /^-\s+17  clock not set     early\.txt$/m);
    assert.match(ls, new RegExp(`^-\\s+6  ${new Date(now * 1000).toISOString().slice(0, 10)} \\d\\d:\\d\\d  late\\.txt$`, "m"));
    const accepted = await ssh(["echo", "certificate", "ok"], undefined, userKey);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(accepted.stdout.toString(), "certificate ok\n");

    // hostname: validated, kept in NVS, claimed over mDNS.
    const bad = await ssh(["hostname", "-bad-"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /hostname: a hostname has letters, digits and '-'/);
    const h = await ssh(["hostname", "lab-console"]);
    assert.equal(h.code, 0, h.stderr);
    await board.waitLog(/mDNS: lab-console\.local, _ssh\._tcp port 22\n/, 10_000);
    assert.equal(nvs(state).sshconsole.hostname.value, "lab-console");
    // An operator (the certificate) may not change the network.
    const notAdmin = await ssh(["wifi", "forget"], undefined, userKey);
    assert.notEqual(notAdmin.code, 0);
    assert.match(notAdmin.stderr, /not allowed for this login/);
  });

  test("after a reboot the saved network comes up, no access point; the clock starts unset again", async () => {
    await board.kill();
    await boot();
    await board.waitLog(/Wi-Fi: home, address 192\.168\.1\.50\n/, BOOT_MS);
    await board.waitLog(/mDNS: lab-console\.local, _ssh\._tcp port 22\n/, 10_000);
    assert.deepEqual(board.events.filter((e) => e.type === "wifi-connect").map((e) => e.ssid), ["home"]);
    assert.equal(board.events.filter((e) => e.type === "ap").length, 0, "the access point opened");
    const status = await ssh(["wifi"]);
    assert.match(status.stdout.toString(), /^mode: station\n/);
    assert.match(status.stdout.toString(), /^access point: off \("esp-ssh-console-A17C" opens after 5 s without a network\)$/m);
    assert.match((await ssh(["info"])).stdout.toString(), /^clock: not set/m);
  });

  test("the saved network drops: after wifi_fallback_s the access point opens beside the retries; the network comes back", async () => {
    const logFrom = board.log.length;
    const eventsFrom = board.events.length;
    await board.command("wifi", { action: "drop", ssid: "home" });
    await board.waitLog(/Wi-Fi: disconnected from "home"\n/, 5_000, logFrom);
    await board.waitLog(/Wi-Fi: access point "esp-ssh-console-A17C" \(WPA2, password \S+\) at 192\.168\.4\.1: no network for [56] s/, 15_000, logFrom);
    const ap = await board.waitEvent("the fallback access point", (e) => e.type === "ap" && e.up === true, 5_000, eventsFrom);
    assert.equal(ap.password, apPassword, "the password changed across the reboot");
    // No station address now: this login comes over the access point.
    const over = await ssh(["wifi"]);
    assert.equal(over.code, 0, over.stderr);
    assert.match(over.stdout.toString(), /^mode: ap\n/);
    await board.command("wifi", { action: "restore", ssid: "home" });
    await board.waitLog(/Wi-Fi: home, address 192\.168\.1\.50\n/, 70_000, logFrom);
    assert.match((await ssh(["wifi"])).stdout.toString(), /^mode: station\+ap\n/);
    // A join from one network to another: the station leaves "home" and associates with "lab".
    const r = await ssh(["wifi", "join", "lab"], `${LAB.password}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /joined "lab": address 10\.0\.0\.7/);
    assert.equal(nvs(state).sshconsole.wifi_ssid.value, "lab");
  });

  test("wifi forget: the saved network goes and the access point opens again, with the same password", async () => {
    const r = await ssh(["wifi", "forget"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^forgot "lab"; access point esp-ssh-console-A17C at 192\.168\.4\.1\n$/);
    const ap = (await board.command<{ accessPoint: { up: boolean; password: string } }>("wifi", { action: "status" })).accessPoint;
    assert.equal(ap.up, true);
    assert.equal(ap.password, apPassword);
    assert.equal(nvs(state).sshconsole.wifi_ssid, undefined);
    // The station leaves a moment after the answer went out.
    await board.waitLog(/Wi-Fi: left "lab"\n/, 5_000);
    const wifi = await board.command<{ associated: boolean }>("wifi", { action: "status" });
    assert.equal(wifi.associated, false);
    const again = await ssh(["wifi"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout.toString(), /^mode: ap\n/);
  });
});
