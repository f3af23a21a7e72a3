// "embedded:io/serial" as Moddable SDK 8.2.3 implements it on ESP32 (modules/io/serial/esp32/serial.c):
// straight onto the UART's 128-byte hardware FIFOs, 8N1, no flow control, no ESP-IDF driver.
//
// The hardware (class Uart, one per port, outliving Serial objects as the peripheral does):
// - transmit FIFO of 128 bytes, drained onto the line at baud/10 bytes per second (times the test's
//   speedup); the line is a TCP connection to the test, which plays the device (ESP32_SIM_UART_WIRE).
// - receive: the device's bytes travel at the same rate into a 128-byte receive FIFO; bytes that
//   find it full are lost (counted as overruns), as on the chip when software is late.
// - interrupts: TX-FIFO-empty when fewer than 10 bytes are left (kTransmitTreshold), armed by the
//   constructor and again by the first write after it fired; RX-FIFO-full at 96 bytes (the chip's
//   reset threshold, which serial.c leaves alone) and RX timeout after 4 idle symbols (serial.c:
//   uart_set_rx_timeout(uart, 4)). Each disables itself and posts one message (serialDeliver):
//   onReadable(bytes in the receive FIFO) then onWritable(free room in the transmit FIFO).
// The API (class Serial): write(buffer) is all or nothing, Error("output full") when the FIFO lacks
// room; read(buffer) copies up to buffer's length and returns the count, undefined when the FIFO is
// empty; read() returns an ArrayBuffer of everything waiting. Time is evaluated on every call, so
// the FIFOs move while JavaScript runs, as hardware does, and overflow when a turn takes too long.

import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { bufferBytes, freePin, gpioOwned, isPinFree, onCommand, post, report, settings, toPin, uartTxPins, usePin } from "./board.js";

const FIFO = 128;
const TX_EMPTY_THRESHOLD = 10;
const RX_FULL_THRESHOLD = 96;
const RX_TIMEOUT_SYMBOLS = 4;
/** UART_NUM_MAX on the ESP32 (UART0..2). */
const UART_NUM_MAX = 3;
/** How often the hardware is looked at while something moves (ms). */
const TICK_MS = 1;

class Ring {
  private readonly buf = new Uint8Array(FIFO);
  private head = 0;
  length = 0;
  get free(): number {
    return FIFO - this.length;
  }
  push(b: number): boolean {
    if (this.length === FIFO) return false;
    this.buf[(this.head + this.length) % FIFO] = b;
    this.length++;
    return true;
  }
  shift(): number {
    const b = this.buf[this.head];
    this.head = (this.head + 1) % FIFO;
    this.length--;
    return b;
  }
  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}

/** The serial record serial.c keeps for an open port (what the ISR posts to). */
interface SerialRecord {
  onReadable: ((bytes: number) => void) | null;
  onWritable: ((bytes: number) => void) | null;
  isReadable: boolean;
  isWritable: boolean;
  txInterruptEnabled: boolean;
  live: boolean;
}

class Uart {
  baud = 115200;
  readonly tx = new Ring();
  readonly rx = new Ring();
  /** The device's bytes on their way (on the wire, not yet in the receive FIFO). */
  private readonly line: Uint8Array[] = [];
  private lineBytes = 0;
  /** When the byte now leaving the transmit FIFO is out (ms, performance.now()). */
  private txDone = 0;
  /** When the byte now arriving completes. */
  private rxDone = 0;
  private lastRxAt = -Infinity;
  private timeoutFiredFor = -Infinity;
  txIntr = false;
  rxIntr = false;
  record: SerialRecord | null = null;
  overruns = 0;
  bytesOut = 0;
  bytesIn = 0;
  transmitPin = -1;
  private wire: Socket | null = null;
  private tick: NodeJS.Timeout | null = null;
  private outBatch: number[] = [];
  /** Device side's baud rate (the test sets it); a mismatch garbles both ways. */
  deviceBaud: number | null = null;

  constructor(readonly port: number) {}

  private get msPerByte(): number {
    return 10_000 / this.baud / settings.uartSpeedup;
  }

  attachWire(): void {
    if (this.wire || settings.uartWire === null) return;
    const wire = connect(settings.uartWire, "127.0.0.1");
    wire.setNoDelay(true);
    wire.on("data", (d: Buffer) => {
      this.update();
      if (this.lineBytes === 0) this.rxDone = performance.now() + this.msPerByte;
      this.line.push(new Uint8Array(d));
      this.lineBytes += d.length;
      this.schedule();
    });
    wire.on("error", () => {});
    this.wire = wire;
  }

  private garbled(): boolean {
    return this.deviceBaud !== null && this.deviceBaud !== this.baud;
  }

  /** Moves time forward to now: bytes out of the transmit FIFO, into the receive FIFO; interrupts. */
  update(): void {
    const now = performance.now();
    const per = this.msPerByte;
    while (this.tx.length > 0 && this.txDone <= now) {
      const b = this.tx.shift();
      this.bytesOut++;
      // A TX pin taken over as a GPIO (a break) carries nothing from the UART.
      if (!gpioOwned.has(this.transmitPin)) this.outBatch.push(this.garbled() ? (b ^ 0x5a) | 0x80 : b);
      this.txDone += per;
    }
    if (this.outBatch.length > 0) {
      this.wire?.write(Uint8Array.from(this.outBatch));
      this.outBatch = [];
    }
    while (this.lineBytes > 0 && this.rxDone <= now) {
      const chunk = this.line[0];
      let b = chunk[0];
      if (chunk.length === 1) this.line.shift();
      else this.line[0] = chunk.subarray(1);
      this.lineBytes--;
      if (this.garbled()) b = (b ^ 0x5a) | 0x80;
      if (this.rx.push(b)) this.bytesIn++;
      else this.overruns++;
      this.lastRxAt = this.rxDone;
      this.rxDone += per;
    }
    this.interrupts(now);
  }

  private interrupts(now: number): void {
    const r = this.record;
    if (!r || !r.live) return;
    let postIt = false;
    if (this.txIntr && r.onWritable && this.tx.length < TX_EMPTY_THRESHOLD) {
      postIt ||= !r.isWritable;
      r.isWritable = true;
      r.txInterruptEnabled = false;
      this.txIntr = false;
    }
    const timedOut = this.rx.length > 0 && this.lineBytes === 0 && now - this.lastRxAt >= RX_TIMEOUT_SYMBOLS * this.msPerByte && this.timeoutFiredFor !== this.lastRxAt;
    if (this.rxIntr && r.onReadable && (this.rx.length >= RX_FULL_THRESHOLD || timedOut)) {
      if (timedOut) this.timeoutFiredFor = this.lastRxAt;
      postIt ||= !r.isReadable;
      r.isReadable = true;
      this.rxIntr = false;
    }
    if (postIt) post(() => this.deliver(r));
  }

  /** serialDeliver */
  private deliver(r: SerialRecord): void {
    if (!r.live) return;
    this.update();
    if (r.isReadable) {
      r.isReadable = false;
      const count = this.rx.length;
      if (count) r.onReadable!(count);
      if (r.live) this.rxIntr = true;
    }
    if (r.isWritable && r.live) {
      r.isWritable = false;
      const count = this.tx.free;
      if (count) r.onWritable!(count);
    }
    this.schedule();
  }

  /** Keeps the hardware moving while anything is in flight or an interrupt may be due. */
  schedule(): void {
    if (this.tick) return;
    const timeoutDue = this.rxIntr && this.rx.length > 0 && this.timeoutFiredFor !== this.lastRxAt;
    const busy = this.tx.length > 0 || this.lineBytes > 0 || timeoutDue || (this.txIntr && this.record?.onWritable);
    if (!busy) return;
    this.tick = setTimeout(() => {
      this.tick = null;
      this.update();
      this.schedule();
    }, TICK_MS);
  }

  /** The transmit FIFO takes bytes (uart_ll_write_txfifo). */
  transmit(bytes: Uint8Array): void {
    const now = performance.now();
    if (this.tx.length === 0) this.txDone = now + this.msPerByte;
    for (const b of bytes) this.tx.push(b);
    this.schedule();
  }
}

const uarts = new Map<number, Uart>();

function uart(port: number): Uart {
  let u = uarts.get(port);
  if (!u) {
    u = new Uart(port);
    uarts.set(port, u);
  }
  return u;
}

/** The device side (test): its baud rate, for the line-settings check; the counters. */
onCommand("uart", (m) => {
  const u = uart(Number(m.port ?? 2));
  if (typeof m.deviceBaud === "number") u.deviceBaud = m.deviceBaud;
  u.update();
  return { baud: u.baud, overruns: u.overruns, bytesOut: u.bytesOut, bytesIn: u.bytesIn, open: !!u.record?.live, txFifo: u.tx.length, rxFifo: u.rx.length };
});

interface SerialOptions {
  port?: number;
  receive?: number;
  transmit?: number;
  baud: number;
  onReadable?: (this: Serial, bytes: number) => void;
  onWritable?: (this: Serial, bytes: number) => void;
  format?: string;
  target?: unknown;
}

export default class Serial {
  #uart: Uart | null;
  #record: SerialRecord;
  #format: "buffer" | "number";
  #transmit: number | null = null;
  #receive: number | null = null;
  target: unknown;

  constructor(options: SerialOptions) {
    let transmit: number | null = null;
    let receive: number | null = null;
    if ("transmit" in options) {
      transmit = toPin(options.transmit);
      if (!isPinFree(transmit)) throw new Error("in use");
    }
    if ("receive" in options) {
      receive = toPin(options.receive);
      if (!isPinFree(receive)) throw new Error("in use");
    } else if (transmit === null) throw new Error("invalid");
    let port = 0;
    if ("port" in options) {
      port = Math.trunc(Number(options.port));
      if (!(port >= 0 && port < UART_NUM_MAX)) throw new RangeError("invalid port");
    }
    const baud = Math.trunc(Number(options.baud));
    if (!(baud > 0 && baud <= 20_000_000)) throw new RangeError("invalid baud");
    const onReadable = typeof options.onReadable === "function" ? options.onReadable : null;
    const onWritable = typeof options.onWritable === "function" ? options.onWritable : null;
    if ("target" in options) this.target = options.target;
    const format = options.format ?? "buffer";
    if (format !== "buffer" && format !== "number") throw new RangeError("invalid format");
    this.#format = format;
    const hasReadable = receive !== null && onReadable !== null;
    const hasWritable = transmit !== null && onWritable !== null;
    const u = uart(port);
    if ((hasReadable || hasWritable) && u.record?.live && (u.record.onReadable || u.record.onWritable)) {
      // esp_intr_alloc for a UART interrupt source that already has a handler
      throw new Error("uart_isr_register failed");
    }
    u.baud = baud;
    if (transmit !== null) {
      u.transmitPin = transmit;
      uartTxPins.set(transmit, port);
    }
    u.attachWire();
    u.update();
    this.#record = {
      onReadable: hasReadable ? (bytes) => onReadable!.call(this, bytes) : null,
      onWritable: hasWritable ? (bytes) => onWritable!.call(this, bytes) : null,
      isReadable: false,
      isWritable: false,
      txInterruptEnabled: hasWritable,
      live: true,
    };
    u.record = this.#record;
    u.rxIntr = hasReadable;
    u.txIntr = hasWritable;
    this.#uart = u;
    this.#transmit = transmit;
    this.#receive = receive;
    if (transmit !== null) usePin(transmit);
    if (receive !== null) usePin(receive);
    report({ type: "uart-open", port, baud });
    u.update();
    u.schedule();
  }

  #live(): Uart {
    if (!this.#uart) throw new Error("closed");
    return this.#uart;
  }

  get format(): string {
    return this.#format;
  }

  set format(value: string) {
    if (value !== "buffer" && value !== "number") throw new RangeError("unimplemented");
    this.#format = value;
  }

  read(...args: unknown[]): number | ArrayBuffer | undefined {
    const u = this.#live();
    u.update();
    const available = u.rx.length;
    if (available === 0) return undefined;
    let result: number | ArrayBuffer;
    if (this.#format === "number") result = u.rx.shift();
    else {
      let out: Uint8Array;
      let requested: number;
      if (args.length === 0) {
        requested = available;
        out = new Uint8Array(requested);
        result = out.buffer as ArrayBuffer;
      } else if (typeof args[0] === "object" && args[0] !== null) {
        out = bufferBytes(args[0]);
        requested = Math.min(out.length, available);
        result = requested;
      } else {
        requested = Math.trunc(Number(args[0])) || 0;
        if (requested > available) throw new Error("sim: Serial.read(count) beyond the FIFO (reads stale FIFO bytes on the board)");
        out = new Uint8Array(requested > 0 ? requested : 0);
        result = out.buffer as ArrayBuffer;
      }
      if (requested <= 0) throw new Error("invalid");
      for (let i = 0; i < requested; i++) out[i] = u.rx.shift();
    }
    if (this.#record.onReadable) u.rxIntr = true;
    u.schedule();
    return result;
  }

  write(value: unknown): void {
    const u = this.#live();
    u.update();
    const count = u.tx.free;
    if (this.#format === "number") {
      if (count === 0) throw new Error("output full");
      u.transmit(Uint8Array.of(Math.trunc(Number(value)) & 0xff));
    } else {
      const bytes = bufferBytes(value);
      if (bytes.length > count) throw new Error("output full");
      u.transmit(bytes);
    }
    const r = this.#record;
    if (r.onWritable && !r.txInterruptEnabled) {
      r.txInterruptEnabled = true;
      u.txIntr = true;
    }
    u.update();
    u.schedule();
  }

  close(): void {
    const u = this.#uart;
    if (!u) return;
    this.#uart = null;
    this.#record.live = false;
    if (u.record === this.#record) {
      u.record = null;
      u.txIntr = false;
      u.rxIntr = false;
    }
    if (this.#transmit !== null) freePin(this.#transmit);
    if (this.#receive !== null) freePin(this.#receive);
    report({ type: "uart-close", port: u.port });
  }
}
