// "embedded:io/socket/listener" as Moddable SDK 8.2.3 implements it on ESP32 (modules/io/socket/lwip/
// listener.js + tcp.c): new Listener({port, onReadable}); onReadable(n) with the number of pending
// connections (one message for however many arrived meanwhile); read() gives the oldest as a TCP
// object without callbacks (pass it to new TCP({from})) or undefined. Until then the connection's
// input waits (listenerReceive refuses it).
//
// The board's port is the device's port (22); on this machine the socket listens on 127.0.0.1 at the
// port ESP32_SIM_PORT_MAP gives (default: any free one), like a router forwarding to the board. The
// test learns it from a {type: "listening"} event. With ESP32_SIM_LINK_CHECK a connection arriving
// while the board has no interface up (no station address, no access point) is reset.

import { createServer, type Server } from "node:net";
import { links, post, report, settings } from "./board.js";
import TCP, { Pcb, adoptPending } from "./tcp.js";

export default class Listener {
  readonly #server: Server;
  readonly #pending: Pcb[] = [];
  #port: number;
  #onReadable: ((this: Listener, requests: number) => void) | null;
  #triggered = false;
  #closed = false;
  target: unknown;

  constructor(options: { port?: number; onReadable?: (this: Listener, requests: number) => void; format?: string; target?: unknown }) {
    let port = 0;
    if (options && "port" in options) {
      port = Math.trunc(Number(options.port));
      if (!(port >= 0 && port <= 65535)) throw new RangeError("invalid port");
    }
    if (options?.format !== undefined && options.format !== "socket/tcp") throw new RangeError("unimplemented");
    this.#onReadable = typeof options?.onReadable === "function" ? options.onReadable : null;
    if (options && "target" in options) this.target = options.target;
    this.#port = port;
    const hostPort = settings.portMap[String(port)] ?? 0;
    this.#server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      if (this.#closed || (settings.linkCheck && !links.station && !links.accessPoint)) {
        socket.destroy();
        return;
      }
      this.#pending.push(new Pcb(socket));
      if (this.#onReadable && !this.#triggered) {
        this.#triggered = true;
        post(() => this.#deliver());
      }
    });
    this.#server.on("error", (e) => {
      // lwIP binds synchronously ("socket bind"); the board would not have got this far.
      throw new Error(`socket bind: ${(e as Error).message}`);
    });
    this.#server.listen(hostPort, "127.0.0.1", () => {
      const address = this.#server.address();
      const actual = typeof address === "object" && address ? address.port : 0;
      if (port === 0) this.#port = actual; // lwIP picks an ephemeral port; here the forwarded one stands for it
      report({ type: "listening", port, hostPort: actual });
    });
  }

  /** listenerDeliver */
  #deliver(): void {
    this.#triggered = false;
    if (this.#closed || !this.#onReadable || this.#pending.length === 0) return;
    this.#onReadable.call(this, this.#pending.length);
  }

  read(): TCP | undefined {
    if (this.#closed) throw new Error("closed");
    const pcb = this.#pending.shift();
    if (!pcb) return undefined;
    const tcp = new TCP();
    adoptPending(tcp, pcb);
    return tcp;
  }

  get port(): number {
    return this.#port;
  }

  get format(): string {
    return "socket/tcp";
  }

  set format(value: string) {
    if (value !== "socket/tcp") throw new RangeError();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const p of this.#pending.splice(0)) p.close();
  }
}
