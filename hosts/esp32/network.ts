// Wi-Fi, the board's access point, mDNS and SNTP. modules/console/wifi.ts decides (which network,
// when the access point opens, the `wifi` commands); this is its radio and its NVS:
// - the station: the ECMA-419 Wi-Fi interface (embedded:network/interface/wifi, which SDK 8.2.3's
//   manifest_net includes and its setup/network uses for the build's ssid=): connect, disconnect,
//   scan, SSID, RSSI, MAC. Creating the WiFi object initialises and starts Wi-Fi when setup/network
//   did not (no ssid= in the build): the radio is on from then, so esp_fill_random is a true RNG.
// - the access point: esp32_wifi.c (WIFI_MODE_APSTA beside that station, WPA2; see there why not
//   the SDK's `wifi` module);
// - mDNS (Moddable's `mdns`): each time the station gets an address, HOSTNAME.local and _ssh._tcp
//   on the SSH port, so `ssh console@HOSTNAME.local` works without knowing the address;
// - SNTP (Moddable's `sntp`): once online, the servers of config sntp_servers in turn; the clock
//   counts as set (wallClock non-null, `info`: "clock: set (sntp)") only after one answered.
// Listening sockets serve every interface and survive a reconnect (lwIP keeps them).

import MDNS from "mdns";
import Preference from "preference";
import SNTP from "sntp";
import Time from "time";
import Timer from "timer";
import WiFi from "embedded:network/interface/wifi";
import { WifiProvisioner, type Network, type ScanResult, type StationState, type WifiRadio, type WifiStore } from "../../modules/console/wifi.js";
import { PREF_DOMAIN } from "./keystore.js";

/** WiFi.connection values (ECMA-419 network interface, as the SDK reports them). */
const DISCONNECTED = 200;
const HAS_ADDRESS = 500;
/** After leaving a network, the driver's disconnect event is let through before the next
 * association starts (otherwise that late event would read as the new attempt failing). */
const LEAVE_SETTLE_MS = 300;
/** Ticks of the provisioning state machine. */
const WIFI_TICK_MS = 1000;
/** SNTP: after every server failed, try again this much later; once set, re-read the time this often
 * (the ESP32's RTC drifts some seconds a day). */
const SNTP_RETRY_MS = 5 * 60_000;
const SNTP_RESYNC_MS = 12 * 3600_000;

/** NVS keys (15 characters at most), in the host keys' namespace. */
const PREF_SSID = "wifi_ssid";
const PREF_PASSWORD = "wifi_pass";
const PREF_HOSTNAME = "hostname";

export interface NetworkOptions {
  /** The build's network (ssid=, password=); ssid "" when there is none. */
  ssid: string;
  password: string;
  hostname: string;
  sshPort: number;
  sntpServers: readonly string[];
  fallbackMs?: number;
  log(line: string): void;
  /** The station's address (after every (re)connection). */
  online?(address: string): void;
  /** The access point opened at this address. */
  accessPoint?(address: string): void;
}

/** The Wi-Fi settings `wifi join` and `hostname` keep in NVS. */
export function nvsWifiStore(): WifiStore {
  return {
    loadNetwork(): Network | null {
      const ssid = Preference.get(PREF_DOMAIN, PREF_SSID);
      if (typeof ssid !== "string" || ssid === "") return null;
      const password = Preference.get(PREF_DOMAIN, PREF_PASSWORD);
      return { ssid, password: typeof password === "string" ? password : "" };
    },
    saveNetwork(n) {
      Preference.set(PREF_DOMAIN, PREF_PASSWORD, n.password);
      Preference.set(PREF_DOMAIN, PREF_SSID, n.ssid);
    },
    forgetNetwork() {
      Preference.delete(PREF_DOMAIN, PREF_SSID);
      Preference.delete(PREF_DOMAIN, PREF_PASSWORD);
    },
    loadHostname() {
      const v = Preference.get(PREF_DOMAIN, PREF_HOSTNAME);
      return typeof v === "string" ? v : null;
    },
    saveHostname(name) {
      Preference.set(PREF_DOMAIN, PREF_HOSTNAME, name);
    },
  };
}

/** The station (ECMA-419 WiFi) and the access point (esp32_wifi.c) as WifiRadio. */
class Esp32Radio implements WifiRadio {
  readonly mac: string;
  private pendingConnect: Timer | null = null;
  /** Time.ticks of the last disconnect() (the settle time counts from it). */
  private leftAt = -LEAVE_SETTLE_MS;
  private readonly apStart: (ssid: string, password: string) => string = native("xs_esp32_wifi_ap_start");
  private readonly apStop: () => void = native("xs_esp32_wifi_ap_stop");

  /** `left`: the station left its network on our request (the driver reports no change then);
   * `failed`: a deferred connect() threw. */
  constructor(private readonly wifi: WiFi, private readonly left: () => void, private readonly failed: (why: string) => void) {
    this.mac = wifi.MAC ?? "00:00:00:00:00:00";
  }

  station(): StationState {
    const online = this.wifi.connection >= HAS_ADDRESS;
    return { online, address: online ? (this.wifi.address ?? "") : "", ssid: this.wifi.SSID ?? "", rssi: online ? (this.wifi.RSSI ?? null) : null };
  }

  connect(ssid: string, password: string): void {
    this.cancelPending();
    const options = password ? { SSID: ssid, password } : { SSID: ssid };
    if (this.wifi.connection > DISCONNECTED) this.disconnect();
    const wait = this.leftAt + LEAVE_SETTLE_MS - Time.ticks;
    if (wait <= 0) {
      this.wifi.connect(options);
      return;
    }
    this.pendingConnect = Timer.set(() => {
      this.pendingConnect = null;
      try {
        this.wifi.connect(options);
      } catch (e) {
        // Thrown in a timer it would abort the machine: report it as a failed attempt instead.
        this.failed((e as Error).message);
      }
    }, wait);
  }

  disconnect(): void {
    this.cancelPending();
    this.wifi.disconnect();
    this.leftAt = Time.ticks;
    this.left();
  }

  private cancelPending(): void {
    if (this.pendingConnect) Timer.clear(this.pendingConnect);
    this.pendingConnect = null;
  }

  startAccessPoint(ssid: string, password: string): string {
    return this.apStart(ssid, password);
  }

  stopAccessPoint(): void {
    this.apStop();
  }

  scan(found: (n: ScanResult) => void, done: (error: string | null) => void): void {
    this.wifi.scan({
      // The SDK's native sets `security` on each result, but its typings (WiFiScanResult) leave it
      // out: read it through a wider type so mcconfig's tsc (the SDK's typings) accepts it.
      onFound: (ap) => found({ ssid: ap.SSID ?? "", rssi: ap.RSSI ?? 0, channel: ap.channel ?? 0, security: (ap as { security?: string }).security ?? "" }),
      onComplete: () => done(null),
    });
  }
}

/** The wall clock: set once an SNTP server answered. */
export class ClockSync {
  source: "sntp" | null = null;
  private sntp: SNTP | null = null;
  private next: Timer | null = null;

  constructor(private readonly servers: readonly string[], private readonly log: (line: string) => void) {}

  /** Milliseconds since the epoch, or null while no server has answered. */
  wallClock(): number | null {
    return this.source ? Date.now() : null;
  }

  /** The station is online: ask, unless a request runs or the time is fresh. */
  online(): void {
    if (this.sntp || this.next || this.servers.length === 0) return;
    let index = 0;
    try {
      this.sntp = new SNTP({ host: this.servers[0] }, (message, value) => {
        if (message === SNTP.time) {
          Time.set(value as number);
          const first = this.source === null;
          this.source = "sntp";
          this.sntp = null;
          if (first) this.log(`clock: set by SNTP (${this.servers[index]}): ${new Date(Date.now()).toISOString()}`);
          this.later(SNTP_RESYNC_MS);
          return undefined;
        }
        if (message === SNTP.error) {
          index++;
          if (index < this.servers.length) return this.servers[index];
          this.log(`clock: no SNTP server answered (${this.servers.join(", ")}): ${String(value)}; trying again in ${SNTP_RETRY_MS / 60_000} min`);
          this.sntp = null;
          this.later(SNTP_RETRY_MS);
        }
        return undefined;
      });
    } catch (e) {
      this.sntp = null;
      this.log(`clock: SNTP: ${(e as Error).message}`);
      this.later(SNTP_RETRY_MS);
    }
  }

  private later(ms: number): void {
    this.next = Timer.set(() => {
      this.next = null;
      this.online();
    }, ms);
  }
}

export class NetworkMonitor {
  private readonly wifi: WiFi;
  /** Made by start(), once the access point's password is known. */
  provisioner: WifiProvisioner | null = null;
  readonly clock: ClockSync;
  private mdns: MDNS | null = null;
  private wasOnline = false;
  private wakeTimer: Timer | null = null;
  address = "";

  /** Creates the WiFi object: Wi-Fi is initialised and started from here on. */
  constructor(private readonly options: NetworkOptions) {
    this.wifi = new WiFi({ onChanged: () => this.changed() });
    this.clock = new ClockSync(options.sntpServers, options.log);
    this.wasOnline = this.wifi.connection >= HAS_ADDRESS;
  }

  /** Starts provisioning (after the host is ready to serve): the state machine and its tick. */
  start(apPassword: string): WifiProvisioner {
    const o = this.options;
    const provisioner = new WifiProvisioner({
      radio: new Esp32Radio(this.wifi, () => this.left(), (why) => {
        o.log(`Wi-Fi: connect failed: ${why}`);
        provisioner.stationDown();
      }),
      store: nvsWifiStore(),
      builtIn: o.ssid ? { ssid: o.ssid, password: o.password } : null,
      apPassword,
      hostname: o.hostname,
      log: o.log,
      now: () => Time.ticks,
      fallbackMs: o.fallbackMs,
      online: (address) => {
        this.address = address;
        o.online?.(address);
        this.startMdns();
        this.clock.online();
      },
      accessPoint: (address) => o.accessPoint?.(address),
      hostnameChanged: () => {
        if (this.address) this.startMdns();
      },
      wake: (delayMs) => {
        if (this.wakeTimer) Timer.clear(this.wakeTimer);
        this.wakeTimer = Timer.set(() => {
          this.wakeTimer = null;
          provisioner.tick();
        }, delayMs);
      },
    });
    this.provisioner = provisioner;
    this.wasOnline = this.wifi.connection >= HAS_ADDRESS;
    if (this.wasOnline) this.address = this.wifi.address ?? "";
    provisioner.start();
    Timer.repeat(() => provisioner.tick(), WIFI_TICK_MS);
    return provisioner;
  }

  private left(): void {
    this.wasOnline = false;
    this.address = "";
    this.stopMdns();
  }

  private changed(): void {
    const p = this.provisioner;
    if (!p) return; // start() reads the state as it is then
    const online = this.wifi.connection >= HAS_ADDRESS;
    const address = online ? (this.wifi.address ?? "") : "";
    if (online && (!this.wasOnline || address !== this.address)) {
      this.wasOnline = true;
      p.stationUp(address);
    } else if (!online && this.wifi.connection <= DISCONNECTED) {
      const was = this.wasOnline;
      this.wasOnline = false;
      if (was) {
        this.address = "";
        this.stopMdns();
      }
      p.stationDown();
    }
  }

  private startMdns(): void {
    this.stopMdns();
    const hostname = this.provisioner?.hostname ?? this.options.hostname;
    const port = this.options.sshPort;
    const service = { name: "ssh", protocol: "tcp", port, txt: {} as Record<string, string> };
    try {
      const mdns: MDNS = new MDNS({ hostName: hostname }, (message, value) => {
        if (message === 1 && value) {
          this.options.log(`mDNS: ${value}.local, _ssh._tcp port ${port}`);
          mdns.add(service);
        } else if (message < 0) this.options.log(`mDNS: could not claim ${hostname}.local`);
      });
      this.mdns = mdns;
    } catch (e) {
      this.options.log(`mDNS: ${(e as Error).message}`);
    }
  }

  private stopMdns(): void {
    const m = this.mdns;
    this.mdns = null;
    if (!m) return;
    try {
      // close() is in the SDK's mdns.js but not in its typings (typings/mdns.d.ts).
      (m as unknown as { close(): void }).close();
    } catch {
      // the socket went with the link
    }
  }
}
