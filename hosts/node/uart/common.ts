// Shared bits of the node UART backends.

import { BAUD_RATES, type LineSettings, type UartListener, type UartPort } from "../../../modules/console/uart.js";

/** Options every backend gets from openUart. */
export interface UartOptions {
  /** Port name ("uart0", "router"). */
  name: string;
  /** Line settings to open with (for `sim`, also the device's own fixed settings). */
  line: LineSettings;
  /** One line of log text. */
  log: (line: string) => void;
  /** pty only: a stable symlink to the slave path, created by the relay and removed when it exits. */
  link?: string;
}

/** A port the host owns: close() releases every timer, process and socket it holds. */
export type HostUart = UartPort & { close(): void };

/** How long a backend that lost its device waits between attempts to get it back (serial, tcp). */
export const RECONNECT_INTERVAL_MS = 1000;

export function sameLine(a: LineSettings, b: LineSettings): boolean {
  return a.baud === b.baud && a.dataBits === b.dataBits && a.parity === b.parity && a.stopBits === b.stopBits;
}

/** Throws a descriptive Error when `l` is not a setting any UART here could take. */
export function checkLine(l: LineSettings): void {
  if (!BAUD_RATES.includes(l.baud)) throw new Error(`${l.baud} is not a supported baud rate (one of ${BAUD_RATES.join(", ")})`);
  if (![5, 6, 7, 8].includes(l.dataBits)) throw new Error(`${l.dataBits} data bits: use 5, 6, 7 or 8`);
  if (!["none", "even", "odd"].includes(l.parity)) throw new Error(`parity "${l.parity}": use none, even or odd`);
  if (![1, 2].includes(l.stopBits)) throw new Error(`${l.stopBits} stop bits: use 1 or 2`);
}

/** Bits on the wire per character: start + data + parity + stop. */
export function frameBits(l: LineSettings): number {
  return 1 + l.dataBits + (l.parity === "none" ? 0 : 1) + l.stopBits;
}

/** A device that may come and go (a serial device, a TCP serial server): tells the listener when it
 * goes away or comes back (not before the first attempt has ended: that one is only logged), logs a
 * loss once, retries every RECONNECT_INTERVAL_MS, and settles the promise of the first attempt. */
export class DevicePresence {
  private reported: boolean | null = null;
  private first: (() => void) | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly log: (line: string) => void,
    private readonly listener: () => UartListener | null,
    private readonly attempt: () => void,
  ) {}

  /** Makes the first attempt; resolves once it has succeeded or failed. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.first = resolve;
      this.attempt();
    });
  }

  present(detail: string): void {
    this.log(`${this.name}: ${detail}`);
    const was = this.reported;
    this.reported = true;
    this.settle();
    if (was === false) this.listener()?.status(true, detail);
  }

  absent(detail: string): void {
    const was = this.reported;
    this.reported = false;
    if (was !== false) this.log(`${this.name}: ${detail}; trying again every ${RECONNECT_INTERVAL_MS} ms`);
    this.settle();
    if (was === true) this.listener()?.status(false, detail);
    if (!this.closed && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.closed) this.attempt();
      }, RECONNECT_INTERVAL_MS);
      this.retryTimer.unref();
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.settle();
  }

  private settle(): void {
    const f = this.first;
    this.first = null;
    f?.();
  }
}
