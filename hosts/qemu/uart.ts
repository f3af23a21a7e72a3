// The bridged UART of the QEMU firmware: the virt machine's ns16550 through nativeUart
// (hosts/qemu/firmware/xs_uart.c), as the serial console's UartPort. On the host it is QEMU's first
// -serial: `npm run qemu -- --uart pty` makes it a pseudo-terminal where a program plays the device.
//
// Transmit: write() fills the 16-byte FIFO while the chip reports it empty (THRE) and says how many
// bytes it took; writable() follows when the FIFO empties. Receive: the C poller keeps a 512-byte
// ring; readable(count) moves it out RECEIVE_PIECE bytes at a time to the listener. QEMU holds
// input back while the FIFO is full, so nothing typed is lost however slow the console is.

import { formatLine, DEFAULT_LINE, type LineSettings, type UartListener, type UartPort } from "../../modules/console/uart.js";
import type { NativeUart } from "./natives.js";

const RECEIVE_PIECE = 256;
/** A break longer than this is cut short (the core asks for at most 3 s). */
const MAX_BREAK_MS = 3000;

export class QemuUart implements UartPort {
  readonly name: string;
  readonly description = "QEMU virt ns16550 (the -serial chardev)";
  listener: UartListener | null = null;
  readonly isOpen = true;
  private settings: LineSettings = { ...DEFAULT_LINE };
  private readonly buffer = new Uint8Array(RECEIVE_PIECE);
  private breakTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly uart: NativeUart, name = "uart0") {
    this.name = name;
    uart.open({ readable: (count) => this.readable(count), writable: () => this.listener?.writable() });
    this.setLine(this.settings);
  }

  get line(): LineSettings {
    return { ...this.settings };
  }

  private readable(count: number): void {
    while (count > 0) {
      const n = this.uart.read(this.buffer);
      if (n <= 0) return;
      count -= n;
      if (this.listener) this.listener.data(this.buffer.subarray(0, n));
    }
  }

  write(bytes: Uint8Array): number {
    return bytes.length === 0 ? 0 : this.uart.write(bytes);
  }

  sendBreak(ms: number): void {
    if (this.breakTimer) clearTimeout(this.breakTimer);
    this.uart.setBreak(true);
    this.breakTimer = setTimeout(() => {
      this.breakTimer = null;
      this.uart.setBreak(false);
    }, Math.min(Math.max(ms, 1), MAX_BREAK_MS));
  }

  setLine(settings: LineSettings): void {
    const parity = settings.parity === "none" ? 0 : settings.parity === "odd" ? 1 : 2;
    this.uart.setLine(settings.baud, settings.dataBits, parity, settings.stopBits);
    this.settings = { ...settings };
  }

  toString(): string {
    return `${this.name} ${formatLine(this.settings)}`;
  }
}
