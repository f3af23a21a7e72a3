// An in-memory UART for bridge tests: records what it receives, takes bytes only as fast as the test
// lets it (a slow device), records breaks, and emits device output on demand.

import type { LineSettings, UartListener, UartPort } from "../../modules/console/uart.js";
import { DEFAULT_LINE } from "../../modules/console/uart.js";

export class FakeUart implements UartPort {
  listener: UartListener | null = null;
  isOpen = true;
  line: LineSettings = { ...DEFAULT_LINE };
  readonly received: Buffer[] = [];
  receivedBytes = 0;
  readonly breaks: number[] = [];
  /** Bytes the device will still take before the test drains it (Infinity: a fast device). */
  room = Infinity;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly name = "uart0", readonly description = "fake device") {}

  write(bytes: Uint8Array): number {
    if (!this.isOpen) return 0;
    const n = Math.min(bytes.length, this.room);
    if (n > 0) {
      this.received.push(Buffer.from(bytes.subarray(0, n)));
      this.receivedBytes += n;
      if (this.room !== Infinity) this.room -= n;
      this.wake();
    }
    return n;
  }

  sendBreak(ms: number): void {
    this.breaks.push(ms);
    this.wake();
  }

  setLine(settings: LineSettings): void {
    if (settings.dataBits === 5) throw new Error("this device cannot do 5 data bits");
    this.line = { ...settings };
  }

  /** Device output. */
  emit(data: string | Uint8Array): void {
    this.listener?.data(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Makes the device read slowly: `bytes` every `ms`. */
  readSlowly(bytes: number, ms: number): void {
    this.room = bytes;
    this.timer = setInterval(() => {
      this.room = bytes;
      this.listener?.writable();
    }, ms);
    this.timer.unref();
  }

  unplug(): void {
    this.isOpen = false;
    this.listener?.status(false, "unplugged");
  }

  plugIn(): void {
    this.isOpen = true;
    this.listener?.status(true, "plugged in");
  }

  all(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Waits until `predicate` holds, re-checked on every write or break; bounded. */
  async until(predicate: () => boolean, timeoutMs = 10_000, what = "device condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (received ${this.receivedBytes} bytes)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
