// `sim`: a simulated target device (a small router's serial console) behind a UART that is paced
// like a real line. The device takes bytes through a small receive FIFO at the line rate and sends
// at the line rate, so a fast sender is throttled exactly as by real hardware. One timer (~10 ms)
// turns elapsed time into byte budgets; it runs only while something is pending.

import { performance } from "node:perf_hooks";
import { formatLine, type LineSettings, type UartListener } from "../../../modules/console/uart.js";
import { checkLine, frameBits, sameLine, type HostUart, type UartOptions } from "./common.js";

/** The device's receive FIFO (a 16C950-class UART's): write() takes only what fits. */
export const SIM_RX_FIFO = 128;
/** Timer granularity: byte budgets are computed from elapsed time at about this period. */
export const SIM_TICK_MS = 10;
/** Longest command line the device keeps; further characters ring the bell. */
export const SIM_MAX_LINE = 256;
/** Largest `flood N` (the output is generated lazily, so this bounds time, not memory). */
export const SIM_MAX_FLOOD = 64 * 1024 * 1024;
/** Most bytes handed to listener.data() in one call (after a long event-loop stall). */
export const SIM_MAX_DELIVERY = 64 * 1024;

const PROMPT = "sim> ";
const BOOT_LOG = [
  "",
  "U-Boot 2023.04-sim (Jan 01 2024 - 00:00:00 +0000)",
  "DRAM:  128 MiB",
  "Hit any key to stop autoboot:  0",
  "Starting kernel ...",
  "",
  "[    0.000000] Linux version 6.1.0-sim (sim@build) #1 SMP",
  "[    0.812345] serial8250: ttyS0 at MMIO 0x18020000 is a 16550A",
  "[    2.345678] init: starting sim-router services",
  "",
  "sim-router login: root (automatic login)",
  "",
].join("\r\n");
const HELP = [
  "commands:",
  "  help         this list",
  "  version      firmware version",
  "  uptime       time since boot",
  "  echo ARGS    print ARGS",
  "  stty         the device's own line settings",
  "  count        bytes received since boot",
  "  reboot       restart (prints the boot log again)",
  `  flood N      print N bytes of text (N <= ${SIM_MAX_FLOOD})`,
];
const FLOOD_TEXT = " the quick brown fox jumps over the lazy dog 0123456789";

const ascii = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

/** `flood N` output, produced a line at a time as it is transmitted. */
interface Flood {
  remaining: number;
  lineNo: number;
  lastByte: number;
}

export class SimUart implements HostUart {
  readonly description = "simulated device (sim-router)";
  listener: UartListener | null = null;
  /** Break lengths (ms) the device has seen, oldest first. */
  readonly breaks: number[] = [];
  /** Bytes the device read intact (with matching line settings) since boot: what `count` prints. */
  received = 0;

  /** The device's own settings: fixed at creation. */
  readonly deviceLine: LineSettings;
  private current: LineSettings;
  private closed = false;

  private readonly fifo = new Uint8Array(SIM_RX_FIFO);
  private fifoHead = 0;
  private fifoLen = 0;
  private wantWritable = false;
  /** Simulated time (performance.now() ms) up to which the receiver has consumed the line. */
  private rxClock = 0;

  private readonly out: (Uint8Array | Flood)[] = [];
  private outOffset = 0;
  private txClock = 0;

  private timer: NodeJS.Timeout | null = null;
  private bootTime = 0;
  private lineBuf: number[] = [];
  private lastWasCR = false;
  private noise = 0x2545f491; // xorshift32 state for garbled output

  constructor(readonly name: string, line: LineSettings, private readonly log: (l: string) => void = () => {}) {
    checkLine(line);
    this.deviceLine = { ...line };
    this.current = { ...line };
    this.boot();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get line(): LineSettings {
    return { ...this.current };
  }

  /** True when the port's settings differ from the device's: both directions are garbage. */
  get mismatched(): boolean {
    return !sameLine(this.current, this.deviceLine);
  }

  setLine(settings: LineSettings): void {
    checkLine(settings);
    this.current = { ...settings };
    if (this.mismatched) this.log(`${this.name}: port set to ${formatLine(settings)}, the simulated device runs at ${formatLine(this.deviceLine)}`);
  }

  write(bytes: Uint8Array): number {
    if (this.closed) return 0;
    const n = Math.min(bytes.length, SIM_RX_FIFO - this.fifoLen);
    if (n < bytes.length) this.wantWritable = true;
    if (n === 0) return 0;
    if (this.fifoLen === 0) this.rxClock = Math.max(this.rxClock, performance.now() - SIM_TICK_MS);
    for (let i = 0; i < n; i++) this.fifo[(this.fifoHead + this.fifoLen + i) % SIM_RX_FIFO] = bytes[i];
    this.fifoLen += n;
    this.startTimer();
    return n;
  }

  sendBreak(ms: number): void {
    if (this.closed) return;
    this.breaks.push(ms);
    this.lineBuf = [];
    this.emit(`\r\n[break received: ${ms} ms]\r\n${PROMPT}`);
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
    this.out.length = 0;
    this.fifoLen = 0;
    this.listener = null;
  }

  // ---- the device ----

  private boot(): void {
    this.bootTime = performance.now();
    this.received = 0;
    this.lineBuf = [];
    this.lastWasCR = false;
    this.emit(`${BOOT_LOG}\r\n${PROMPT}`);
  }

  private emit(s: string | Uint8Array | Flood): void {
    if (this.closed) return;
    if (this.out.length === 0) this.txClock = Math.max(this.txClock, performance.now() - SIM_TICK_MS);
    this.out.push(typeof s === "string" ? ascii(s) : s);
    this.startTimer();
  }

  /** One byte read by the device's UART (line settings matching). */
  private input(b: number): void {
    this.received++;
    const wasCR = this.lastWasCR;
    this.lastWasCR = b === 0x0d;
    if (b === 0x0d || b === 0x0a) {
      if (b === 0x0a && wasCR) return; // CR LF is one end of line
      this.emit("\r\n");
      const line = Buffer.from(this.lineBuf).toString("utf8");
      this.lineBuf = [];
      this.command(line);
    } else if (b === 0x7f || b === 0x08) {
      if (this.lineBuf.length > 0) {
        this.lineBuf.pop();
        this.emit("\b \b");
      }
    } else if (b === 0x03) {
      // Ctrl-C: abandon the line and any flood still being printed.
      for (let i = this.out.length - 1; i >= 0; i--) if (!(this.out[i] instanceof Uint8Array)) this.out.splice(i, 1);
      this.lineBuf = [];
      this.emit(`^C\r\n${PROMPT}`);
    } else if (b === 0x15) {
      // Ctrl-U: erase the line.
      this.emit("\b \b".repeat(this.lineBuf.length));
      this.lineBuf = [];
    } else if (b >= 0x20 && b !== 0x7f) {
      if (this.lineBuf.length >= SIM_MAX_LINE) {
        this.emit("\x07");
      } else {
        this.lineBuf.push(b);
        this.emit(Uint8Array.of(b));
      }
    }
    // other control characters are ignored, as by a line editor
  }

  private command(line: string): void {
    const args = line.trim().split(/\s+/).filter((a) => a.length > 0);
    const say = (...lines: string[]) => this.emit(lines.map((l) => `${l}\r\n`).join("") + PROMPT);
    if (args.length === 0) return say();
    const [cmd] = args;
    switch (cmd) {
      case "help":
        return say(...HELP);
      case "version":
        return say("sim-router firmware 1.0.0 (simulated UART device)");
      case "uptime":
        return say(`up ${((performance.now() - this.bootTime) / 1000).toFixed(1)} s`);
      case "echo":
        return say(args.slice(1).join(" "));
      case "stty":
        return say(`speed ${this.deviceLine.baud} baud; ${formatLine(this.deviceLine)}`);
      case "count":
        return say(String(this.received));
      case "reboot":
        this.emit("Restarting system.\r\n");
        return this.boot();
      case "flood": {
        const n = Number(args[1]);
        if (args.length !== 2 || !Number.isInteger(n) || n < 1 || n > SIM_MAX_FLOOD) return say(`flood: usage: flood N (1..${SIM_MAX_FLOOD})`);
        return this.emit({ remaining: n, lineNo: 1, lastByte: 0x0a });
      }
      default:
        return say(`sim: ${cmd}: not found`);
    }
  }

  // ---- the line ----

  private startTimer(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.tick(), SIM_TICK_MS);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = performance.now();
    this.pumpReceive(now);
    this.pumpTransmit(now);
    if (this.fifoLen === 0 && this.out.length === 0) this.stopTimer();
  }

  /** The device reads its FIFO at the sender's line rate. */
  private pumpReceive(now: number): void {
    const perMs = this.current.baud / frameBits(this.current) / 1000;
    while (this.fifoLen > 0 && !this.closed) {
      const due = Math.floor((now - this.rxClock) * perMs + 1e-9);
      if (due <= 0) break;
      const n = Math.min(due, this.fifoLen);
      const garbled = this.mismatched;
      for (let i = 0; i < n; i++) {
        const b = this.fifo[this.fifoHead];
        this.fifoHead = (this.fifoHead + 1) % SIM_RX_FIFO;
        this.fifoLen--;
        if (!garbled) this.input(b); // a mismatched line delivers framing errors: ignored
      }
      this.rxClock += n / perMs;
      if (this.wantWritable) {
        this.wantWritable = false;
        this.listener?.writable(); // may refill the FIFO within this tick's budget
      }
    }
  }

  /** The device transmits at its own line rate. */
  private pumpTransmit(now: number): void {
    const perMs = this.deviceLine.baud / frameBits(this.deviceLine) / 1000;
    while (this.out.length > 0 && !this.closed) {
      const due = Math.floor((now - this.txClock) * perMs + 1e-9);
      if (due <= 0) break;
      const chunk = this.pull(Math.min(due, SIM_MAX_DELIVERY));
      if (chunk.length === 0) break;
      this.txClock += chunk.length / perMs;
      if (this.mismatched) this.garble(chunk);
      this.listener?.data(chunk);
    }
  }

  /** Takes up to `max` bytes of pending output. */
  private pull(max: number): Uint8Array {
    const buf = new Uint8Array(max);
    let n = 0;
    while (n < max && this.out.length > 0) {
      const item = this.out[0];
      if (item instanceof Uint8Array) {
        const take = Math.min(max - n, item.length - this.outOffset);
        buf.set(item.subarray(this.outOffset, this.outOffset + take), n);
        n += take;
        this.outOffset += take;
        if (this.outOffset === item.length) {
          this.out.shift();
          this.outOffset = 0;
        }
      } else if (item.remaining > 0) {
        const text = `flood ${String(item.lineNo++).padStart(6, "0")}${FLOOD_TEXT}\r\n`;
        const line = ascii(text.length > item.remaining ? text.slice(0, item.remaining) : text);
        item.remaining -= line.length;
        item.lastByte = line[line.length - 1];
        this.out.unshift(line);
      } else {
        this.out.shift();
        this.out.unshift(ascii(`${item.lastByte === 0x0a ? "" : "\r\n"}${PROMPT}`));
      }
    }
    return n === max ? buf : buf.subarray(0, n);
  }

  private garble(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      let x = this.noise;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.noise = x >>> 0;
      chunk[i] = this.noise & 0xff;
    }
  }
}

export function openSim(options: UartOptions): SimUart {
  return new SimUart(options.name, options.line, options.log);
}
