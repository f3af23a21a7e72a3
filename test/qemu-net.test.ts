// The firmware's network stack on its own (issue 5/6): lwIP + our virtio-net driver in a bare-metal
// RISC-V echo server (build/qemu/net-echo.elf, no XS), booted in QEMU with a host port forwarded to
// guest port 22. Byte-exact 1 MiB echoes on one and on three concurrent connections (throughput
// reported), the connection limit (NET_MAX_CONNS = 4: a fifth is refused, a freed slot is reused),
// and no leaked pbufs or heap once every connection has closed.
//
// Builds are cached under build/; the toolchain and QEMU are installed with apt when missing, and
// lwIP's source comes from Debian (hosts/qemu/sources.ts). Nothing here skips.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Socket } from "node:net";
import { buildNetEcho, elfSizes, qemuNetArgs } from "../hosts/qemu/net/build-echo.js";
import { Procs, waitExit } from "./helpers/procs.js";
import { freePort, waitForOutput } from "./helpers/tools.js";

/** Bound on any single wait. */
const WAIT_MS = 20_000;
const MIB = 1 << 20;

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("connect timed out"));
    }, WAIT_MS);
    s.once("connect", () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends `data` (respecting backpressure), half-closes, and collects everything echoed until the
 * server's FIN. Resolves with the echo. */
function echo(s: Socket, data: Buffer, timeoutMs = 60_000, readAfterMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    if (readAfterMs) {
      s.pause();
      setTimeout(() => s.resume(), readAfterMs);
    }
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`echo timed out after ${got.reduce((n, b) => n + b.length, 0)} of ${data.length} bytes`));
    }, timeoutMs);
    s.on("data", (b: Buffer) => got.push(b));
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    let off = 0;
    const CHUNK = 64 * 1024;
    const pump = () => {
      while (off < data.length) {
        const part = data.subarray(off, off + CHUNK);
        off += part.length;
        if (!s.write(part)) {
          s.once("drain", pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
}

/** Resolves with "closed" when the peer ends or resets the connection within `ms`, else "open". */
function closedWithin(s: Socket, ms: number): Promise<"closed" | "open"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("open"), ms);
    const done = () => {
      clearTimeout(timer);
      resolve("closed");
    };
    s.once("end", done);
    s.once("close", done);
    s.once("error", done);
    s.resume();
  });
}

/** Round trip of a short message on an open connection. */
function ping(s: Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const timer = setTimeout(() => reject(new Error(`no echo of ${msg}; got ${JSON.stringify(got)}`)), WAIT_MS);
    const onData = (b: Buffer) => {
      got += b.toString();
      if (got.length >= msg.length) {
        clearTimeout(timer);
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
    s.write(msg);
  });
}

describe("QEMU firmware network stack (lwIP + virtio-net, bare-metal echo)", () => {
  const procs = new Procs();
  let port = 0;
  let console_ = ""; // what the guest printed
  let qemu: ReturnType<Procs["spawn"]>;
  let built = "";

  before(async () => {
    const t0 = Date.now();
    const elf = await buildNetEcho();
    const sizes = await elfSizes(elf);
    built = `net-echo.elf built in ${Date.now() - t0} ms: text ${sizes.text} B, data ${sizes.data} B, bss ${sizes.bss} B`;
    port = await freePort();
    qemu = procs.spawn("qemu-system-riscv32", qemuNetArgs(elf, port));
    qemu.stdout!.on("data", (d: Buffer) => (console_ += d.toString()));
    qemu.stderr!.on("data", (d: Buffer) => (console_ += d.toString()));
    await waitForOutput(qemu, (t) => t.includes("listening on port 22"), WAIT_MS);
  });

  after(async () => {
    procs.killAll();
    if (qemu) await waitExit(qemu, 5_000, "qemu").catch(() => {});
  });

  test("echoes 1 MiB byte-exact on one connection", async (t) => {
    const data = randomBytes(MIB);
    const s = await connect(port);
    const t0 = performance.now();
    const got = await echo(s, data);
    const ms = performance.now() - t0;
    assert.equal(got.length, data.length);
    assert.ok(got.equals(data), "echo differs from what was sent");
    const mbs = data.length / 1e6 / (ms / 1000);
    t.diagnostic(built);
    t.diagnostic(`1 connection: 1 MiB echoed in ${ms.toFixed(0)} ms = ${mbs.toFixed(1)} MB/s`);
  });

  test("echoes 1 MiB byte-exact on each of three concurrent connections", async (t) => {
    const datas = [0, 1, 2].map(() => randomBytes(MIB));
    const socks = await Promise.all(datas.map(() => connect(port)));
    const t0 = performance.now();
    const gots = await Promise.all(socks.map((s, i) => echo(s, datas[i])));
    const ms = performance.now() - t0;
    for (let i = 0; i < 3; i++) {
      assert.equal(gots[i].length, datas[i].length, `connection ${i}: length`);
      assert.ok(gots[i].equals(datas[i]), `connection ${i}: echo differs`);
    }
    const mbs = (3 * MIB) / 1e6 / (ms / 1000);
    t.diagnostic(`3 connections: 3 MiB echoed in ${ms.toFixed(0)} ms = ${mbs.toFixed(1)} MB/s aggregate`);
  });

  test("a client that stops reading stalls only its own echo (flow control), byte-exact after", async () => {
    const slow = await connect(port);
    const fast = await connect(port);
    const slowData = randomBytes(MIB);
    const slowEcho = echo(slow, slowData, 60_000, 1_500); // reads nothing for 1.5 s
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    const fastData = randomBytes(256 * 1024);
    assert.ok((await echo(fast, fastData)).equals(fastData), "the other connection's echo differs");
    assert.ok(performance.now() - t0 < 1_300, "the other connection waited for the stalled one");
    const got = await slowEcho;
    assert.ok(got.equals(slowData), "the stalled connection's echo differs");
  });

  test("holds four connections, refuses a fifth, reuses a freed slot", async () => {
    const socks = await Promise.all([0, 1, 2, 3].map(() => connect(port)));
    try {
      for (const [i, s] of socks.entries()) assert.equal(await ping(s, `hello ${i}`), `hello ${i}`);
      // QEMU accepts on the host side, then the guest refuses: the connection ends at once.
      const fifth = await connect(port);
      assert.equal(await closedWithin(fifth, 5_000), "closed", "a fifth connection was not refused");
      fifth.destroy();
      // Closing one frees its slot for a new connection.
      socks[0].end();
      assert.equal(await closedWithin(socks[0], 5_000), "closed");
      let again: Socket | undefined;
      for (let i = 0; i < 20 && !again; i++) {
        const s = await connect(port);
        try {
          if ((await ping(s, "again")) === "again") again = s;
        } catch {
          s.destroy();
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(again, "no new connection after a slot was freed");
      for (const s of [again, ...socks.slice(1)]) assert.equal(await ping(s, "still"), "still");
      again.destroy();
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  test("frees every pbuf and the heap once all connections are closed", async (t) => {
    // The guest prints its counters each time the last open connection closes.
    const before = console_.length;
    // The previous test's connections were reset: their slots free up once the guest has seen that.
    let reply = "";
    for (let i = 0; i < 50 && reply !== "bye"; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      reply = (await echo(await connect(port), Buffer.from("bye")).catch(() => Buffer.alloc(0))).toString();
    }
    assert.equal(reply, "bye");
    const statsLine = () => [...console_.slice(before).matchAll(/^stats: .*conns open 0 .*$/gm)].pop()?.[0];
    for (const end = Date.now() + WAIT_MS; !statsLine() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    const line = statsLine() ?? "";
    const m = line.match(/heap (\d+)\/(\d+) max (\d+) pool (\d+)\/(\d+) max (\d+)/);
    assert.ok(m, `no stats line; console: ${console_.slice(-2000)}`);
    const [heapUsed, heapSize, heapMax, poolUsed, poolSize, poolMax] = m.slice(1).map(Number);
    t.diagnostic(`lwIP heap peak ${heapMax}/${heapSize} B, pbuf pool peak ${poolMax}/${poolSize}`);
    assert.equal(poolUsed, 0, `pbufs still in use: ${line}`);
    assert.ok(heapUsed < 512, `heap still in use: ${line}`); // a few bytes of ARP/timer state
    assert.ok(heapMax <= heapSize && poolMax <= poolSize);
    assert.doesNotMatch(console_, /assertion|trap:/);
  });
});
