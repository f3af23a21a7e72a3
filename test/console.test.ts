// The serial console bridge through real clients (OpenSSH and the scripted client) over TCP, with an
// in-memory UART whose receive rate the test controls.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, test } from "node:test";
import { MSG } from "../modules/ssh/messages.js";
import { decodeOpenSshPrivateKey } from "../modules/ssh/keys.js";
import { loggedIn, readUntil, startShell } from "./helpers/client.js";
import { FakeUart } from "./helpers/fakeuart.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { run } from "./helpers/tools.js";
import { spawn } from "node:child_process";

let ts: TestServer | null = null;
let uarts: FakeUart[] = [];
const sockets: { destroy(): void }[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await ts?.close();
  ts = null;
  for (const u of uarts) u.close();
  uarts = [];
});

async function setup(names = ["uart0"], scrollback?: number) {
  uarts = names.map((n) => new FakeUart(n));
  ts = await startTestServer({ ports: uarts, scrollback });
  const seed = decodeOpenSshPrivateKey(readFileSync(ts.clientKey, "utf8")).seed;
  const login = async (user = "console") => {
    const c = await loggedIn(ts!.port, seed);
    sockets.push(c.socket);
    void user;
    return c.client;
  };
  return { ts, uart: uarts[0], login, seed };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("typed bytes reach the device exactly (OpenSSH ssh -tt, raw pty)", async () => {
  const { ts, uart } = await setup();
  // Every byte value but the OpenSSH escape sequences and our Ctrl-]: they pass raw with a pty.
  const typed = Buffer.from("hello\r\x7f\x03\x1bOA ümlaut\ttab\r", "latin1");
  const child = spawn("ssh", [...ts.sshArgs, "-tt", "-e", "none", "console@127.0.0.1"], { stdio: ["pipe", "pipe", "pipe"] });
  try {
    child.stdin.write(typed);
    await uart.until(() => uart.receivedBytes >= typed.length, 10_000, "typed bytes");
    assert.deepEqual(uart.all(), typed);
  } finally {
    child.kill("SIGKILL");
  }
});

test("device output reaches two attached sessions; an observer cannot type", async () => {
  const { uart, login } = await setup();
  const a = await login();
  const b = await login();
  const cha = await startShell(a);
  const chb = await startShell(b, { command: "observe" });
  uart.emit("boot ok\r\nrouter> ");
  const [ra, rb] = await Promise.all([
    readUntil(a, cha.remote, (s) => s.includes("router> ")),
    readUntil(b, chb.remote, (s) => s.includes("router> ")),
  ]);
  assert.ok(ra.stdout.toString().includes("boot ok"));
  assert.ok(rb.stdout.toString().includes("boot ok"));
  b.send(MSG.CHANNEL_DATA, (w) => w.uint32(chb.remote).string(Buffer.from("observer typed\r")));
  a.send(MSG.CHANNEL_DATA, (w) => w.uint32(cha.remote).string(Buffer.from("show version\r")));
  await uart.until(() => uart.all().includes("show version\r"));
  assert.equal(uart.all().toString(), "show version\r", "only the read-write session's bytes reach the device");
  // info lists both sessions, the observer marked read-only.
  const c = await login();
  const ch = await c.openSession();
  const info = await c.exec(ch.remote, "info");
  assert.match(info.stdout, /uart0: fake device, 115200 8N1/);
  assert.match(info.stdout, /\(read-only\)/);
  assert.equal(info.stdout.match(/console@127\.0\.0\.1:\d+/g)!.length >= 2, true);
});

test("1 MiB sent without a pty arrives byte-exact while the device reads slowly (ssh < file)", async () => {
  const { ts, uart } = await setup();
  const data = randomBytes(1 << 20);
  uart.readSlowly(64 * 1024, 20); // about 3 MB/s, far slower than the link
  const r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1"], { input: data, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  await uart.until(() => uart.receivedBytes >= data.length, 30_000, "1 MiB");
  assert.equal(uart.receivedBytes, data.length);
  assert.equal(sha(uart.all()), sha(data));
  // Memory stayed bounded: what waited for the device never exceeded one channel window.
  const held = ts.server.console!.bridges[0].maxHeldInput;
  assert.ok(held > 0 && held <= ts.server.ssh.limits.channelWindow, `held ${held}`);
});

test("a session that never reads loses its own oldest output and does not delay another session", async () => {
  const { uart, login } = await setup();
  const stalled = await login();
  const reader = await login();
  // The stalled session opens a 1000-byte window and never re-opens it.
  await startShell(stalled, { window: 1000 });
  const chr = await startShell(reader);
  const flood = Buffer.alloc(1 << 20);
  for (let i = 0; i < flood.length; i++) flood[i] = 0x41 + (i % 26);
  flood.write("END-OF-FLOOD", flood.length - 12, "latin1");
  // Paced at 1 MB/s, faster than any UART (4 Mbit/s is 400 KB/s), but a rate a reader can follow.
  const pacer = (async () => {
    for (let off = 0; off < flood.length; off += 16384) {
      uart.emit(flood.subarray(off, off + 16384));
      await new Promise((r) => setTimeout(r, 16));
    }
  })();
  const got = await readUntil(reader, chr.remote, (s) => s.length >= flood.length, 20_000);
  await pacer;
  assert.equal(sha(got.stdout), sha(flood), "the reading session got every byte");
  const c = await login();
  const ch = await c.openSession();
  const info = await c.exec(ch.remote, "info");
  assert.match(info.stdout, /lost \d+ bytes of output \(too slow\)/);
});

test("break reaches the UART: a break request, OpenSSH ~B and the in-band escape", async () => {
  const { ts, uart, login } = await setup();
  const c = await login();
  const ch = await startShell(c, { pty: true });
  await readUntil(c, ch.remote, (s) => s.includes("for help]"));
  c.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("break").boolean(true).uint32(300));
  await c.expect(MSG.CHANNEL_SUCCESS);
  assert.deepEqual(uart.breaks, [300]);
  // The in-band escape (pty only): Ctrl-] b.
  c.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(Uint8Array.of(0x1d, 0x62)));
  await uart.until(() => uart.breaks.length === 2);
  assert.equal(uart.breaks[1], 500);
  // OpenSSH's own escape ~B sends a break request (1000 ms).
  const child = spawn("ssh", [...ts.sshArgs, "-tt", "console@127.0.0.1"], { stdio: ["pipe", "pipe", "pipe"] });
  try {
    child.stdin.write("\r~B");
    await uart.until(() => uart.breaks.length === 3, 10_000, "~B");
    assert.equal(uart.breaks[2], 1000);
  } finally {
    child.kill("SIGKILL");
  }
});

test("without a pty the escape byte passes raw; with a pty Ctrl-] . detaches", async () => {
  const { uart, login } = await setup();
  const c = await login();
  const ch = await startShell(c);
  c.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(Uint8Array.of(0x1d, 0x2e, 0x1d, 0x62)));
  await uart.until(() => uart.receivedBytes === 4);
  assert.deepEqual([...uart.all()], [0x1d, 0x2e, 0x1d, 0x62]);
  assert.deepEqual(uart.breaks, []);
  const d = await login();
  const chd = await startShell(d, { pty: true });
  d.send(MSG.CHANNEL_DATA, (w) => w.uint32(chd.remote).string(Uint8Array.of(0x1d, 0x2e)));
  const r = await readUntil(d, chd.remote, () => false);
  assert.equal(r.closed, true);
  assert.equal(r.status, 0);
  assert.match(r.stdout.toString(), /detached from uart0/);
});

test("stty and SERIAL_* env set line settings; bad values are refused with a clear error", async () => {
  const { ts, uart, login } = await setup();
  let r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1", "stty", "9600", "7E1"], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(uart.line, { baud: 9600, dataBits: 7, parity: "even", stopBits: 1 });
  assert.match(r.stdout.toString(), /9600 7E1/);
  r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1", "stty", "12345"], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /"12345" is not a supported baud rate/);
  r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1", "stty", "9N9"], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /frame format/);
  r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1", "stty", "5N1"], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot do 5 data bits/);
  // env (OpenSSH SetEnv sends "env" requests) at attach.
  const c = await login();
  const ch = await startShell(c, { env: { SERIAL_BAUD: "57600", SERIAL_FORMAT: "8N1" } });
  await readUntil(c, ch.remote, () => true, 1000).catch(() => null);
  await uart.until(() => uart.line.baud === 57600, 5000, "SERIAL_BAUD");
  assert.equal(uart.line.dataBits, 8);
  const d = await login();
  const chd = await startShell(d, { env: { SERIAL_BAUD: "fast" } });
  const bad = await readUntil(d, chd.remote, () => false);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /SERIAL_BAUD\/SERIAL_FORMAT: "fast" is not a supported baud rate/);
  // OpenSSH's SetEnv reaches the bridge the same way.
  r = await run("ssh", [...ts.sshArgs, "-o", "SetEnv=SERIAL_BAUD=19200", "console@127.0.0.1"], { input: "x", timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(uart.line.baud, 19200);
});

test("scrollback is replayed when a session attaches", async () => {
  const { uart, login } = await setup(["uart0"], 64);
  uart.emit("U-Boot 2024.01\r\n" + "x".repeat(100) + "\r\nrouter login: ");
  const c = await login();
  const ch = await startShell(c);
  const r = await readUntil(c, ch.remote, (s) => s.includes("router login: "));
  // Only the last 64 bytes are kept.
  assert.equal(r.stdout.toString().includes("U-Boot"), false);
  assert.ok(r.stdout.toString().endsWith("x".repeat(48) + "\r\nrouter login: "));
});

test("the login name picks the UART; an absent device is reported to its sessions", async () => {
  const { ts, login } = await setup(["uart0", "router"]);
  const [, router] = uarts;
  const r = await run("ssh", [...ts.sshArgs, "router@127.0.0.1"], { input: "to router", timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  await router.until(() => router.receivedBytes === 9);
  assert.equal(router.all().toString(), "to router");
  assert.equal(uarts[0].receivedBytes, 0);
  const c = await login();
  const ch = await startShell(c, { command: "attach router" });
  router.unplug();
  const gone = await readUntil(c, ch.remote, (s) => s.includes("is gone"));
  assert.match(gone.stdout.toString(), /\[router is gone: unplugged\]/);
  router.plugIn();
  const back = await readUntil(c, ch.remote, (s) => s.includes("is back"));
  assert.match(back.stdout.toString(), /\[router is back: plugged in\]/);
  const bad = await run("ssh", [...ts.sshArgs, "nobody@127.0.0.1", "info"], { timeoutMs: 20_000 });
  assert.equal(bad.code, 255, "unknown user names cannot log in");
});
