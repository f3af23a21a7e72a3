// The test's side of the simulated ESP32: boots the image (boot.ts) in a child process with a state
// directory (NVS + storage partition) that a later boot reuses, reads its log, talks to it over the
// IPC channel (Wi-Fi, queries), and plays the device wired to its UART.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const REGISTER = fileURLToPath(new URL("./register.ts", import.meta.url));
const BOOT = fileURLToPath(new URL("./boot.ts", import.meta.url));

export interface BootOptions {
  /** Survives reboots: nvs.json and flash/. */
  stateDir: string;
  /** The image's data resources (authorized_keys). */
  resourcesDir: string;
  /** mcconfig name=value arguments. */
  config?: Record<string, string>;
  /** Port of the UartDevice playing what is wired to the UART. */
  uartWire?: number;
  uartSpeedup?: number;
  /** "manifest.json" (SPIFFS) or "manifest_littlefs.json". */
  manifest?: string;
  storageBytes?: number;
  mdnsProbeMs?: number;
  env?: Record<string, string>;
}

export type BoardEvent = { type: string; [key: string]: unknown };

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export class SimBoard {
  readonly child: ChildProcess;
  log = "";
  stderr = "";
  readonly events: BoardEvent[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<void>;
  private readonly waiters = new Set<Waiter>();
  private nextId = 1;
  private readonly replies = new Map<number, (e: BoardEvent) => void>();

  constructor(options: BootOptions) {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ESP32_SIM_STATE: options.stateDir,
      ESP32_SIM_RESOURCES: options.resourcesDir,
      ESP32_SIM_CONFIG: JSON.stringify(options.config ?? {}),
      ESP32_SIM_MANIFEST: options.manifest ?? "manifest.json",
      ...options.env,
    };
    if (options.uartWire !== undefined) env.ESP32_SIM_UART_WIRE = String(options.uartWire);
    if (options.uartSpeedup !== undefined) env.ESP32_SIM_UART_SPEEDUP = String(options.uartSpeedup);
    if (options.storageBytes !== undefined) env.ESP32_SIM_STORAGE_BYTES = String(options.storageBytes);
    if (options.mdnsProbeMs !== undefined) env.ESP32_SIM_MDNS_PROBE_MS = String(options.mdnsProbeMs);
    this.child = spawn(process.execPath, ["--import", "tsx", "--import", REGISTER, BOOT], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.log += d.toString();
      this.poke();
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on("message", (raw) => {
      const e = raw as BoardEvent;
      if (e.type === "reply") {
        const r = this.replies.get(e.id as number);
        this.replies.delete(e.id as number);
        r?.(e);
        return;
      }
      this.events.push(e);
      this.poke();
    });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        const error = new Error(`the board stopped (${signal ?? `exit ${code}`}); log:\n${this.log}\nstderr:\n${this.stderr}`);
        for (const w of [...this.waiters]) w.fail(error);
        for (const r of this.replies.values()) r({ type: "reply", error: error.message });
        this.replies.clear();
        resolve();
      });
    });
  }

  private poke(): void {
    for (const w of [...this.waiters]) w.check();
  }

  /** Resolves once `check` returns a value (not undefined); rejects on timeout or if the board stops. */
  waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        f();
      };
      const waiter: Waiter = {
        check: () => {
          const v = check();
          if (v !== undefined) done(() => resolve(v));
        },
        fail: (e) => done(() => reject(e)),
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; log:\n${this.log}\nstderr:\n${this.stderr}`))), timeoutMs);
      if (this.exit) return waiter.fail(new Error(`the board is not running; log:\n${this.log}`));
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Waits for a log match in the log from offset `from` on. */
  waitLog(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpExecArray> {
    return this.waitFor(`log ${pattern}`, () => pattern.exec(this.log.slice(from)) ?? undefined, timeoutMs);
  }

  waitEvent(what: string, predicate: (e: BoardEvent) => boolean, timeoutMs = 15_000, from = 0): Promise<BoardEvent> {
    return this.waitFor(what, () => this.events.slice(from).find(predicate), timeoutMs);
  }

  /** The 127.0.0.1 port forwarded to the board's listening port `port`. */
  async hostPort(port: number, timeoutMs = 15_000): Promise<number> {
    const e = await this.waitEvent(`listening on ${port}`, (e) => e.type === "listening" && e.port === port, timeoutMs);
    return e.hostPort as number;
  }

  /** Sends a command; resolves with its answer. */
  command<T = unknown>(cmd: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replies.set(id, (e) => {
        clearTimeout(timer);
        if (e.error) reject(new Error(`${cmd}: ${String(e.error)}`));
        else resolve(e.value as T);
      });
      if (this.exit) return reject(new Error(`the board is not running; log:\n${this.log}`));
      this.child.send({ cmd, id, ...fields });
    });
  }

  /** Power off. */
  async kill(): Promise<void> {
    if (!this.exit) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** The device wired to the board's UART: a TCP server the board's line connects to. */
export class UartDevice {
  private readonly server: Server;
  private socket: Socket | null = null;
  /** Everything the device received, in order. */
  received = Buffer.alloc(0);
  /** Called for each piece received. */
  onData: ((bytes: Buffer) => void) | null = null;
  private readonly listeners = new Set<() => void>();
  port = 0;

  constructor() {
    this.server = createServer((s) => {
      this.socket?.destroy();
      this.socket = s;
      s.setNoDelay(true);
      s.on("data", (d: Buffer) => {
        this.received = Buffer.concat([this.received, d]);
        this.onData?.(d);
        for (const l of [...this.listeners]) l();
      });
      s.on("error", () => {});
      for (const l of [...this.listeners]) l();
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const a = this.server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
    return this.port;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** What the device sends (it goes onto the line at the UART's baud rate). */
  send(bytes: string | Uint8Array): void {
    if (!this.socket) throw new Error("the board has not connected its UART line");
    this.socket.write(bytes);
  }

  /** Waits until `check` holds on what was received. */
  waitReceived(what: string, check: (all: Buffer) => boolean, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const l = () => {
        if (check(this.received)) {
          clearTimeout(timer);
          this.listeners.delete(l);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`device: timed out after ${timeoutMs} ms waiting for ${what}; got ${this.received.length} bytes, last: ${JSON.stringify(this.received.subarray(-80).toString("latin1"))}`));
      }, timeoutMs);
      this.listeners.add(l);
      l();
    });
  }

  close(): void {
    this.socket?.destroy();
    this.server.close();
  }
}

/** The files of the simulated SPIFFS partition in a state directory: name -> content. */
export function spiffsFiles(stateDir: string): Map<string, Buffer> {
  const dir = join(stateDir, "flash", "spiffs");
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(dir)) out.set(decodeURIComponent(f).replace(/^\//, ""), readFileSync(join(dir, f)));
  return out;
}

/** The disk file holding SPIFFS object NAME (no leading "/") in a state directory. */
export function spiffsPath(stateDir: string, name: string): string {
  return join(stateDir, "flash", "spiffs", encodeURIComponent("/" + name).replace(/\./g, "%2E"));
}

/** The disk path of a LittleFS file or directory in a state directory. */
export function littlefsPath(stateDir: string, path: string): string {
  return join(stateDir, "flash", "littlefs", ...path.split("/").filter((p) => p !== "").map((p) => encodeURIComponent(p).replace(/^\./, "%2E")));
}

/** The NVS of a state directory (domain -> key -> stored value). */
export function nvs(stateDir: string): Record<string, Record<string, { type: string; value: unknown }>> {
  return JSON.parse(readFileSync(join(stateDir, "nvs.json"), "utf8")) as Record<string, Record<string, { type: string; value: unknown }>>;
}
