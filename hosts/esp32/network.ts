// Wi-Fi and mDNS. manifest_net's setup/network makes the first connection (from mcconfig's ssid= and
// password=) before main runs; from then on nothing in the SDK reconnects. This watches the
// ECMA-419 Wi-Fi interface (embedded:network/interface/wifi, which SDK 8.2.3's manifest_net
// includes; the older `wifi` module's onNotify is not in that build) and, after a disconnect,
// reconnects with exponential backoff. Each time an address is obtained, mDNS (Moddable's `mdns`)
// claims HOSTNAME.local and announces _ssh._tcp on the SSH port, so `ssh console@HOSTNAME.local`
// works without knowing the address. Listening sockets survive a reconnect (lwIP keeps them).

import MDNS from "mdns";
import Timer from "timer";
import WiFi from "embedded:network/interface/wifi";

/** WiFi.connection values (ECMA-419 network interface, as the SDK reports them). */
const DISCONNECTED = 200;
const HAS_ADDRESS = 500;
/** Reconnect delays: from 1 s, doubling, at most a minute. */
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

export interface NetworkOptions {
  ssid: string;
  password: string;
  hostname: string;
  sshPort: number;
  log(line: string): void;
  /** The address the board has now (after every (re)connection). */
  online?(address: string): void;
}

export class NetworkMonitor {
  private readonly wifi: WiFi;
  private backoff = BACKOFF_FIRST_MS;
  private retry: Timer | null = null;
  private mdns: MDNS | null = null;
  address = "";

  constructor(private readonly options: NetworkOptions) {
    this.wifi = new WiFi({ onChanged: (property) => this.changed(property) });
    if (this.wifi.connection >= HAS_ADDRESS) this.up();
    else if (this.wifi.connection <= DISCONNECTED) this.scheduleReconnect();
  }

  private changed(property: "connection" | "address"): void {
    const state = this.wifi.connection;
    if (state >= HAS_ADDRESS) {
      if (property === "address" || !this.address) this.up();
    } else if (state <= DISCONNECTED) {
      if (this.address) this.options.log(`Wi-Fi: disconnected from "${this.options.ssid}"`);
      this.down();
      this.scheduleReconnect();
    }
  }

  private up(): void {
    if (this.retry) Timer.clear(this.retry);
    this.retry = null;
    this.backoff = BACKOFF_FIRST_MS;
    const address = this.wifi.address ?? "";
    if (address === this.address && this.mdns) return;
    this.address = address;
    this.options.log(`Wi-Fi: ${this.wifi.SSID ?? this.options.ssid}, address ${address}`);
    this.options.online?.(address);
    this.startMdns();
  }

  private down(): void {
    this.address = "";
    this.stopMdns();
  }

  private scheduleReconnect(): void {
    if (this.retry || !this.options.ssid) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retry = Timer.set(() => {
      this.retry = null;
      if (this.wifi.connection > DISCONNECTED) return; // connecting or back already
      this.options.log(`Wi-Fi: reconnecting to "${this.options.ssid}"`);
      try {
        this.wifi.connect(this.options.password ? { SSID: this.options.ssid, password: this.options.password } : { SSID: this.options.ssid });
      } catch (e) {
        this.options.log(`Wi-Fi: connect failed: ${(e as Error).message}`);
      }
      // If this attempt fails, onChanged reports DISCONNECTED again and the next, longer wait starts;
      // if it neither succeeds nor fails, try again after the wait anyway.
      this.scheduleReconnect();
    }, delay);
  }

  private startMdns(): void {
    this.stopMdns();
    const service = { name: "ssh", protocol: "tcp", port: this.options.sshPort, txt: {} as Record<string, string> };
    try {
      const mdns: MDNS = new MDNS({ hostName: this.options.hostname }, (message, value) => {
        if (message === 1 && value) {
          this.options.log(`mDNS: ${value}.local, _ssh._tcp port ${this.options.sshPort}`);
          mdns.add(service);
        } else if (message < 0) this.options.log(`mDNS: could not claim ${this.options.hostname}.local`);
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
