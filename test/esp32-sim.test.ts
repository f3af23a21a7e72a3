// The ESP32 host (hosts/esp32/*.ts) running for real, on node, against simulations of the Moddable
// SDK 8.2.3 modules it imports (test/esp32-sim/: lwIP sockets with an 8 KiB send buffer, the UART's
// 128-byte FIFOs at a baud rate, SPIFFS/LittleFS, NVS, Wi-Fi, mDNS, native crypto over libsodium),
// driven by OpenSSH's ssh, scp and sftp over TCP on 127.0.0.1. The board boots in a child process;
// a reboot is a new process on the same state directory (NVS and the storage partition). The test
// plays the device wired to the UART.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTool, run, tempDir, waitForOutput } from "./helpers/tools.js";
import { Procs, collect, sha256, waitExit } from "./helpers/procs.js";
import { SIMULATED_MODULES } from "./esp32-sim/hooks.js";
import { SimBoard, UartDevice, littlefsPath, nvs, spiffsFiles, spiffsPath } from "./esp32-sim/harness.js";
import { connect as ssh2Connect, exec as ssh2Exec } from "./helpers/ssh2.js";

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");
ensureTool("sftp", "openssh-client");
ensureTool("ssh-keygen", "openssh-client");

const SSID = "sim-net";
const WIFI_PASSWORD = "sim-secret";
const BOARD_ADDRESS = "192.168.1.42";
/** UART time runs this much faster than real time: 115200 baud moves 92 KB/s instead of 11.5. */
const UART_SPEEDUP = 8;
const BOOT_MS = 20_000;
const EXEC_MS = 20_000;
const BULK_MS = 30_000;
const TARGET = "console@127.0.0.1";

/** A device on the UART: echoes what is typed, answers a line with "ok: LINE" and a prompt; in sink
 * mode it swallows `expect` bytes silently, then reports how many it got and their hash. */
class PromptDevice {
  mode: "prompt" | "sink" = "prompt";
  private line = "";
  private sinkStart = 0;
  private expect = 0;

  constructor(readonly uart: UartDevice) {
    uart.onData = (d) => this.data(d);
  }

  private data(d: Buffer): void {
    if (this.mode === "sink") {
      const got = this.uart.received.length - this.sinkStart;
      if (got >= this.expect) {
        const body = this.uart.received.subarray(this.sinkStart, this.sinkStart + this.expect);
        this.mode = "prompt";
        this.uart.send(`\r\n[device: got ${got} bytes, sha256 ${sha256(body).slice(0, 16)}]\r\ndev> `);
      }
      return;
    }
    for (const c of d.toString("latin1")) {
      if (c === "\r") {
        this.uart.send(`\r\nok: ${this.line}\r\ndev> `);
        this.line = "";
      } else {
        this.line += c;
        this.uart.send(c);
      }
    }
  }

  /** Swallow the next `n` bytes. */
  sink(n: number): void {
    this.mode = "sink";
    this.expect = n;
    this.sinkStart = this.uart.received.length;
  }
}

describe("ESP32 host (hosts/esp32) on simulated Moddable SDK modules, with OpenSSH clients", () => {
  const procs = new Procs();
  const tmp = tempDir("essh-esp32sim-");
  const state = join(tmp.path, "state");
  const resources = join(tmp.path, "resources");
  const local = join(tmp.path, "local");
  const key = join(tmp.path, "id_ed25519");
  const knownHosts = join(tmp.path, "known_hosts");
  const uart = new UartDevice();
  const device = new PromptDevice(uart);
  let board: SimBoard;
  let port = 0;
  let fingerprint = "";
  const boards: SimBoard[] = [];

  const boot = async (options: { stateDir?: string; manifest?: string; config?: Record<string, string>; resourcesDir?: string } = {}) => {
    const b = new SimBoard({
      stateDir: options.stateDir ?? state,
      resourcesDir: options.resourcesDir ?? resources,
      config: options.config ?? { ssid: SSID, password: WIFI_PASSWORD },
      uartWire: uart.port,
      uartSpeedup: UART_SPEEDUP,
      manifest: options.manifest,
      mdnsProbeMs: 100, // mdns.js probes every 250 ms; 100 keeps the run short, the sequence is the same
    });
    boards.push(b);
    return b;
  };

  /** ssh options; `strict`: the host key must match known_hosts (saved under one alias across boots). */
  const sshOpts = (strict = false, alias = "esp32-sim") => [
    "-i", key,
    "-o", "IdentitiesOnly=yes",
    "-o", `UserKnownHostsFile=${knownHosts}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `HostKeyAlias=${alias}`,
    "-o", `StrictHostKeyChecking=${strict ? "yes" : "accept-new"}`,
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10",
    "-o", "LogLevel=ERROR",
    "-F", "/dev/null",
  ];
  /** No client ever sees an internal error: on the board's frozen built-ins an override-mistake write
   * turns a StoreError/SshError into a TypeError ("set name: not writable"), which the file and
   * command layers report as "internal error: ..." (freeze.ts makes that happen here too). */
  const clean = <R extends { stderr: unknown; stdout: unknown }>(r: R): R => {
    for (const text of [String(r.stderr), String(r.stdout)]) assert.doesNotMatch(text, /internal error|read only property|not writable/, "an internal error reached the client");
    return r;
  };
  const ssh = (args: string[], opts: { input?: Uint8Array | string; timeoutMs?: number; strict?: boolean } = {}) =>
    run("ssh", ["-p", String(port), ...sshOpts(opts.strict), TARGET, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? EXEC_MS }).then(clean);
  const scp = (args: string[], timeoutMs = BULK_MS) => run("scp", ["-q", "-P", String(port), ...sshOpts(), ...args], { timeoutMs }).then(clean);

  before(async () => {
    mkdirSync(resources);
    mkdirSync(local);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sim-client", "-f", key], { timeout: 20_000 });
    // The image's authorized_keys: our key, a comment, and an ECDSA key (the native provider verifies ECDSA through PSA).
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-C", "ecdsa@laptop", "-f", join(tmp.path, "id_ecdsa")], { timeout: 20_000 });
    const lines = ["# built into the image", readFileSync(key + ".pub", "utf8").trim(), readFileSync(join(tmp.path, "id_ecdsa.pub"), "utf8").trim()];
    writeFileSync(join(resources, "authorized_keys"), lines.join("\n") + "\n");
    await uart.listen();
    board = await boot();
    await board.waitLog(/ssh: listening on .*\n[\s\S]*authorized keys: /, BOOT_MS);
    port = await board.hostPort(22);
  });

  after(async () => {
    procs.killAll();
    for (const b of boards) await b.kill();
    uart.close();
    tmp.cleanup();
  });

  test("every SDK module hosts/esp32 imports or declares (types/moddable.d.ts) has a simulation", () => {
    const hostDir = new URL("../hosts/esp32/", import.meta.url);
    const imported = new Set<string>();
    // The firmware's own modules: what manifest_app.json lists from hosts/esp32 (not the node scripts).
    const manifest = JSON.parse(readFileSync(new URL("manifest_app.json", hostDir), "utf8")) as { modules: Record<string, string | string[]> };
    const sources = Object.values(manifest.modules).flat().filter((p) => /^\.\/[A-Za-z0-9_-]+$/.test(p) && existsSync(new URL(`${p.slice(2)}.ts`, hostDir)));
    assert.ok(sources.length >= 8, sources.join(", "));
    for (const source of sources) {
      const text = readFileSync(new URL(`${source.slice(2)}.ts`, hostDir), "utf8");
      for (const m of text.matchAll(/^import\s[^"']*["']([^"']+)["']/gm)) if (!m[1].startsWith(".") && !m[1].startsWith("hosts/esp32/")) imported.add(m[1]);
    }
    const declared = [...readFileSync(new URL("types/moddable.d.ts", hostDir), "utf8").matchAll(/^declare module "([^"]+)"/gm)].map((m) => m[1]);
    assert.ok(imported.size >= 10, [...imported].join(", "));
    for (const name of [...imported, ...declared]) assert.ok(name in SIMULATED_MODULES, `${name} is used by hosts/esp32 but test/esp32-sim does not simulate it`);
  });

  test("first boot: Wi-Fi, a new host key kept in NVS, its fingerprint and the listening line on the log, mDNS _ssh._tcp", async () => {
    const log = board.log;
    assert.match(log, new RegExp(`Wi-Fi connected to "${SSID}"\\nIP address ${BOARD_ADDRESS.replace(/\./g, "\\.")}\\n`));
    assert.match(log, /generated a new ED25519 host key \(256 bits, \d+ ms\), kept in NVS/);
    const m = /host key (SHA256:[A-Za-z0-9+/]{43}) \(ED25519\)/.exec(log);
    assert.ok(m, log);
    fingerprint = m[1];
    assert.match(log, new RegExp(`ssh: listening on ${BOARD_ADDRESS.replace(/\./g, "\\.")}:22 \\(ssh console@esp-ssh-console\\.local\\)`));
    assert.match(log, /flash spiffs at \/mod\/: 474641 bytes, 0 used/);
    assert.match(log, /uart uart2: ESP32 UART2 \(TX GPIO17, RX GPIO16, 3\.3 V\)/);
    // The native provider verifies ECDSA (PSA): both keys load, none is skipped.
    assert.doesNotMatch(log, /ignored: this host's crypto provider/);
    assert.match(log, /authorized keys: 2\n/);
    assert.doesNotMatch(log, /password/);
    const stored = nvs(state).sshconsole?.hostkey;
    assert.equal(stored?.type, "blob");
    assert.equal(Buffer.from(stored!.value as string, "base64").length, 32);
    // mDNS claims the name, then announces ssh over TCP on the SSH port.
    await board.waitLog(/mDNS: esp-ssh-console\.local, _ssh\._tcp port 22\n/, 10_000);
    const services = await board.command<{ hostName: string; claimed: boolean; services: { name: string; protocol: string; port: number }[] }[]>("mdns");
    assert.deepEqual(services, [{ hostName: "esp-ssh-console", claimed: true, services: [{ name: "ssh", protocol: "tcp", port: 22, txt: {} }] }]);
  });

  test("ssh info with the key from the built-in authorized_keys; the host key OpenSSH sees is the one on the log", async () => {
    const r = await ssh(["info"]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /^esp-ssh-console /);
    assert.match(out, /host: esp32 \(esp-ssh-console\)\n/);
    assert.match(out, /crypto: native\n/);
    assert.match(out, new RegExp(`host key: ${fingerprint.replace(/\+/g, "\\+")} \\(ED25519\\)\n`));
    assert.match(out, /uart2: ESP32 UART2 .*115200 8N1/);
    assert.match(out, /flash: \d+ of 474641 bytes used/);
    const seen = execFileSync("ssh-keygen", ["-l", "-f", knownHosts], { encoding: "utf8" });
    assert.match(seen, new RegExp(`^256 ${fingerprint.replace(/\+/g, "\\+")} esp32-sim \\(ED25519\\)`));
    // A key that is not in the image is refused.
    const other = join(tmp.path, "other");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other], { timeout: 20_000 });
    const refused = await run("ssh", ["-p", String(port), ...sshOpts().map((a) => (a === key ? other : a)), TARGET, "info"], { timeoutMs: EXEC_MS });
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied \(publickey\)/);
  });

  test("interactive pty session on the UART: typing reaches the device, a 64 KiB paste arrives byte-exact through the 128-byte FIFO, the device's output comes back", async () => {
    const before = await board.command<{ bytesOut: number; overruns: number }>("uart", { port: 2 });
    const child = procs.spawn("ssh", ["-tt", "-e", "none", "-p", String(port), ...sshOpts(), TARGET]);
    const out = collect(child);
    const exited = waitExit(child, BULK_MS, "ssh -tt");
    await waitForOutput(child, (t) => t.includes("[uart2: 115200 8N1; Ctrl-] ? for help]"), EXEC_MS);
    const typedAt = uart.received.length;
    child.stdin!.write("AT+GMR\r");
    await waitForOutput(child, (t) => t.includes("ok: AT+GMR\r\ndev> "), EXEC_MS);
    assert.equal(uart.received.subarray(typedAt).toString("latin1"), "AT+GMR\r");

    // The paste: printable text in lines, 64 KiB, which the UART takes 128 bytes at a time.
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_=+";
    const raw = randomBytes(64 * 1024);
    const paste = Buffer.alloc(raw.length);
    for (let i = 0; i < raw.length; i++) paste[i] = (i + 1) % 80 === 0 ? 0x0d : alphabet.charCodeAt(raw[i] % alphabet.length);
    device.sink(paste.length);
    const from = uart.received.length;
    const started = Date.now();
    child.stdin!.write(paste);
    await uart.waitReceived("the 64 KiB paste", (all) => all.length - from >= paste.length, BULK_MS);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(uart.received.subarray(from).equals(paste), "the device did not get the paste byte for byte");
    await waitForOutput(child, (t) => t.includes(`[device: got ${paste.length} bytes, sha256 ${sha256(paste).slice(0, 16)}]\r\ndev> `), EXEC_MS);
    const after = await board.command<{ bytesOut: number; overruns: number }>("uart", { port: 2 });
    assert.equal(after.bytesOut - before.bytesOut, paste.length + 7);
    assert.equal(after.overruns, 0, "the UART's receive FIFO overflowed");
    // At 115200 baud x UART_SPEEDUP the line itself needs this long: the FIFO was the bottleneck.
    const lineSeconds = (paste.length * 10) / (115200 * UART_SPEEDUP);
    assert.ok(seconds >= lineSeconds * 0.9, `64 KiB in ${seconds} s is faster than the line allows (${lineSeconds} s)`);

    child.stdin!.write("\x1d.");
    const e = await exited;
    assert.equal(e.code, 0, out.stderr());
    assert.match(out.stdout().toString(), /\[detached from uart2\]/);
  });

  test("scp (SFTP) and scp -O uploads land byte-exact in SPIFFS; downloads match", async () => {
    const a = randomBytes(100 * 1024);
    const b = randomBytes(100 * 1024 + 17);
    writeFileSync(join(local, "a.bin"), a);
    writeFileSync(join(local, "b.bin"), b);
    const up1 = await scp([join(local, "a.bin"), `${TARGET}:a.bin`]);
    assert.equal(up1.code, 0, up1.stderr);
    const up2 = await scp(["-O", join(local, "b.bin"), `${TARGET}:b.bin`]);
    assert.equal(up2.code, 0, up2.stderr);
    const files = spiffsFiles(state);
    assert.deepEqual([...files.keys()].sort(), ["a.bin", "b.bin"]);
    assert.equal(sha256(files.get("a.bin")!), sha256(a));
    assert.equal(sha256(files.get("b.bin")!), sha256(b));
    const down1 = await scp([`${TARGET}:a.bin`, join(local, "a.back")]);
    assert.equal(down1.code, 0, down1.stderr);
    assert.equal(sha256(readFileSync(join(local, "a.back"))), sha256(a));
    const down2 = await scp(["-O", `${TARGET}:b.bin`, join(local, "b.back")]);
    assert.equal(down2.code, 0, down2.stderr);
    assert.equal(sha256(readFileSync(join(local, "b.back"))), sha256(b));
    // Replacing a file: SPIFFS refuses to rename onto an existing name, so the store deletes it first.
    const a2 = randomBytes(50 * 1024);
    writeFileSync(join(local, "a2.bin"), a2);
    const again = await scp([join(local, "a2.bin"), `${TARGET}:a.bin`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sha256(spiffsFiles(state).get("a.bin")!), sha256(a2));
    const back = await scp([join(local, "a.bin"), `${TARGET}:a.bin`]);
    assert.equal(back.code, 0, back.stderr);
    const ls = await ssh(["ls", "-l"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout.toString(), /-\s+102400 .* a\.bin\n-\s+102417 .* b\.bin\n/);
    // The file system stayed mounted (the store's iterator pin) and every file was closed.
    const flash = await board.command<{ mounts: number; openFiles: number; maxOpenFiles: number }>("flash");
    assert.equal(flash.mounts, 1);
    assert.equal(flash.openFiles, 0);
    assert.ok(flash.maxOpenFiles <= 5);
  });

  test("SPIFFS names: 27 bytes work (the SDK's rename buffer), 28 give a clear error and leave nothing behind", async () => {
    const data = randomBytes(3000);
    writeFileSync(join(local, "n"), data);
    const ok = "n".repeat(23) + ".bin"; // 27 bytes
    const good = await scp([join(local, "n"), `${TARGET}:${ok}`]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(sha256(readFileSync(spiffsPath(state, ok))), sha256(data));
    const long = "n".repeat(24) + ".bin"; // 28 bytes
    const sftp = await scp([join(local, "n"), `${TARGET}:${long}`]);
    assert.notEqual(sftp.code, 0);
    assert.match(sftp.stderr, /names are limited to 27 bytes on this flash/);
    const legacy = await scp(["-O", join(local, "n"), `${TARGET}:${long}`]);
    assert.notEqual(legacy.code, 0);
    assert.match(legacy.stderr, /names are limited to 27 bytes on this flash/);
    const names = [...spiffsFiles(state).keys()];
    assert.ok(!names.includes(long), names.join(","));
    assert.deepEqual(names.filter((n) => n.startsWith(".~up")), []);
    const rm = await ssh(["rm", ok]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test("a 200 KiB download through lwIP's 8 KiB send buffer (\"would block\", then onWritable) arrives complete", async () => {
    const big = randomBytes(200 * 1024);
    writeFileSync(join(local, "big.bin"), big);
    const up = await scp([join(local, "big.bin"), `${TARGET}:big.bin`]);
    assert.equal(up.code, 0, up.stderr);
    const before = await board.command<{ wouldBlock: number; onWritable: number }>("tcp");
    const cat = await ssh(["cat", "big.bin"], { timeoutMs: BULK_MS });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout.length, big.length);
    assert.equal(sha256(cat.stdout), sha256(big));
    const down = await scp([`${TARGET}:big.bin`, join(local, "big.back")]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(join(local, "big.back"))), sha256(big));
    const loop = randomBytes(256 * 1024);
    const echo = await ssh(["cat"], { input: loop, timeoutMs: BULK_MS });
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(sha256(echo.stdout), sha256(loop));
    const tcp = await board.command<{ wouldBlock: number; onWritable: number; maxInflight: number }>("tcp");
    assert.ok(tcp.wouldBlock > before.wouldBlock, `the send buffer never filled: ${JSON.stringify(tcp)}`);
    assert.ok(tcp.onWritable > before.onWritable);
    assert.ok(tcp.maxInflight <= 8192);
    const rm = await ssh(["rm", "big.bin"]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test("a full store: scp and scp -O fail with \"no space\" and no partial file remains", async () => {
    const huge = randomBytes(1024 * 1024);
    writeFileSync(join(local, "huge.bin"), huge);
    const before = [...spiffsFiles(state).keys()].sort();
    const sftp = await scp([join(local, "huge.bin"), `${TARGET}:huge.bin`]);
    assert.notEqual(sftp.code, 0);
    assert.match(sftp.stderr, /no space left on the flash/);
    const legacy = await scp(["-O", join(local, "huge.bin"), `${TARGET}:huge.bin`]);
    assert.notEqual(legacy.code, 0);
    assert.match(legacy.stderr, /no space left on the flash/);
    assert.deepEqual([...spiffsFiles(state).keys()].sort(), before);
    const df = await ssh(["df"]);
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout.toString(), /^flash: 474641 bytes, \d+ used \(4\d%\), \d+ free; flat, names up to 27 bytes\n$/);
  });

  test("reboot on the same NVS and flash: the same host key (OpenSSH's known_hosts agrees), files kept, an unfinished upload removed", async () => {
    await board.kill();
    // What a power cut in mid-upload leaves: a temp object.
    writeFileSync(spiffsPath(state, ".~up0badf00d"), randomBytes(5000));
    board = await boot();
    await board.waitLog(/ssh: listening on .*\n[\s\S]*authorized keys: /, BOOT_MS);
    port = await board.hostPort(22);
    assert.doesNotMatch(board.log, /generated a new/);
    assert.match(board.log, new RegExp(`host key ${fingerprint.replace(/\+/g, "\\+")} \\(ED25519\\)`));
    assert.match(board.log, /flash: removed 1 unfinished upload\(s\) left by an earlier run/);
    assert.ok(!existsSync(spiffsPath(state, ".~up0badf00d")));
    const r = await ssh(["ls"], { strict: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "a.bin\nb.bin\n");
  });

  test("Wi-Fi drops and returns: logged, reconnected with backoff, mDNS announced again, the listener still serves", async () => {
    const logFrom = board.log.length;
    const eventsFrom = board.events.length;
    await board.command("wifi", { action: "drop" });
    await board.waitLog(new RegExp(`Wi-Fi: disconnected from "${SSID}"\\n`), 5_000, logFrom);
    await board.waitEvent("mDNS closed", (e) => e.type === "mdns" && e.event === "close", 5_000, eventsFrom);
    // The first attempt (after 1 s) finds no access point.
    await board.waitLog(new RegExp(`Wi-Fi: reconnecting to "${SSID}"\\n`), 5_000, logFrom);
    const attempt = await board.waitEvent("the attempt", (e) => e.type === "wifi-connect", 5_000, eventsFrom);
    await board.waitEvent("the failed attempt", (e) => e.type === "wifi-event" && e.event === "disconnected", 5_000, board.events.indexOf(attempt));
    const status = await board.command<{ connects: { ssid: string; at: number; ok: boolean | null }[] }>("wifi", { action: "restore" });
    assert.deepEqual(status.connects.slice(-1), [{ ssid: SSID, ok: false, at: status.connects.at(-1)!.at }]);
    // The next attempt (2 s later) gets back on.
    const back = board.log.length;
    await board.waitLog(new RegExp(`Wi-Fi: ${SSID}, address ${BOARD_ADDRESS.replace(/\./g, "\\.")}\\nssh: listening on `), 10_000, back);
    await board.waitLog(/mDNS: esp-ssh-console\.local, _ssh\._tcp port 22\n/, 10_000, back);
    const after = await board.command<{ connects: { ssid: string; at: number; ok: boolean | null }[] }>("wifi", { action: "status" });
    const attempts = after.connects.slice(status.connects.length - 1);
    assert.equal(attempts.length, 2, JSON.stringify(after.connects));
    const gap = attempts[1].at - attempts[0].at;
    assert.ok(gap >= 1800 && gap < 4000, `second attempt ${gap} ms after the first (backoff 1 s, then 2 s)`);
    assert.equal(attempts[1].ok, true);
    const mdns = await board.command<{ claimed: boolean; services: { name: string; port: number }[] }[]>("mdns");
    assert.deepEqual(mdns.map((m) => [m.claimed, m.services.map((s) => `${s.name}/${s.port}`)]), [[true, ["ssh/22"]]]);
    const r = await ssh(["echo", "still", "here"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "still here\n");
  });

  test("stty changes the UART's baud rate by reopening it; a break holds TX low through a GPIO", async () => {
    const r = await ssh(["stty", "9600"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /uart2: ESP32 UART2 .*9600 8N1/);
    const state9600 = await board.command<{ baud: number; open: boolean }>("uart", { port: 2 });
    assert.deepEqual([state9600.baud, state9600.open], [9600, true]);
    const eventsFrom = board.events.length;
    const child = procs.spawn("ssh", ["-tt", "-e", "none", "-p", String(port), ...sshOpts(), TARGET]);
    const exited = waitExit(child, EXEC_MS, "ssh -tt (break)");
    await waitForOutput(child, (t) => t.includes("[uart2: 9600 8N1; Ctrl-] ? for help]"), EXEC_MS);
    child.stdin!.write("\x1db");
    await waitForOutput(child, (t) => t.includes("[break 500 ms]"), EXEC_MS);
    const end = await board.waitEvent("break end", (e) => e.type === "uart-break" && e.on === false, 5_000, eventsFrom);
    assert.ok((end.ms as number) >= 450, `break lasted ${String(end.ms)} ms`);
    assert.ok(board.events.slice(eventsFrom).some((e) => e.type === "uart-break" && e.on === true));
    child.stdin!.write("\x1d.");
    assert.equal((await exited).code, 0);
    const back = await ssh(["stty", "115200"]);
    assert.equal(back.code, 0, back.stderr);
  });

  test("LittleFS image with mcconfig overrides (port, hostname, no UART): directories and long names through sftp, mDNS on the port", async () => {
    const lfsState = join(tmp.path, "state-littlefs");
    const config = { ssid: SSID, password: WIFI_PASSWORD, uart_port: "-1", ssh_port: "2222", hostname: "router-console" };
    const lfs = await boot({ stateDir: lfsState, manifest: "manifest_littlefs.json", config });
    await lfs.waitLog(/ssh: listening on .*\n[\s\S]*authorized keys: /, BOOT_MS);
    assert.match(lfs.log, /ssh: listening on 192\.168\.1\.42:2222 \(ssh console@router-console\.local\)/);
    assert.match(lfs.log, /flash littlefs at \/: 524288 bytes, 8192 used/);
    assert.doesNotMatch(lfs.log, /uart uart/);
    const lfsPort = await lfs.hostPort(2222);
    const data = randomBytes(40 * 1024);
    const name = "a-rather-long-file-name-for-a-little-flash-store.bin"; // 52 bytes
    writeFileSync(join(local, "l.bin"), data);
    const batch = join(tmp.path, "batch");
    writeFileSync(batch, `mkdir logs\nput ${join(local, "l.bin")} logs/${name}\nget logs/${name} ${join(local, "l.back")}\nls -l logs\n`);
    const r = await run("sftp", ["-b", batch, "-P", String(lfsPort), ...sshOpts(false, "esp32-sim-littlefs"), TARGET], { timeoutMs: BULK_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`40960 .*${name}`));
    assert.equal(sha256(readFileSync(littlefsPath(lfsState, `logs/${name}`))), sha256(data));
    assert.equal(sha256(readFileSync(join(local, "l.back"))), sha256(data));
    await lfs.waitLog(/mDNS: router-console\.local, _ssh\._tcp port 2222\n/, 10_000);
    const mdns = await lfs.command<{ hostName: string; services: { name: string; protocol: string; port: number }[] }[]>("mdns");
    assert.deepEqual(mdns.map((m) => [m.hostName, m.services.map((s) => `_${s.name}._${s.protocol}:${s.port}`)]), [["router-console", ["_ssh._tcp:2222"]]]);
    await lfs.kill();
  });

  test("no authorized_keys in the image: a password made once, shown once, its PBKDF2 hash kept in NVS across a reboot", async () => {
    const pwState = join(tmp.path, "state-password");
    const noKeys = join(tmp.path, "resources-empty");
    mkdirSync(noKeys);
    const config = { ssid: SSID, password: WIFI_PASSWORD, uart_port: "-1" };
    let b = await boot({ stateDir: pwState, resourcesDir: noKeys, config });
    const m = await b.waitLog(/generated a password for user "console" \(shown once\): ([a-zA-Z0-9]{20})\n/, BOOT_MS);
    const password = m[1];
    assert.match(b.log, /no authorized_keys resource in the image/);
    await b.waitLog(/authorized keys: 0, password login on\n/, BOOT_MS);
    assert.match(String(nvs(pwState).sshconsole?.pwhash?.value), /^\$pbkdf2-sha256\$2000\$/);
    await b.kill();
    b = await boot({ stateDir: pwState, resourcesDir: noKeys, config });
    await b.waitLog(/authorized keys: 0, password login on\n/, BOOT_MS);
    assert.doesNotMatch(b.log, /generated a password/);
    const conn = await ssh2Connect({ port: await b.hostPort(22), password });
    try {
      const r = await ssh2Exec(conn, "echo pw-ok");
      assert.equal(r.stdout.toString(), "pw-ok\n");
    } finally {
      conn.end();
    }
    await assert.rejects(ssh2Connect({ port: await b.hostPort(22), password: "wrong-password-12345" }), /authentication/i);
    await b.kill();
  });

  test("without an SSID the image opens its access point and serves SSH there (test/esp32-sim-wifi.test.ts goes on from here)", async () => {
    const quiet = await boot({ stateDir: join(tmp.path, "state-nossid"), config: {} });
    await quiet.waitLog(/No Wi-Fi SSID\n[\s\S]*Wi-Fi: access point "esp-ssh-console-[0-9A-F]{4}" \(WPA2, password \S+\) at 192\.168\.4\.1: no network configured/, BOOT_MS);
    await quiet.waitEvent("the listener", (e) => e.type === "listening" && e.port === 22, BOOT_MS);
    await quiet.kill();
  });
});
