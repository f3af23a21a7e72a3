// `null`: a device that takes every byte at once and never says anything (for benchmarks).

import type { LineSettings, UartListener } from "../../../modules/console/uart.js";
import { checkLine, type HostUart, type UartOptions } from "./common.js";

export class NullUart implements HostUart {
  readonly description = "null device (discards input)";
  listener: UartListener | null = null;
  /** Bytes taken since open. */
  received = 0;
  /** Break lengths (ms) asked for, oldest first. */
  readonly breaks: number[] = [];
  private current: LineSettings;
  private closed = false;

  constructor(readonly name: string, line: LineSettings) {
    checkLine(line);
    this.current = { ...line };
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get line(): LineSettings {
    return { ...this.current };
  }

  setLine(settings: LineSettings): void {
    checkLine(settings);
    this.current = { ...settings };
  }

  write(bytes: Uint8Array): number {
    if (this.closed) return 0;
    this.received += bytes.length;
    return bytes.length;
  }

  sendBreak(ms: number): void {
    if (!this.closed) this.breaks.push(ms);
  }

  close(): void {
    this.closed = true;
    this.listener = null;
  }
}

export function openNull(options: UartOptions): NullUart {
  return new NullUart(options.name, options.line);
}
