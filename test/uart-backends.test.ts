// The node host's UART backends without SSH: the simulated device (output, editing, commands,
// line pacing, breaks, mismatched settings), the null device, the pty relay (both directions,
// byte-exact bulk data with backpressure, termios seen by stty, relay death), the serialport backend
// on a pty slave (both directions, baud and frame changes, unplug and return, unplug before the first
// read), and raw TCP (both directions, reconnect).

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, existsSync, openSync, readlinkSync, writeSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { DEFAULT_LINE, type LineSettings, type UartListener, type UartPort } from "../modules/console/uart.js";
import { openUart, type HostUart } from "../hosts/node/uart/index.js";
import { NullUart } from "../hosts/node/uart/null.js";
import { PtyUart } from "../hosts/node/uart/pty.js";
import { openSerial, SerialUart } from "../hosts/node/uart/serial.js";
import { SIM_RX_FIFO, SimUart } from "../hosts/node/uart/sim.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";

const PYTHON = ensureTool("python3", "python3");
const STTY = ensureTool("stty", "coreutils");

/** Bound on any single wait in these tests. */
const WAIT_MS = 15_000;

const line = (baud: number, format = "8N1"): LineSettings => ({
  baud,
  dataBits: Number(format[0]) as LineSettings["dataBits"],
  parity: ({ N: "none", E: "even", O: "odd" } as const)[format[1] as "N" | "E" | "O"],
  stopBits: Number(format[2]) as 1 | 2,
});

/** Records what a port tells its listener; waits for conditions on it. */
class Probe implements UartListener {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  writables = 0;
  readonly statuses: { open: boolean; detail: string }[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(port: UartPort) {
    port.listener = this;
  }

  data(b: Uint8Array): void {
    this.chunks.push(Buffer.from(b));
    this.bytes += b.length;
    this.kick();
  }
  writable(): void {
    this.writables++;
    this.kick();
  }
  status(open: boolean, detail: string): void {
    this.statuses.push({ open, detail });
    this.kick();
  }

  all(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
    return this.chunks[0] ?? Buffer.alloc(0);
  }
  text(): string {
    return this.all().toString("latin1");
  }

  /** Resolves when `pred` holds (checked now and after every event); rejects after `ms`. */
  until(pred: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; last output: ${JSON.stringify(this.text().slice(-300))}`));
      }, ms);
      this.waiters.add(check);
    });
  }

  private kick(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Offers `data` as fast as the port takes it, `chunk` bytes at a time; counts write() returning 0. */
async function writeAll(port: UartPort, probe: Probe, data: Uint8Array, chunk = data.length): Promise<{ zeros: number }> {
  let off = 0;
  let zeros = 0;
  while (off < data.length) {
    const seen = probe.writables;
    const n = port.write(data.subarray(off, Math.min(data.length, off + chunk)));
    off += n;
    if (n === 0) {
      zeros++;
      await probe.until(() => probe.writables > seen, `writable() after ${off} of ${data.length} bytes`);
    }
  }
  return { zeros };
}

/** Polls a condition on outside state (a tty's termios, a file) until it holds, within `ms`. */
async function eventually(pred: () => Promise<boolean> | boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sttyOf(path: string): Promise<string> {
  const r = await run(STTY, ["-a", "-F", path], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString();
}

const logs: string[] = [];
const log = (l: string) => logs.push(l);
const opened: HostUart[] = [];
async function open(spec: string, l: LineSettings = DEFAULT_LINE, extra: { link?: string } = {}): Promise<HostUart> {
  const port = await openUart(spec, { name: "uart0", line: l, log, ...extra });
  opened.push(port);
  return port;
}
after(() => {
  for (const p of opened) p.close();
  if (process.env.UART_TEST_LOG) console.log(logs.join("\n"));
});

describe("sim", () => {
  test("boot log, prompt, echo, editing and commands", async () => {
    const sim = (await open("sim")) as SimUart;
    assert.ok(sim instanceof SimUart);
    const probe = new Probe(sim);
    await probe.until(() => probe.text().endsWith("sim> "), "the first prompt");
    const boot = probe.text();
    assert.match(boot, /U-Boot/);
    assert.match(boot, /Starting kernel/);
    assert.match(boot, /login:/);
    assert.ok(boot.length < 1024, `boot log is ${boot.length} bytes`);

    const expect = async (typed: string, reply: string) => {
      const from = probe.bytes;
      sim.write(Buffer.from(typed, "latin1"));
      await probe.until(() => probe.all().subarray(from).toString("latin1") === reply, `the reply to ${JSON.stringify(typed)}`);
    };
    await expect("echo hi\r", "echo hi\r\nhi\r\nsim> ");
    await expect("echo  two   words\n", "echo  two   words\r\ntwo words\r\nsim> ");
    await expect("echoo\x7f x\r", "echoo\b \b x\r\nx\r\nsim> ");
    await expect("ab\x08\x08\x08", "ab\b \b\b \b");
    await expect("frob\r", "frob\r\nsim: frob: not found\r\nsim> ");
    await expect("stty\r", "stty\r\nspeed 115200 baud; 115200 8N1\r\nsim> ");
    await expect("version\r", "version\r\nsim-router firmware 1.0.0 (simulated UART device)\r\nsim> ");
    await expect("\r", "\r\nsim> ");
    const from = probe.bytes;
    sim.write(Buffer.from("help\r"));
    await probe.until(() => /count +bytes received/.test(probe.all().subarray(from).toString()) && probe.text().endsWith("sim> "), "help");
    // CR LF counts as one end of line.
    await expect("echo a\r\necho b\r", "echo a\r\na\r\nsim> echo b\r\nb\r\nsim> ");
    const at = probe.bytes;
    sim.write(Buffer.from("uptime\r"));
    await probe.until(() => /^uptime\r\nup \d+\.\d s\r\nsim> $/.test(probe.all().subarray(at).toString()), "uptime");
  });

  test("flood, count, reboot, Ctrl-C", async () => {
    const sim = (await open("sim")) as SimUart;
    const probe = new Probe(sim);
    await probe.until(() => probe.text().endsWith("sim> "), "the first prompt");
    let from = probe.bytes;
    sim.write(Buffer.from("flood 1000\r"));
    await probe.until(() => probe.all().subarray(from).toString().endsWith("sim> "), "the flood");
    const flood = probe.all().subarray(from).toString();
    assert.ok(flood.startsWith("flood 1000\r\n"), flood.slice(0, 40));
    const body = flood.slice("flood 1000\r\n".length, flood.length - "sim> ".length);
    assert.match(body, /^flood 000001 /);
    // Exactly 1000 bytes of text, then a line end if the last line was cut, then the prompt.
    const text = body.endsWith("\r\n") && body.length === 1002 ? body.slice(0, 1000) : body;
    assert.equal(text.length, 1000, `flood body is ${body.length} bytes`);

    from = probe.bytes;
    sim.write(Buffer.from("count\r"));
    const expected = "flood 1000\r".length + "count\r".length;
    await probe.until(() => probe.all().subarray(from).toString() === `count\r\n${expected}\r\nsim> `, "count");
    assert.equal(sim.received, expected);

    // Ctrl-C stops a long flood.
    from = probe.bytes;
    sim.write(Buffer.from("flood 10000000\r"));
    await probe.until(() => probe.bytes - from > 2000, "flood output");
    sim.write(Uint8Array.of(3));
    await probe.until(() => probe.text().endsWith("^C\r\nsim> "), "the prompt after Ctrl-C");
    const stopped = probe.bytes - from;
    assert.ok(stopped < 1_000_000, `flood stopped after ${stopped} bytes`);

    from = probe.bytes;
    sim.write(Buffer.from("reboot\r"));
    await probe.until(() => probe.all().subarray(from).toString().endsWith("sim> "), "the reboot");
    assert.match(probe.all().subarray(from).toString(), /Restarting system\.\r\n[\s\S]*U-Boot[\s\S]*login:/);
    assert.equal(sim.received, 0, "count restarts at boot");
  });

  test("pacing: at 9600 baud the device takes about 960 bytes/s through its FIFO", async () => {
    const sim = (await open("sim", line(9600))) as SimUart;
    const probe = new Probe(sim);
    await probe.until(() => probe.text().endsWith("sim> "), "the first prompt");
    // DEL on an empty line prints nothing: a pure receive load.
    const payload = Buffer.alloc(2000, 0x7f);
    const t0 = performance.now();
    const { zeros } = await writeAll(sim, probe, payload);
    const elapsed = (performance.now() - t0) / 1000;
    // 8N1 = 10 bits a byte; everything beyond the FIFO must wait for the line.
    const minimum = (payload.length - SIM_RX_FIFO) / (9600 / 10);
    assert.ok(zeros > 0, "write() must have refused bytes while the FIFO was full");
    assert.ok(elapsed >= minimum * 0.9, `2000 bytes taken in ${elapsed.toFixed(2)} s, the line needs ${minimum.toFixed(2)} s`);
    assert.ok(elapsed < minimum * 3, `2000 bytes took ${elapsed.toFixed(2)} s (line time ${minimum.toFixed(2)} s)`);
    const from = probe.bytes;
    await writeAll(sim, probe, Buffer.from("count\r")); // the FIFO may still be nearly full
    await probe.until(() => probe.all().subarray(from).toString().endsWith("sim> "), "count");
    assert.equal(probe.all().subarray(from).toString(), `count\r\n${payload.length + 6}\r\nsim> `);
    assert.equal(sim.received, payload.length + 6);
  });

  test("a break is seen and recorded", async () => {
    const sim = (await open("sim")) as SimUart;
    const probe = new Probe(sim);
    await probe.until(() => probe.text().endsWith("sim> "), "the first prompt");
    sim.write(Buffer.from("abc"));
    await probe.until(() => probe.text().endsWith("abc"), "echo");
    sim.sendBreak(250);
    await probe.until(() => probe.text().endsWith("abc\r\n[break received: 250 ms]\r\nsim> "), "the break report");
    assert.deepEqual(sim.breaks, [250]);
    // The break abandoned the typed line.
    const from = probe.bytes;
    sim.write(Buffer.from("echo x\r"));
    await probe.until(() => probe.all().subarray(from).toString() === "echo x\r\nx\r\nsim> ", "a fresh line");
  });

  test("mismatched line settings garble both ways; setLine itself succeeds", async () => {
    const sim = (await open("sim", line(115200))) as SimUart;
    const probe = new Probe(sim);
    await probe.until(() => probe.text().endsWith("sim> "), "the first prompt");
    const received = sim.received;
    sim.setLine(line(9600));
    assert.equal(sim.line.baud, 9600);
    assert.equal(sim.mismatched, true);
    // Input at the wrong rate is lost: nothing is echoed, nothing counted.
    await writeAll(sim, probe, Buffer.from("echo lost\r"));
    // The break gets through (it does not depend on the baud rate), its report does not.
    let from = probe.bytes;
    sim.sendBreak(100);
    const report = "\r\n[break received: 100 ms]\r\nsim> ";
    await probe.until(() => probe.bytes - from >= report.length, "garbled output");
    const garbled = probe.all().subarray(from);
    assert.equal(garbled.length, report.length);
    assert.notEqual(garbled.toString("latin1"), report);
    assert.ok(!garbled.toString("latin1").includes("break"), "output must be garbage");
    assert.equal(sim.received, received, "bytes sent at the wrong rate are not received");

    // A frame format mismatch garbles too; matching again brings the console back.
    sim.setLine(line(115200, "7E1"));
    assert.equal(sim.mismatched, true);
    sim.setLine(line(115200));
    assert.equal(sim.mismatched, false);
    from = probe.bytes;
    sim.write(Buffer.from("echo ok\r"));
    await probe.until(() => probe.all().subarray(from).toString() === "echo ok\r\nok\r\nsim> ", "a clean reply");
    assert.throws(() => sim.setLine({ ...line(115200), baud: 12345 }), /not a supported baud rate/);
  });
});

describe("null", () => {
  test("takes everything at once and says nothing", async () => {
    const port = (await open("null")) as NullUart;
    assert.ok(port instanceof NullUart);
    const probe = new Probe(port);
    assert.equal(port.write(new Uint8Array(1 << 20)), 1 << 20);
    assert.equal(port.write(new Uint8Array(5)), 5);
    assert.equal(port.received, (1 << 20) + 5);
    port.sendBreak(10);
    port.setLine(line(9600, "7E1"));
    assert.equal(port.line.dataBits, 7);
    assert.equal(probe.bytes, 0);
    port.close();
    assert.equal(port.isOpen, false);
    assert.equal(port.write(new Uint8Array(1)), 0);
  });
});

/** Reads `count` bytes from a tty path slowly; prints "<count> <sha256>". */
const SLOW_READER = String.raw`
import hashlib, os, sys, time
path, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
h, n = hashlib.sha256(), 0
while n < count:
    d = os.read(fd, min(4096, count - n))
    if not d:
        break
    h.update(d)
    n += len(d)
    time.sleep(pause)
print(n, h.hexdigest(), flush=True)
`;

function slowReader(path: string, count: number, pauseS: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", SLOW_READER, path, String(count), String(pauseS)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`slow reader timed out; stderr: ${err}`));
    }, 60_000);
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`slow reader exited with ${code}: ${err}`));
    });
  });
}

describe("pty", () => {
  test("the slave path, both directions, and a program reopening the slave", async () => {
    const pty = (await open("pty")) as PtyUart;
    assert.ok(pty instanceof PtyUart);
    assert.match(pty.path, /^\/dev\/pts\/\d+$/);
    assert.equal(pty.description, `pty ${pty.path}`);
    assert.equal(pty.isOpen, true);
    const probe = new Probe(pty);
    for (let round = 0; round < 2; round++) {
      const fd = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY);
      const msg = Buffer.from(`device says hello ${round}\r\n\x00\xff`, "latin1");
      const from = probe.bytes;
      writeSync(fd, msg);
      await probe.until(() => probe.bytes - from >= msg.length, "device output");
      assert.deepEqual(probe.all().subarray(from), msg);
      closeSync(fd);
    }
    assert.equal(pty.isOpen, true, "the pty survives the program closing the slave");
  });

  test("1 MiB byte-exact to a slow reader, with backpressure reaching write()", async () => {
    const pty = (await open("pty")) as PtyUart;
    const probe = new Probe(pty);
    const data = randomBytes(1 << 20);
    let offered = 0;
    let zeros = 0;
    // Nobody reads the slave yet: the pipeline fills (node's stream, the pipe, the relay, the pty)
    // and then write() takes nothing more and writable() stops: no buffer grows without bound. A
    // quiet 300 ms (no writable()) shows it has settled; 1 MiB taken would show it never does.
    for (;;) {
      let n: number;
      while ((n = pty.write(data.subarray(offered, offered + 4096))) > 0) {
        offered += n;
        assert.ok(offered < data.length, "the pty took 1 MiB with nobody reading");
      }
      zeros++;
      const seen = probe.writables;
      const quiet = await probe.until(() => probe.writables > seen, "", 300).then(() => false, () => true);
      if (quiet) break;
    }
    assert.ok(offered < 768 * 1024, `${offered} bytes taken with nobody reading`);

    const reader = slowReader(pty.path, data.length, 0.002);
    const rest = await writeAll(pty, probe, data.subarray(offered), 4096);
    zeros += rest.zeros;
    const [count, digest] = (await reader).split(" ");
    assert.equal(Number(count), data.length);
    assert.equal(digest, createHash("sha256").update(data).digest("hex"));
    assert.ok(zeros > 1, `write() returned 0 only ${zeros} times`);
  });

  test("line settings reach the slave's termios; breaks are passed on", async () => {
    const pty = (await open("pty")) as PtyUart;
    pty.setLine(line(9600, "8N2"));
    await pty.applied();
    const s = await sttyOf(pty.path);
    assert.match(s, /speed 9600 baud/);
    assert.match(s, /(^|\s)cs8(\s|$)/);
    assert.match(s, /(^|\s)cstopb(\s|$)/);
    assert.match(s, /(^|\s)-parenb(\s|$)/);
    assert.match(s, /(^|\s)-echo(\s|$)/);
    assert.match(s, /(^|\s)-icanon(\s|$)/);
    assert.deepEqual(pty.line, line(9600, "8N2"));
    // Linux forces cs8 -parenb on every pty: 7E1 cannot be represented, and says so.
    assert.throws(() => pty.setLine(line(9600, "7E1")), /8 data bits without parity/);
    assert.deepEqual(pty.line, line(9600, "8N2"));
    pty.setLine(line(115200));
    await pty.applied();
    assert.match(await sttyOf(pty.path), /speed 115200 baud/);
    const before = logs.length;
    pty.sendBreak(100);
    await pty.applied();
    assert.ok(logs.slice(before).some((l) => /break of 100 ms/.test(l)));
    assert.ok(!logs.slice(before).some((l) => /relay: break/.test(l)), logs.slice(before).join("\n"));
    await assert.rejects(open("pty", line(9600, "7E1")), /8 data bits without parity/);
  });

  test("a stable link; the relay's death is reported; close() cleans up", async () => {
    const dir = tempDir("uart-pty-");
    try {
      const link = join(dir.path, "ttyDEV");
      const pty = (await open("pty", DEFAULT_LINE, { link })) as PtyUart;
      assert.equal(readlinkSync(link), pty.path);
      const probe = new Probe(pty);
      process.kill(pty.relayPid!, "SIGKILL");
      await probe.until(() => probe.statuses.length > 0, "status()");
      assert.equal(probe.statuses[0].open, false);
      assert.match(probe.statuses[0].detail, /relay exited/);
      assert.equal(pty.isOpen, false);
      assert.equal(pty.write(Buffer.from("x")), 0);

      const again = (await open("pty", DEFAULT_LINE, { link })) as PtyUart;
      assert.equal(readlinkSync(link), again.path);
      again.close();
      await again.exited;
      assert.equal(existsSync(link), false, "the relay removes its link");
    } finally {
      dir.cleanup();
    }
  });
});

describe("serial (serialport on a pty slave)", () => {
  test("both directions byte-exact, baud and frame changes", async () => {
    const pty = (await open("pty")) as PtyUart;
    const device = new Probe(pty);
    const serial = await open(pty.path);
    assert.equal(serial.description, pty.path);
    assert.equal(serial.isOpen, true);
    const host = new Probe(serial);

    const down = randomBytes(256 * 1024);
    const up = randomBytes(256 * 1024);
    await Promise.all([writeAll(serial, host, down, 8192), writeAll(pty, device, up, 8192)]);
    await device.until(() => device.bytes >= down.length, "bytes at the device");
    await host.until(() => host.bytes >= up.length, "bytes at the host");
    assert.ok(device.all().equals(down), "serial -> pty");
    assert.ok(host.all().equals(up), "pty -> serial");

    // Baud rate: changed on the open port.
    serial.setLine(line(9600));
    await eventually(async () => /speed 9600 baud/.test(await sttyOf(pty.path)), "9600 baud on the slave");
    // Frame format: reopened with the new settings (the pty keeps only the stop bits of it).
    serial.setLine(line(9600, "8N2"));
    await eventually(async () => /(^|\s)cstopb(\s|$)/.test(await sttyOf(pty.path)), "cstopb on the slave");
    assert.deepEqual(serial.line, line(9600, "8N2"));
    assert.equal(serial.isOpen, true);
    const msg = Buffer.from("after reopen");
    await writeAll(serial, host, msg);
    await device.until(() => device.all().subarray(down.length).equals(msg), "data after the reopen");
    assert.equal(host.statuses.length, 0, "a reopen for new settings is not a disappearance");
    serial.sendBreak(50); // a pty refuses the modem-line ioctls: logged, not thrown
  });

  test("a device that goes away is reported and picked up again", async () => {
    const dir = tempDir("uart-serial-");
    try {
      const link = join(dir.path, "ttyUSB9");
      const first = (await open("pty", DEFAULT_LINE, { link })) as PtyUart;
      const serial = await openSerial(link, { name: "uart0", line: DEFAULT_LINE, log });
      opened.push(serial);
      const host = new Probe(serial);
      assert.equal(serial.isOpen, true);
      first.close(); // "unplugged"
      await host.until(() => host.statuses.length >= 1, "status(false)");
      assert.equal(host.statuses[0].open, false);
      assert.equal(serial.isOpen, false);
      assert.equal(serial.write(Buffer.from("x")), 0);

      const second = (await open("pty", DEFAULT_LINE, { link })) as PtyUart; // "plugged in again"
      const device = new Probe(second);
      await host.until(() => host.statuses.length >= 2, "status(true)", 10_000);
      assert.equal(host.statuses[1].open, true);
      assert.equal(serial.isOpen, true);
      assert.ok(host.writables >= 1, "writable() owed from the refused write");
      await writeAll(serial, host, Buffer.from("back"));
      await device.until(() => device.text() === "back", "data after the return");
      second.write(Buffer.from("hi"));
      await host.until(() => host.text() === "hi", "data from the returned device");
    } finally {
      dir.cleanup();
    }
  });

  test("a device gone before serialport's first read is still reported", async () => {
    // A read that starts after the hangup gets 0 bytes, which serialport retries forever without an
    // event (the flake this reproduces: seen under CPU load, when the read reached the thread pool
    // only after the relay had exited). Here the first read waits for the relay's exit on purpose.
    const { SerialPort } = await import("serialport");
    const pty = (await open("pty")) as PtyUart;
    let late!: () => void;
    const gone = new Promise<void>((r) => (late = r));
    class LateReader extends SerialPort {
      override _read(n: number): void {
        void gone.then(() => super._read(n));
      }
    }
    const serial = new SerialUart("uart0", pty.path, DEFAULT_LINE, log, LateReader as typeof SerialPort); // SerialPort's constructor is generic; ours is not
    opened.push(serial);
    await serial.start();
    const host = new Probe(serial);
    assert.equal(serial.isOpen, true);
    pty.close(); // "unplugged"
    await pty.exited;
    late();
    await host.until(() => host.statuses.length >= 1, "status(false)");
    assert.equal(host.statuses[0].open, false);
    assert.match(host.statuses[0].detail, /went away: EIO/); // only the check can see it here
    assert.equal(serial.isOpen, false);
  });
});

describe("tcp", () => {
  test("both directions, server gone and back, and what raw TCP cannot do", async () => {
    const sockets: Socket[] = [];
    let server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    assert.ok(address && typeof address === "object");
    const port = address.port;
    try {
      const uart = await open(`tcp:127.0.0.1:${port}`);
      assert.equal(uart.isOpen, true);
      assert.equal(uart.description, `tcp:127.0.0.1:${port}`);
      const host = new Probe(uart);
      await eventually(() => sockets.length === 1, "the connection");
      const s = sockets[0];
      const got: Buffer[] = [];
      s.on("data", (d: Buffer) => got.push(d));

      const down = randomBytes(4 << 20); // more than the socket buffers: write() must refuse at some point
      const { zeros } = await writeAll(uart, host, down, 64 * 1024);
      assert.ok(zeros > 0, "write() never returned 0");
      await eventually(() => got.reduce((n, b) => n + b.length, 0) >= down.length, "bytes at the server");
      assert.ok(Buffer.concat(got).equals(down));
      const up = randomBytes(100_000);
      s.write(up);
      await host.until(() => host.bytes >= up.length, "bytes from the server");
      assert.ok(host.all().equals(up));

      assert.throws(() => uart.setLine(line(9600)), /line settings are set on the serial server, not over raw TCP/);
      uart.setLine(DEFAULT_LINE); // the current settings: fine
      const before = logs.length;
      uart.sendBreak(100);
      assert.ok(logs.slice(before).some((l) => /cannot send a 100 ms break over raw TCP/.test(l)));

      // The server goes away entirely, then comes back on the same port.
      await new Promise<void>((r) => {
        server.close(() => r());
        s.destroy();
      });
      await host.until(() => host.statuses.length >= 1, "status(false)");
      assert.deepEqual(host.statuses[0].open, false);
      assert.equal(uart.isOpen, false);
      assert.equal(uart.write(Buffer.from("x")), 0);
      server = createServer((c) => sockets.push(c));
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
      await host.until(() => host.statuses.length >= 2, "status(true)", 10_000);
      assert.equal(host.statuses[1].open, true);
      assert.equal(uart.isOpen, true);
      await eventually(() => sockets.length === 2, "the new connection");
      const again: Buffer[] = [];
      sockets[1].on("data", (d: Buffer) => again.push(d));
      uart.write(Buffer.from("hello again"));
      await eventually(() => Buffer.concat(again).toString() === "hello again", "data on the new connection");
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  test("a malformed spec or unknown backend is an error", async () => {
    await assert.rejects(openUart("tcp:nohost", { name: "u", line: DEFAULT_LINE, log }), /not tcp:HOST:PORT/);
    await assert.rejects(openUart("ttyUSB0", { name: "u", line: DEFAULT_LINE, log }), /is not a UART/);
  });
});
