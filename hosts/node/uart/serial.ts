// A serial device (/dev/ttyUSB0, /dev/ttyACM0, any tty) through the `serialport` package (its
// prebuilt binaries load without install scripts). A device that disappears (USB unplugged) is
// reported through status(false, …) and opened again every RECONNECT_INTERVAL_MS until it is back.
//
// serialport reports a device that went away ('close' with an error) only when its read loop is
// waiting in poll() at the moment of the hangup. A read that starts after the hangup returns 0 bytes
// (a hung-up tty reads as end of file), which @serialport/bindings-cpp retries at once, forever,
// without any event: the loss would never be seen. So every SERIAL_PRESENCE_CHECK_MS an open port
// also gets a zero-length write on its file descriptor: on a hung-up tty that fails with EIO (no
// bytes move on a live one), and the device counts as gone.

import { write as fsWrite } from "node:fs";
import type { SerialPort } from "serialport";
import { formatLine, type LineSettings, type UartListener } from "../../../modules/console/uart.js";
import { checkLine, DevicePresence, sameLine, type HostUart, type UartOptions } from "./common.js";

/** How often an open device is checked for having been hung up, besides serialport's 'close'. */
export const SERIAL_PRESENCE_CHECK_MS = 1000;
/** What a zero-length write on the device's descriptor fails with once the device is gone. */
const GONE_CODES: readonly string[] = ["EIO", "ENXIO", "ENODEV"];
const NO_BYTES = Buffer.alloc(0);

/** serialport's descriptor of an open port (its Linux/macOS binding keeps it in `fd`), or null. */
function descriptorOf(port: SerialPort): number | null {
  const fd = (port.port as { fd?: unknown } | undefined)?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : null;
}

export class SerialUart implements HostUart {
  listener: UartListener | null = null;
  private current: LineSettings;
  private port: SerialPort | null = null;
  /** Closing on purpose to reopen with new frame settings: the device counts as present. */
  private reopening = false;
  private closed = false;
  /** port.write() said "full": write() takes nothing until 'drain'. */
  private blocked = false;
  private owesWritable = false;
  private readonly breakTimers = new Set<NodeJS.Timeout>();
  private readonly presence: DevicePresence;
  /** Runs the presence check while a port is open. */
  private checkTimer: NodeJS.Timeout | null = null;
  /** A presence check is in flight (at most one at a time). */
  private checking = false;

  constructor(
    readonly name: string,
    readonly path: string,
    line: LineSettings,
    private readonly log: (l: string) => void,
    private readonly SerialPortClass: typeof SerialPort,
  ) {
    checkLine(line);
    this.current = { ...line };
    this.presence = new DevicePresence(name, log, () => this.listener, () => this.attempt());
  }

  get description(): string {
    return this.path;
  }

  get isOpen(): boolean {
    return !this.closed && (this.port !== null || this.reopening);
  }

  get line(): LineSettings {
    return { ...this.current };
  }

  /** First attempt to open; resolves when it has succeeded or failed (failures keep retrying). */
  start(): Promise<void> {
    return this.presence.start();
  }

  write(bytes: Uint8Array): number {
    if (this.closed || bytes.length === 0) return 0;
    if (!this.port || this.blocked) {
      this.owesWritable = true;
      return 0;
    }
    if (!this.port.write(Buffer.from(bytes))) this.blocked = true; // Buffer.from copies
    return bytes.length;
  }

  sendBreak(ms: number): void {
    const port = this.port;
    if (!port) {
      this.log(`${this.name}: no break sent: ${this.path} is not open`);
      return;
    }
    port.set({ brk: true }, (err) => {
      if (err) {
        this.log(`${this.name}: cannot send a break on ${this.path}: ${err.message}`);
        return;
      }
      const t = setTimeout(() => {
        this.breakTimers.delete(t);
        if (this.port === port) port.set({ brk: false }, (e) => e && this.log(`${this.name}: ending the break on ${this.path}: ${e.message}`));
      }, Math.max(0, ms));
      this.breakTimers.add(t);
    });
  }

  setLine(settings: LineSettings): void {
    checkLine(settings);
    if (this.closed) throw new Error(`${this.path} is closed`);
    const before = this.current;
    if (sameLine(before, settings)) return;
    this.current = { ...settings };
    const port = this.port;
    if (!port) return; // absent or reopening: the next open uses the new settings
    if (before.dataBits === settings.dataBits && before.parity === settings.parity && before.stopBits === settings.stopBits) {
      // serialport changes only the baud rate on an open port.
      port.update({ baudRate: settings.baud }, (err) => err && this.log(`${this.name}: setting ${this.path} to ${settings.baud} baud failed: ${err.message}`));
      this.log(`${this.name}: ${this.path} set to ${formatLine(settings)}`);
      return;
    }
    // Frame format: close and open again with the new settings.
    this.log(`${this.name}: reopening ${this.path} as ${formatLine(settings)}`);
    this.reopening = true;
    this.detach();
    port.close(() => {
      this.reopening = false;
      if (!this.closed) this.attempt();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener = null;
    for (const t of this.breakTimers) clearTimeout(t);
    this.breakTimers.clear();
    const port = this.detach();
    if (port?.isOpen) port.close(() => {});
    this.presence.close();
  }

  private attempt(): void {
    if (this.closed) return;
    let port: SerialPort;
    try {
      const l = this.current;
      port = new this.SerialPortClass({ path: this.path, baudRate: l.baud, dataBits: l.dataBits, parity: l.parity, stopBits: l.stopBits, autoOpen: false });
    } catch (e) {
      this.absent(`cannot open ${this.path}: ${(e as Error).message}`);
      return;
    }
    port.on("error", (e) => {
      if (!this.closed) this.log(`${this.name}: ${this.path}: ${e.message}`);
    });
    port.open((err) => {
      if (this.closed) {
        if (!err) port.close(() => {});
        return;
      }
      if (err) {
        this.absent(`cannot open ${this.path}: ${err.message}`);
        return;
      }
      this.port = port;
      this.blocked = false;
      this.checkTimer = setInterval(() => this.check(port), SERIAL_PRESENCE_CHECK_MS);
      this.checkTimer.unref();
      port.on("data", (d: Buffer) => this.listener?.data(d));
      port.on("drain", () => {
        if (this.port !== port) return;
        this.blocked = false;
        this.wake();
      });
      port.on("close", (e: Error | null) => {
        if (this.port !== port || this.closed) return; // closed on purpose
        this.lost(port, `${this.path} went away${e ? `: ${e.message}` : ""}`);
      });
      this.present(`${this.path} open at ${formatLine(this.current)}`);
    });
  }

  /** Forgets the current port (and stops checking it); returns it. */
  private detach(): SerialPort | null {
    const port = this.port;
    this.port = null;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    return port;
  }

  /** The device behind `port` is gone: report it and close the port (which ends serialport's reads). */
  private lost(port: SerialPort, detail: string): void {
    if (this.port !== port || this.closed) return;
    this.detach();
    if (port.isOpen) port.close(() => {});
    this.absent(detail);
  }

  /** The second signal of a lost device: a zero-length write fails on a hung-up tty. */
  private check(port: SerialPort): void {
    if (this.port !== port || this.checking) return;
    const fd = descriptorOf(port);
    if (fd === null) return;
    this.checking = true;
    // Moves no bytes, so it cannot disturb serialport's own writes (even if the descriptor were
    // closed and reused meanwhile); EAGAIN (a write in progress) and the like mean "not known".
    fsWrite(fd, NO_BYTES, 0, 0, null, (err) => {
      this.checking = false;
      if (err?.code && GONE_CODES.includes(err.code)) this.lost(port, `${this.path} went away: ${err.message}`);
    });
  }

  private present(detail: string): void {
    this.presence.present(detail);
    this.wake();
  }

  private absent(detail: string): void {
    this.presence.absent(detail);
  }

  private wake(): void {
    if (this.owesWritable && this.port && !this.blocked) {
      this.owesWritable = false;
      this.listener?.writable();
    }
  }
}

/** Opens a serial device; resolves after the first attempt (a missing device is retried). */
export async function openSerial(path: string, options: UartOptions): Promise<SerialUart> {
  // Loaded on first use: its native binary is needed only for serial devices.
  let mod: typeof import("serialport");
  try {
    mod = await import("serialport");
  } catch (e) {
    throw new Error(`${options.name}: cannot load the serialport package for ${path}: ${(e as Error).message}`);
  }
  const port = new SerialUart(options.name, path, options.line, options.log, mod.SerialPort);
  await port.start();
  return port;
}
