// "embedded:network/interface/wifi" as Moddable SDK 8.2.3 implements it on ESP32
// (modules/io/wifi/esp32/wifi-esp32.c) over a fake radio the test drives.
//
// The ESP-IDF station (module state, shared by every WiFi object like the driver is): connect() starts
// an association (esp_wifi_connect); after a moment it either succeeds (STA_CONNECTED, then DHCP and
// the IPv6 link-local address: GOT_IP) or fails (STA_DISCONNECTED). Nothing reconnects by itself
// after a drop: ESP-IDF leaves that to the application. Events reach every open WiFi object as
// messages (wifiConnectDeliver), which update its own connecting/connected/ip flags and call
// onChanged("connection") and/or onChanged("address"). connection: 500 with an address (IPv4 and
// IPv6 link-local), 400 associated, 300 connecting, 200 disconnected.
//
// The test: {cmd: "wifi", action: "drop"} takes the access point away (the station sees
// STA_DISCONNECTED), "restore" brings it back (the station stays down until someone connects);
// {cmd: "wifi", action: "status"} answers the state and every connect() made so far.

import { onCommand, post, report, settings } from "./board.js";
import config from "./mc-config.js";

const WIFI_EVENT_STA_CONNECTED = 4;
const WIFI_EVENT_STA_DISCONNECTED = 5;
const IP_EVENT_STA_GOT_IP = 0;

/** How long an association, DHCP and a failed attempt take (ms). */
const ASSOCIATE_MS = 40;
const DHCP_MS = 30;
const FAIL_MS = 120;

const accessPoint = {
  ssid: settings.accessPoint.ssid ?? String(config.ssid ?? ""),
  password: settings.accessPoint.password ?? String(config.password ?? ""),
  address: settings.accessPoint.address ?? "192.168.1.42",
  up: true,
};

/** The station (ESP-IDF driver and netif). */
const station = {
  associated: false,
  ssid: undefined as string | undefined,
  /** gIP: 1 IPv4 address, 2 IPv6 link-local. */
  ip: 0,
  attempt: null as NodeJS.Timeout | null,
  connects: [] as { ssid: string; at: number; ok: boolean | null }[],
};

interface EventMessage {
  event: number;
  ipInit?: number;
  addressChanged?: boolean;
}

const open = new Set<WiFi>();

function broadcast(msg: EventMessage): void {
  report({ type: "wifi-event", event: msg.event === WIFI_EVENT_STA_CONNECTED ? "connected" : msg.event === WIFI_EVENT_STA_DISCONNECTED ? "disconnected" : "got-ip" });
  for (const w of open) post(() => w.deliver(msg));
}

function staConnect(ssid: string, password: string): boolean {
  if (station.associated) return false; // ESP_ERR_WIFI_CONN-like refusal while associated
  if (station.attempt) clearTimeout(station.attempt);
  const entry = { ssid, at: Date.now(), ok: null as boolean | null };
  station.connects.push(entry);
  report({ type: "wifi-connect", ssid });
  const ok = accessPoint.up && ssid === accessPoint.ssid && password === accessPoint.password;
  station.attempt = setTimeout(
    () => {
      station.attempt = null;
      entry.ok = ok && accessPoint.up;
      if (!entry.ok) {
        broadcast({ event: WIFI_EVENT_STA_DISCONNECTED });
        return;
      }
      station.associated = true;
      station.ssid = ssid;
      station.ip = 0;
      broadcast({ event: WIFI_EVENT_STA_CONNECTED, ipInit: 0 });
      station.attempt = setTimeout(() => {
        station.attempt = null;
        if (!station.associated) return;
        station.ip = 0x03;
        broadcast({ event: IP_EVENT_STA_GOT_IP });
      }, DHCP_MS);
    },
    ok ? ASSOCIATE_MS : FAIL_MS,
  );
  return true;
}

function staDisconnect(): void {
  if (station.attempt) clearTimeout(station.attempt);
  station.attempt = null;
  const was = station.associated;
  station.associated = false;
  station.ssid = undefined;
  station.ip = 0;
  if (was) broadcast({ event: WIFI_EVENT_STA_DISCONNECTED });
}

onCommand("wifi", (m) => {
  switch (m.action) {
    case "drop":
      accessPoint.up = false;
      staDisconnect();
      break;
    case "restore":
      accessPoint.up = true;
      break;
    case "status":
      break;
    default:
      throw new Error(`wifi: unknown action ${String(m.action)}`);
  }
  return { apUp: accessPoint.up, associated: station.associated, ip: station.ip, connects: station.connects };
});

export default class WiFi {
  #onChanged: ((this: WiFi, property: "connection" | "address") => void) | null;
  #connecting = false;
  #connected = false;
  #ip = 0;
  #closed = false;

  constructor(options?: { onChanged?: (this: WiFi, property: "connection" | "address") => void }) {
    this.#onChanged = typeof options?.onChanged === "function" ? options.onChanged : null;
    if (station.associated) {
      this.#connected = true;
      this.#ip = station.ip;
    }
    open.add(this);
  }

  /** wifiConnectDeliver */
  deliver(msg: EventMessage): void {
    if (this.#closed) return;
    const prevConnecting = this.#connecting;
    const prevConnected = this.#connected;
    const prevIP = this.#ip;
    if (msg.event === WIFI_EVENT_STA_CONNECTED) {
      this.#connecting = false;
      this.#connected = true;
      this.#ip = msg.ipInit ?? 0;
    } else if (msg.event === WIFI_EVENT_STA_DISCONNECTED) {
      this.#connecting = false;
      this.#connected = false;
      this.#ip = 0;
    } else if (msg.event === IP_EVENT_STA_GOT_IP) {
      this.#connected = true;
      this.#ip = 0x03;
    }
    if (!this.#onChanged) return;
    const connectionChanged = prevConnecting !== this.#connecting || prevConnected !== this.#connected || prevIP !== this.#ip;
    const addressChanged = (!(prevIP & 0x01) && !!(this.#ip & 0x01)) || !!msg.addressChanged;
    if (connectionChanged) this.#onChanged.call(this, "connection");
    if (addressChanged && !this.#closed) this.#onChanged.call(this, "address");
  }

  #check(): void {
    if (this.#closed) throw new Error("closed");
  }

  get connection(): number {
    this.#check();
    if (this.#connected && this.#ip === 0x03) return 500;
    if (this.#connected) return 400;
    if (this.#connecting) return 300;
    return 200;
  }

  get address(): string | undefined {
    this.#check();
    if (station.ip & 0x01) return accessPoint.address;
    if (station.ip & 0x02) return "fe80::1";
    return undefined;
  }

  get SSID(): string | undefined {
    this.#check();
    return station.associated ? station.ssid : undefined;
  }

  connect(options: { SSID?: string; password?: string }): void {
    this.#check();
    if (this.#connecting) throw new Error("already connecting");
    if (!options || !("SSID" in options)) throw new Error("SSID required");
    const ssid = String(options.SSID);
    if (Buffer.byteLength(ssid) + 1 > 33) throw new RangeError("cannot buffer string");
    const password = "password" in options ? String(options.password) : "";
    if (Buffer.byteLength(password) + 1 > 65) throw new RangeError("cannot buffer string");
    this.#connecting = true;
    if (!staConnect(ssid, password)) {
      this.#connecting = false;
      throw new Error("connect failed");
    }
  }

  disconnect(): void {
    this.#check();
    staDisconnect();
    this.#connecting = false;
    this.#connected = false;
    this.#ip = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
  }
}
