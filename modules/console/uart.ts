// The UART as the core sees it. Hosts implement UartPort over their hardware or a stand-in (a
// simulated device, a pseudo-terminal, a serial device, a TCP serial server); the bridge
// (bridge.ts) is its only user.

/** Line settings (the subset ECMA-419 serial and Linux termios both express). */
export interface LineSettings {
  baud: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: "none" | "even" | "odd";
  stopBits: 1 | 2;
}

export const DEFAULT_LINE: Readonly<LineSettings> = Object.freeze({ baud: 115200, dataBits: 8, parity: "none", stopBits: 1 });

/** Baud rates we accept: the standard ones up to 4 Mbit/s. */
export const BAUD_RATES: readonly number[] = Object.freeze([300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1500000, 2000000, 3000000, 4000000]);

/** What the port tells its listener (the bridge). */
export interface UartListener {
  /** Bytes received from the device: a view valid during the call. */
  data(bytes: Uint8Array): void;
  /** The port can take bytes again after write() took fewer than offered. */
  writable(): void;
  /** The device went away (USB unplugged, TCP server gone) or came back. */
  status(open: boolean, detail: string): void;
}

export interface UartPort {
  /** Name used in config, `stty`, `info` and as the login user name ("uart0", "router"). */
  readonly name: string;
  /** Short description of the backend ("simulated device", "/dev/ttyUSB0", "pty /dev/pts/3"). */
  readonly description: string;
  listener: UartListener | null;
  /** True while the device is present. */
  readonly isOpen: boolean;
  /** Offers bytes to transmit; returns how many were taken (0 when the transmit buffer is full or the
   * device is absent). When fewer than offered were taken, writable() follows once there is room. */
  write(bytes: Uint8Array): number;
  /** Holds the line in the break condition for `ms` milliseconds. */
  sendBreak(ms: number): void;
  /** Current line settings. */
  readonly line: LineSettings;
  /** Applies line settings; throws an Error whose message says why when the port cannot. */
  setLine(settings: LineSettings): void;
}

/** Formats settings as "115200 8N1". */
export function formatLine(l: LineSettings): string {
  return `${l.baud} ${l.dataBits}${l.parity[0].toUpperCase()}${l.stopBits}`;
}

/** Parses a baud rate; returns an error message for anything not in BAUD_RATES. */
export function parseBaud(text: string): number | string {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !BAUD_RATES.includes(n)) return `"${text}" is not a supported baud rate (one of ${BAUD_RATES.join(", ")})`;
  return n;
}

/** Parses a frame format such as 8N1, 7E1, 8O2; returns an error message when malformed. */
export function parseFormat(text: string): Pick<LineSettings, "dataBits" | "parity" | "stopBits"> | string {
  const m = /^([5-8])([NEOneo])([12])$/.exec(text);
  if (!m) return `"${text}" is not a frame format like 8N1, 7E1 or 8O2`;
  const parity = ({ n: "none", e: "even", o: "odd" } as const)[m[2].toLowerCase() as "n" | "e" | "o"];
  return { dataBits: Number(m[1]) as 5 | 6 | 7 | 8, parity, stopBits: Number(m[3]) as 1 | 2 };
}
