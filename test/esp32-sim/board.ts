// The simulated board's shared machinery: its settings (environment variables the test sets), the
// XS event loop's message queue, the GPIO pin registry, the log, and the control channel to the test
// (node IPC: the board runs as a child process of the test, see harness.ts).
//
// Delivery rule, as in Moddable: an SDK callback (socket readable, UART writable, Wi-Fi changed,
// timer) never runs inside the call that caused it; it is posted to the machine's message queue
// (modMessagePostToMachine) and runs later on its own turn. An exception escaping a callback aborts
// the machine ("XS abort: unhandled exception ...", xs/platforms/esp/xsPlatform.c fxAbort), which on
// a board means a restart: here the process exits with status 1.

import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));

const env = process.env;

/** Board settings, from the environment the test gives the child process. */
export const settings = {
  /** Directory holding what survives a reboot: NVS (nvs.json) and the storage partition (flash/). */
  stateDir: env.ESP32_SIM_STATE ?? join(tmpdir(), `esp32-sim-${process.pid}`),
  /** JSON object of mcconfig `name=value` overrides (strings, as mcconfig passes them). */
  configOverrides: parseJson<Record<string, string>>(env.ESP32_SIM_CONFIG, {}),
  /** Which root manifest the image was built from: manifest.json (SPIFFS) or manifest_littlefs.json. */
  manifest: env.ESP32_SIM_MANIFEST ?? "manifest.json",
  /** Directory of the image's data resources (manifest "data"): certs/ by default. */
  resourcesDir: env.ESP32_SIM_RESOURCES ?? join(REPO, "certs"),
  /** TCP port on 127.0.0.1 where the test plays the device wired to the bridged UART (unset: nothing attached). */
  uartWire: env.ESP32_SIM_UART_WIRE ? Number(env.ESP32_SIM_UART_WIRE) : null,
  /** UART time runs this many times faster than real time (bytes per second = baud / 10 * speedup). */
  uartSpeedup: env.ESP32_SIM_UART_SPEEDUP ? Number(env.ESP32_SIM_UART_SPEEDUP) : 1,
  /** Size of the "storage" partition; default: from hosts/esp32/partitions.csv. */
  storageBytes: env.ESP32_SIM_STORAGE_BYTES ? Number(env.ESP32_SIM_STORAGE_BYTES) : null,
  /** Device port -> 127.0.0.1 port for listening sockets ({"22": 0}: any free port; unlisted: any). */
  portMap: parseJson<Record<string, number>>(env.ESP32_SIM_PORT_MAP, {}),
  /** The access point the fake Wi-Fi can join: SSID, password, and the address DHCP gives. */
  accessPoint: parseJson<{ ssid?: string; password?: string; address?: string }>(env.ESP32_SIM_AP, {}),
  /** The radio's surroundings, when more than that one network (scans list the ones up):
   * [{ssid, password, address, rssi, channel, security}]. */
  networks: parseJson<SimNetwork[] | null>(env.ESP32_SIM_NETWORKS, null),
  /** The station MAC (the access point's name ends in its last two bytes). */
  mac: env.ESP32_SIM_MAC ?? "24:0a:c4:5e:a1:7c",
  /** Refuse connections while the board has no interface up (no station address, no access point):
   * a login then proves the link it came over. */
  linkCheck: env.ESP32_SIM_LINK_CHECK === "1",
  /** A release build (xsbug absent): LittleFS errors read "LFS_ERR: -28" instead of their text. */
  release: env.ESP32_SIM_RELEASE === "1",
  /** Milliseconds per mDNS probe round (mdns.js: 250). */
  mdnsProbeMs: env.ESP32_SIM_MDNS_PROBE_MS ? Number(env.ESP32_SIM_MDNS_PROBE_MS) : 250,
  /** Host names that another device on the link already owns (mDNS probe conflicts). */
  mdnsTaken: parseJson<string[]>(env.ESP32_SIM_MDNS_TAKEN, []),
};

mkdirSync(settings.stateDir, { recursive: true });

export interface SimNetwork {
  ssid: string;
  password: string;
  address: string;
  rssi?: number;
  channel?: number;
  security?: string;
}

/** Which of the board's interfaces are up (wifi.ts keeps it; listener.ts reads it with linkCheck). */
export const links = { station: false, accessPoint: false };

// ---- the wall clock ----
// An ESP32's clock reads 1970-01-01 plus the uptime after a power-up, until something (SNTP) sets
// it: Date.now() here is real time plus an offset, which Time.set moves (time.ts). boot.ts installs
// it before the built-ins are frozen.
const realNow = Date.now.bind(Date);
export const wallClock = { offsetMs: -realNow() };

export function installWallClock(): void {
  Date.now = () => realNow() + wallClock.offsetMs;
}

/** This machine's real time (what an SNTP server would say). */
export function realTimeMs(): number {
  return realNow();
}

/** Time.set(seconds). */
export function setWallClock(seconds: number): void {
  wallClock.offsetMs = seconds * 1000 - realNow();
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  return JSON.parse(text) as T;
}

// ---- log (trace) ----

/** Moddable's trace(): writes the values as text, no newline added, to the serial console / xsbug. */
export function trace(...values: unknown[]): void {
  process.stdout.write(values.map((v) => String(v)).join(""));
}

// ---- the XS machine's message queue ----

/** Runs `fn` as one turn of the machine, later (modMessagePostToMachine). */
export function post(fn: () => void): void {
  setImmediate(() => runTurn(fn));
}

/** Runs `fn` as a turn now (for node events that are already their own turn, e.g. a timer). */
export function runTurn(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    abort(e);
  }
}

/** XS abort on an unhandled exception: the board restarts. */
export function abort(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  trace(`XS abort: unhandled exception ${message}\n`);
  if (e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

// ---- GPIO pins (builtinUsePin / builtinFreePin / builtinIsPinFree) ----

const pinsInUse = new Set<number>();

export function isPinFree(pin: number): boolean {
  return !pinsInUse.has(pin);
}

export function usePin(pin: number): void {
  pinsInUse.add(pin);
}

export function freePin(pin: number): void {
  pinsInUse.delete(pin);
}

/** builtinGetPin: a pin number argument (integer 0..48 on ESP32). */
export function toPin(value: unknown): number {
  const pin = Math.trunc(Number(value));
  if (!Number.isFinite(pin) || pin < 0 || pin > 48) throw new RangeError("invalid pin");
  return pin;
}

/** Routing of GPIO pins to UART signals (uart_set_pin): pin -> UART port whose TX it carries. */
export const uartTxPins = new Map<number, number>();
/** Pins a Digital holds as a GPIO (taken away from the UART until released). */
export const gpioOwned = new Set<number>();

// ---- buffers (xsmcGetBufferReadable / Writable) ----

/** The bytes of an ArrayBuffer, SharedArrayBuffer or view; TypeError for anything else. */
export function bufferBytes(value: unknown): Uint8Array {
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError("no buffer");
}

// ---- control channel to the test ----

export type ControlMessage = { cmd: string; id?: number; [key: string]: unknown };

const handlers = new Map<string, (m: ControlMessage) => unknown>();

/** Sends an event to the test (no-op without an IPC channel). */
export function report(event: Record<string, unknown>): void {
  if (process.send && process.connected) process.send(event);
}

/** Registers the handler for a test command; a returned value answers the command. */
export function onCommand(cmd: string, handler: (m: ControlMessage) => unknown): void {
  handlers.set(cmd, handler);
}

process.on("message", (raw) => {
  const m = raw as ControlMessage;
  const handler = handlers.get(m.cmd);
  // A command from the test is an outside event (a radio dropping, a query over a debug port): it
  // runs as its own turn, never inside a callback.
  setImmediate(() => {
    let value: unknown;
    let error: string | undefined;
    try {
      if (!handler) throw new Error(`no handler for command "${m.cmd}"`);
      value = handler(m);
    } catch (e) {
      error = (e as Error).message;
    }
    if (m.id !== undefined) report({ type: "reply", id: m.id, value, error });
  });
});

// The test ends the board by killing it (a power cut); a lost control channel means the test is gone.
process.on("disconnect", () => process.exit(0));
