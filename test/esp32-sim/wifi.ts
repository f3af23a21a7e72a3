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
// The radio's surroundings: the networks of ESP32_SIM_NETWORKS (or the one of ESP32_SIM_AP / the
// build's ssid=), each with its password, the address its DHCP gives, RSSI, channel and security.
// connect() to one that is up with its password associates; a wrong password is refused after a
// handshake (FAIL_MS), a network that is not there after a full-channel search (ABSENT_MS). scan()
// (esp_wifi_scan_start: refused while the station is associating) lists the networks that are up.
// MAC: ESP32_SIM_MAC.
//
// The board's own access point (hosts/esp32/esp32_wifi.c, WIFI_MODE_APSTA): wifiFunctions below,
// refused before Wi-Fi was started (no WiFi object yet: esp_wifi_get_mode fails); reported to the
// test as {type: "ap", up, ssid, password}.
//
// The test: {cmd: "wifi", action: "drop"} takes the networks away (or the one named by `ssid`; the
// station sees STA_DISCONNECTED), "restore" brings them back (the station stays down until someone
// connects); {cmd: "wifi", action: "status"} answers the state and every connect() made so far.

import { links, onCommand, post, report, settings, type SimNetwork } from "./board.js";
import config from "./mc-config.js";

const WIFI_EVENT_STA_CONNECTED = 4;
const WIFI_EVENT_STA_DISCONNECTED = 5;
const IP_EVENT_STA_GOT_IP = 0;

/** How long an association, DHCP, a refused handshake, a search for an absent network and a scan
 * take (ms). */
const ASSOCIATE_MS = 40;
const DHCP_MS = 30;
const FAIL_MS = 120;
const ABSENT_MS = 200;
const SCAN_MS = 60;
/** The access point's address (ESP-IDF's default AP netif: DHCP server on 192.168.4.1/24). */
const AP_ADDRESS = "192.168.4.1";

type Network = SimNetwork & { up: boolean };

const networks: Network[] = (
  settings.networks ?? [
    {
      ssid: settings.accessPoint.ssid ?? String(config.ssid ?? ""),
      password: settings.accessPoint.password ?? String(config.password ?? ""),
      address: settings.accessPoint.address ?? "192.168.1.42",
    },
  ]
)
  .filter((n) => n.ssid !== "")
  .map((n) => ({ rssi: -50, channel: 6, security: n.password ? "wpa2_psk" : "none", ...n, up: true }));

/** The station (ESP-IDF driver and netif). */
const station = {
  associated: false,
  ssid: undefined as string | undefined,
  network: null as Network | null,
  /** gIP: 1 IPv4 address, 2 IPv6 link-local. */
  ip: 0,
  attempt: null as NodeJS.Timeout | null,
  connects: [] as { ssid: string; at: number; ok: boolean | null }[],
};

/** Wi-Fi started (esp_wifi_start): the first WiFi object does it. */
let started = false;
/** The board's access point. */
const ap = { up: false, ssid: "", password: "" };
let scanning = false;

export function radioStarted(): boolean {
  return started;
}

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
  const n = networks.find((x) => x.ssid === ssid && x.up) ?? null;
  const ok = n !== null && password === n.password;
  station.attempt = setTimeout(
    () => {
      station.attempt = null;
      entry.ok = ok && n!.up;
      if (!entry.ok) {
        broadcast({ event: WIFI_EVENT_STA_DISCONNECTED });
        return;
      }
      station.associated = true;
      station.ssid = ssid;
      station.network = n;
      station.ip = 0;
      broadcast({ event: WIFI_EVENT_STA_CONNECTED, ipInit: 0 });
      station.attempt = setTimeout(() => {
        station.attempt = null;
        if (!station.associated) return;
        station.ip = 0x03;
        links.station = true;
        broadcast({ event: IP_EVENT_STA_GOT_IP });
      }, DHCP_MS);
    },
    ok ? ASSOCIATE_MS : n ? FAIL_MS : ABSENT_MS,
  );
  return true;
}

function staDisconnect(): void {
  if (station.attempt) clearTimeout(station.attempt);
  station.attempt = null;
  const was = station.associated;
  station.associated = false;
  station.ssid = undefined;
  station.network = null;
  station.ip = 0;
  links.station = false;
  if (was) broadcast({ event: WIFI_EVENT_STA_DISCONNECTED });
}

/** esp32_wifi.c's hooks. */
export const wifiFunctions: Record<string, (...args: unknown[]) => unknown> = {
  xs_esp32_wifi_ap_start(...a) {
    if (a.length < 2) throw new Error("ap: ssid and password expected");
    const ssid = String(a[0]);
    const password = String(a[1]);
    if (Buffer.byteLength(ssid) < 1 || Buffer.byteLength(ssid) > 32) throw new RangeError("ap: ssid is 1 to 32 bytes");
    if (Buffer.byteLength(password) < 8 || Buffer.byteLength(password) > 63) throw new RangeError("ap: WPA2 password is 8 to 63 characters");
    if (!started) throw new Error("ap: Wi-Fi not started");
    Object.assign(ap, { up: true, ssid, password });
    links.accessPoint = true;
    report({ type: "ap", up: true, ssid, password });
    return AP_ADDRESS;
  },
  xs_esp32_wifi_ap_stop() {
    if (!ap.up) return;
    ap.up = false;
    links.accessPoint = false;
    report({ type: "ap", up: false, ssid: ap.ssid });
  },
};

onCommand("wifi", (m) => {
  const named = (n: Network) => m.ssid === undefined || n.ssid === m.ssid;
  switch (m.action) {
    case "drop":
      for (const n of networks) if (named(n)) n.up = false;
      if (station.network && !station.network.up) staDisconnect();
      break;
    case "restore":
      for (const n of networks) if (named(n)) n.up = true;
      break;
    case "status":
      break;
    default:
      throw new Error(`wifi: unknown action ${String(m.action)}`);
  }
  return { networksUp: networks.filter((n) => n.up).map((n) => n.ssid), associated: station.associated, ssid: station.ssid ?? null, ip: station.ip, connects: station.connects, accessPoint: { ...ap } };
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
    started = true;
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
    if (station.ip & 0x01) return station.network?.address;
    if (station.ip & 0x02) return "fe80::1";
    return undefined;
  }

  get SSID(): string | undefined {
    this.#check();
    return station.associated ? station.ssid : undefined;
  }

  get RSSI(): number | undefined {
    this.#check();
    return station.associated ? station.network?.rssi : undefined;
  }

  get MAC(): string {
    this.#check();
    return settings.mac;
  }

  /** xs_wifi419_scan: one scan at a time; esp_wifi_scan_start fails while the station associates. */
  scan(options: { onFound?: (ap: Record<string, unknown>) => void; onComplete?: () => void }): void {
    this.#check();
    if (scanning) throw new Error("already scanning");
    if (typeof options?.onFound !== "function") throw new Error("onFound required");
    if (station.attempt && !station.associated) throw new Error("scan failed");
    scanning = true;
    const { onFound, onComplete } = options;
    const seen = networks.filter((n) => n.up).map((n, i) => ({ SSID: n.ssid, BSSID: `02:00:00:00:00:${(i + 16).toString(16)}`, RSSI: n.rssi, channel: n.channel, security: n.security }));
    report({ type: "wifi-scan", found: seen.length });
    setTimeout(() => {
      scanning = false;
      if (this.#closed) return;
      post(() => {
        for (const found of seen) {
          try {
            onFound.call(this, found);
          } catch {
            // the SDK's xsTry around each call swallows it
          }
        }
        if (typeof onComplete === "function") onComplete.call(this);
      });
    }, SCAN_MS);
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
