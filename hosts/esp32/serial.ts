// The bridged UART over Moddable's ECMA-419 serial (embedded:io/serial, Moddable SDK 8.2.3).
//
// The ESP32 implementation talks to the UART's 128-byte hardware FIFOs directly (no ESP-IDF driver
// ring buffers), always 8N1, without hardware flow control:
// - receive: onReadable(n) -> read the FIFO into one reusable buffer -> listener.data(). At 115200
//   baud the FIFO fills in ~11 ms, so any JavaScript turn longer than that (a flash erase during an
//   upload, a key exchange) can drop received bytes; see README.md, "ESP32 firmware".
// - transmit: write() is all-or-nothing ("output full" when the FIFO lacks room). We keep the room
//   onWritable(n) last reported, write at most that, and report how many bytes were taken; when
//   fewer than offered, the SDK's TX-empty interrupt calls onWritable and we pass it on as
//   listener.writable().
// - line settings: the constructor alone sets the baud rate, so setLine() closes and reopens the
//   port; any format but 8N1 is refused with an Error.
// - break: the SDK has no break; if a later SDK's Serial has set({break}), it is used; otherwise we
//   release the TX pin, hold it low as a digital output for the break, and reopen the UART.

import Digital from "embedded:io/digital";
import Serial from "embedded:io/serial";
import Timer from "timer";
import { formatLine, type LineSettings, type UartListener, type UartPort } from "../../modules/console/uart.js";

/** The FIFO size: the most one read or write can move. */
export const UART_FIFO = 128;
/** Retry delay after a write the FIFO refused although our count said it had room. */
const WRITE_RETRY_MS = 5;

export interface Esp32UartOptions {
  name: string;
  port: number;
  transmit: number;
  receive: number;
  baud: number;
  log(line: string): void;
}

export class Esp32Uart implements UartPort {
  readonly name: string;
  readonly description: string;
  listener: UartListener | null = null;
  private serial: Serial | null = null;
  private settings: LineSettings;
  /** Free room in the transmit FIFO as of the last onWritable, minus what we wrote since. */
  private room = 0;
  /** True after write() took fewer bytes than offered: the listener wants writable(). */
  private wanted = false;
  private readonly buffer = new Uint8Array(UART_FIFO);
  private breaking = false;
  private retry: Timer | null = null;

  constructor(private readonly options: Esp32UartOptions) {
    this.name = options.name;
    this.description = `ESP32 UART${options.port} (TX GPIO${options.transmit}, RX GPIO${options.receive}, 3.3 V)`;
    this.settings = { baud: options.baud, dataBits: 8, parity: "none", stopBits: 1 };
    this.open();
  }

  get isOpen(): boolean {
    return this.serial !== null;
  }

  get line(): LineSettings {
    return { ...this.settings };
  }

  private open(): void {
    this.serial = new Serial({
      port: this.options.port,
      transmit: this.options.transmit,
      receive: this.options.receive,
      baud: this.settings.baud,
      format: "buffer",
      onReadable: (bytes) => this.readable(bytes),
      onWritable: (bytes) => this.writableNow(bytes),
    });
    this.room = 0; // onWritable follows at once with the real figure
  }

  private closePort(): void {
    const s = this.serial;
    this.serial = null;
    this.room = 0;
    if (s) s.close();
  }

  private readable(bytes: number): void {
    // Drain the FIFO now: it is all the buffering there is.
    while (bytes > 0 && this.serial) {
      const n = this.serial.read(this.buffer);
      if (!n) break;
      bytes -= n;
      this.listener?.data(n === UART_FIFO ? this.buffer : this.buffer.subarray(0, n));
    }
  }

  private writableNow(bytes: number): void {
    this.room = bytes;
    if (this.wanted) {
      this.wanted = false;
      this.listener?.writable();
    }
  }

  write(bytes: Uint8Array): number {
    if (!this.serial || this.breaking) {
      this.wanted = true;
      return 0;
    }
    const n = Math.min(bytes.length, this.room);
    if (n > 0) {
      try {
        this.serial.write(n === bytes.length ? bytes : bytes.subarray(0, n));
        this.room -= n;
      } catch {
        // "output full": our count was stale. The SDK only arms its TX interrupt after a write that
        // succeeded, so poll once shortly instead of waiting for an onWritable that may not come.
        this.room = 0;
        this.wanted = true;
        this.scheduleRetry();
        return 0;
      }
    }
    if (n < bytes.length) this.wanted = true;
    return n;
  }

  private scheduleRetry(): void {
    if (this.retry) return;
    this.retry = Timer.set(() => {
      this.retry = null;
      this.room = 1; // try one byte's worth; a successful write re-arms the TX interrupt
      if (this.wanted) {
        this.wanted = false;
        this.listener?.writable();
      }
    }, WRITE_RETRY_MS);
  }

  sendBreak(ms: number): void {
    if (!this.serial || this.breaking) return;
    const withSet = this.serial as unknown as { set?: (options: { break: boolean }) => void };
    if (typeof withSet.set === "function") {
      // A Serial that implements ECMA-419's set({break}) (not the ESP32 one of SDK 8.2.3).
      withSet.set({ break: true });
      this.breaking = true;
      Timer.set(() => {
        this.breaking = false;
        withSet.set!({ break: false });
        this.afterBreak();
      }, ms);
      return;
    }
    // Hold TX low ourselves: release the UART (its pins return to GPIO), drive TX as an output at 0,
    // then reopen. Bytes still in the transmit FIFO and anything received meanwhile are lost.
    let pin: Digital | null = null;
    try {
      this.closePort();
      pin = new Digital({ pin: this.options.transmit, mode: Digital.Output });
      pin.write(0);
    } catch (e) {
      this.options.log(`${this.name}: break not supported here (${(e as Error).message})`);
      pin?.close();
      if (!this.serial) this.open();
      return;
    }
    this.breaking = true;
    Timer.set(() => {
      pin!.close();
      this.breaking = false;
      this.open();
      this.afterBreak();
    }, ms);
  }

  private afterBreak(): void {
    if (this.wanted) {
      this.wanted = false;
      this.listener?.writable();
    }
  }

  setLine(settings: LineSettings): void {
    if (settings.dataBits !== 8 || settings.parity !== "none" || settings.stopBits !== 1) {
      throw new Error(`${formatLine(settings).split(" ")[1]} is not available: the ESP32 serial of the Moddable SDK does 8N1 only`);
    }
    if (settings.baud === this.settings.baud) return;
    const before = this.settings;
    this.settings = { ...settings };
    this.closePort();
    try {
      this.open();
    } catch (e) {
      this.settings = before;
      this.open();
      throw new Error(`${settings.baud} baud refused by the UART: ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.retry) Timer.clear(this.retry);
    this.retry = null;
    this.closePort();
  }
}
