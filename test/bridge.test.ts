// The serial console bridge's output fan-out, sans-I/O: every attached session gets exactly the
// device's bytes in order at its own pace; a session that falls further behind than its queue
// (SESSION_OUTPUT_QUEUE) loses its own oldest bytes (counted), and the others lose nothing.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { SESSION_OUTPUT_QUEUE, UartBridge } from "../modules/console/bridge.js";
import type { SessionContext, SessionProgram } from "../modules/ssh/session.js";
import { FakeUart } from "./helpers/fakeuart.js";

/** A session's channel: takes `room` bytes, then nothing until the test opens it again. */
function session(name: string) {
  const s = {
    got: [] as Buffer[],
    room: Infinity,
    get bytes() {
      return Buffer.concat(s.got);
    },
    ctx: null as unknown as SessionContext,
    program: null as unknown as SessionProgram,
  };
  s.ctx = {
    user: name,
    remote: "test",
    access: null as never,
    pty: null,
    env: new Map(),
    server: null as never,
    write(d: Uint8Array) {
      const n = Math.min(d.length, s.room);
      if (n > 0) s.got.push(Buffer.from(d.subarray(0, n)));
      if (s.room !== Infinity) s.room -= n;
      return n;
    },
    writeErr: (d: Uint8Array) => d.length,
    print: (t: string) => t.length,
    get writableBytes() {
      return s.room === Infinity ? 65536 : s.room;
    },
    consume() {},
    exit() {},
    exitSignal() {},
    eof() {},
  };
  return s;
}

describe("UART output fan-out", () => {
  test("three sessions at three paces each get every byte in order", () => {
    const uart = new FakeUart();
    const bridge = new UartBridge(uart);
    const fast = session("fast"), slow = session("slow"), stalled = session("stalled");
    for (const s of [fast, slow, stalled]) {
      s.program = bridge.attach(s.ctx, { readOnly: false });
      s.program.start!();
    }
    const device = randomBytes(SESSION_OUTPUT_QUEUE / 2);
    slow.room = 100;
    stalled.room = 0;
    for (let i = 0; i < device.length; i += 997) {
      uart.emit(device.subarray(i, i + 997));
      slow.room += 50; // reads a little as output flows
      slow.program.writable!();
    }
    assert.deepEqual(fast.bytes, device);
    slow.room = Infinity;
    slow.program.writable!();
    assert.deepEqual(slow.bytes, device);
    stalled.room = Infinity;
    stalled.program.writable!();
    assert.deepEqual(stalled.bytes, device, "within its queue a stalled session loses nothing");
  });

  test("a session further behind than the ring loses its own oldest bytes, counted; the others lose none", () => {
    const uart = new FakeUart();
    const bridge = new UartBridge(uart, 0);
    const fast = session("fast"), stalled = session("stalled");
    for (const s of [fast, stalled]) {
      s.program = bridge.attach(s.ctx, { readOnly: false });
      s.program.start!();
    }
    stalled.room = 0;
    const device = randomBytes(SESSION_OUTPUT_QUEUE * 3);
    for (let i = 0; i < device.length; i += 4096) uart.emit(device.subarray(i, i + 4096));
    assert.deepEqual(fast.bytes, device);
    stalled.room = Infinity;
    stalled.program.writable!();
    const lost = device.length - SESSION_OUTPUT_QUEUE;
    const a = bridge.attached.find((x) => x.ctx.user === "stalled")!;
    assert.equal(a.dropped, lost);
    assert.deepEqual(stalled.bytes, device.subarray(lost), "the newest bytes, in order");
    assert.match(bridge.describe().join("\n"), new RegExp(`stalled@test, lost ${lost} bytes of output`));
  });

  test("a session attaching later gets the scrollback, then live output", () => {
    const uart = new FakeUart();
    const bridge = new UartBridge(uart, 8);
    uart.emit(Buffer.from("boot log: ready>"));
    const late = session("late");
    late.program = bridge.attach(late.ctx, { readOnly: true });
    late.program.start!();
    uart.emit(Buffer.from(" ok"));
    assert.equal(late.bytes.toString(), ": ready> ok", "the last 8 bytes, then what follows");
  });
});
