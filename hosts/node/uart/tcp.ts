// `tcp:HOST:PORT`: a raw TCP connection to a ser2net-style serial server (bytes pass untouched; no
// telnet or RFC 2217 negotiation). Lost connections are reported and retried every
// RECONNECT_INTERVAL_MS. Line settings and breaks belong to the server's configuration.

import { connect, type Socket } from "node:net";
import { formatLine, type LineSettings, type UartListener } from "../../../modules/console/uart.js";
import { checkLine, DevicePresence, sameLine, type HostUart, type UartOptions } from "./common.js";

/** How long one connection attempt may take before it counts as failed. */
export const TCP_CONNECT_TIMEOUT_MS = 5000;

/** Parses "tcp:HOST:PORT" ("tcp:[::1]:2000" for IPv6); returns an error message when malformed. */
export function parseTcpSpec(spec: string): { host: string; port: number } | string {
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) return `"${spec}" is not tcp:HOST:PORT`;
  return { host: m[1] ?? m[2], port };
}

export class TcpUart implements HostUart {
  listener: UartListener | null = null;
  private current: LineSettings;
  private socket: Socket | null = null;
  private connected = false;
  private closed = false;
  private blocked = false;
  private owesWritable = false;
  private readonly presence: DevicePresence;

  constructor(readonly name: string, readonly host: string, readonly port: number, line: LineSettings, private readonly log: (l: string) => void) {
    checkLine(line);
    this.current = { ...line };
    this.presence = new DevicePresence(name, log, () => this.listener, () => this.attempt());
  }

  get description(): string {
    return `tcp:${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get isOpen(): boolean {
    return this.connected && !this.closed;
  }

  get line(): LineSettings {
    return { ...this.current };
  }

  start(): Promise<void> {
    return this.presence.start();
  }

  write(bytes: Uint8Array): number {
    if (!this.isOpen || !this.socket || bytes.length === 0) return 0;
    if (this.blocked) {
      this.owesWritable = true;
      return 0;
    }
    if (!this.socket.write(Buffer.from(bytes))) this.blocked = true; // Buffer.from copies
    return bytes.length;
  }

  sendBreak(ms: number): void {
    this.log(`${this.name}: cannot send a ${ms} ms break over raw TCP (${this.description}); the serial server would need RFC 2217`);
  }

  setLine(settings: LineSettings): void {
    checkLine(settings);
    if (sameLine(settings, this.current)) return;
    throw new Error(`${this.description}: line settings are set on the serial server, not over raw TCP (it runs at ${formatLine(this.current)} as configured)`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener = null;
    this.socket?.destroy();
    this.socket = null;
    this.connected = false;
    this.presence.close();
  }

  private attempt(): void {
    if (this.closed) return;
    const socket = connect({ host: this.host, port: this.port });
    this.socket = socket;
    this.blocked = false;
    socket.setTimeout(TCP_CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no connection after ${TCP_CONNECT_TIMEOUT_MS} ms`)));
    let failure = "";
    socket.on("connect", () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true);
      this.connected = true;
      this.presence.present(`connected to ${this.description}`);
      if (this.owesWritable) {
        this.owesWritable = false;
        this.listener?.writable();
      }
    });
    socket.on("data", (d: Buffer) => this.listener?.data(d));
    socket.on("drain", () => {
      if (this.socket !== socket) return;
      this.blocked = false;
      if (this.owesWritable) {
        this.owesWritable = false;
        this.listener?.writable();
      }
    });
    socket.on("error", (e) => (failure = e.message));
    socket.on("close", () => {
      if (this.socket !== socket || this.closed) return;
      const wasConnected = this.connected;
      this.socket = null;
      this.connected = false;
      const detail = wasConnected ? `connection to ${this.description} closed${failure ? `: ${failure}` : ""}` : `cannot connect to ${this.description}${failure ? `: ${failure}` : ""}`;
      this.presence.absent(detail);
    });
  }
}

/** Connects; resolves after the first attempt (a server that is not there is retried). */
export async function openTcp(spec: string, options: UartOptions): Promise<TcpUart> {
  const target = parseTcpSpec(spec);
  if (typeof target === "string") throw new Error(target);
  const port = new TcpUart(options.name, target.host, target.port, options.line, options.log);
  await port.start();
  return port;
}
