// Wi-Fi provisioning, platform-free: which network the board joins, when it opens its own access
// point, and the `wifi` / `hostname` device commands. The host (hosts/esp32/network.ts) brings the
// radio (WifiRadio: the station, the access point, scans) and the persistent settings (WifiStore:
// NVS), tells this when the station gains or loses its address, and calls tick() about once a second.
//
//   nothing configured ------------------------------------------> access point
//   configured -> connecting -> online
//                     |  (not online for WIFI_FALLBACK_MS)
//                     +-> access point + station retrying (backoff)   -> online: the access point
//                                                                         closes AP_LINGER_MS later
//
// Networks, in the order they are tried: the build's `ssid=` (first choice), then the one `wifi
// join` saved. `wifi join SSID` scans first (a network that is not there is refused while the board
// stays where it is), keeps the access point up while it tries (so the board stays reachable), and
// saves the network only once the station got an address; a refused or silent network gives the
// reason and the board goes back to the networks it had. A board has one station interface: a join
// leaves the old network for the time of the attempt (an SSH session over it pauses; over the
// access point it does not).

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { utf8Decode, utf8Encode } from "../ssh/wire.js";
import { fail, printAndExit, type CommandTable } from "./commands.js";
import { isAdmin } from "./roles.js";

/** The access point's name: this prefix and the last two bytes of the MAC in hex. */
export const AP_SSID_PREFIX = "esp-ssh-console-";
/** Letters of a generated access-point password (WPA2 wants 8..63 characters). */
export const AP_PASSWORD_LENGTH = 12;
const AP_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";
/** How long the configured networks may stay unreachable before the access point opens. Long enough
 * for a router's reboot, short enough that a board moved to another site is reachable soon. */
export const WIFI_FALLBACK_MS = 120_000;
/** How long a join (scan done, association, DHCP) may take before it counts as failed: ESP-IDF's own
 * five retries of an association take up to ~15 s. */
export const WIFI_JOIN_TIMEOUT_MS = 30_000;
/** How long the access point stays up once the station is online again (the session that ran `wifi
 * join` over it reads the answer and moves to the new network). */
export const AP_LINGER_MS = 60_000;
/** Retries of the configured networks: from this, doubling, to at most WIFI_RETRY_MAX_MS. */
export const WIFI_RETRY_FIRST_MS = 1000;
export const WIFI_RETRY_MAX_MS = 60_000;
/** A scan that has not finished by then is reported failed. */
export const WIFI_SCAN_TIMEOUT_MS = 15_000;
/** 802.11 limits: an SSID is 1..32 bytes; a WPA2 passphrase 8..63 characters (or 64 hex digits). */
export const SSID_MAX_BYTES = 32;
export const PASSPHRASE_MIN = 8;
export const PASSPHRASE_MAX = 64;
/** `wifi forget` leaves the network this long after answering (the answer gets out first). */
export const FORGET_LEAVE_MS = 1000;
/** A DNS label, as mDNS claims it. */
export const HOSTNAME_MAX = 63;

export interface ScanResult {
  ssid: string;
  rssi: number;
  channel: number;
  /** "none", "wpa2_psk", ... as the SDK names them. */
  security: string;
}

export interface StationState {
  /** Has an address. */
  online: boolean;
  address: string;
  ssid: string;
  rssi: number | null;
}

/** The platform's radio. Calls may throw (the SDK refuses); the state machine reports that. */
export interface WifiRadio {
  /** The station MAC, "aa:bb:cc:dd:ee:ff". */
  readonly mac: string;
  station(): StationState;
  /** Starts associating (leaving any network joined before). */
  connect(ssid: string, password: string): void;
  disconnect(): void;
  /** Starts the access point (WPA2) beside the station; returns its address. */
  startAccessPoint(ssid: string, password: string): string;
  stopAccessPoint(): void;
  /** Calls found() for each network, then done(null), or done(reason). */
  scan(found: (n: ScanResult) => void, done: (error: string | null) => void): void;
}

export interface Network {
  ssid: string;
  password: string;
}

/** What survives a reboot (NVS on a board). */
export interface WifiStore {
  loadNetwork(): Network | null;
  saveNetwork(n: Network): void;
  forgetNetwork(): void;
  loadHostname(): string | null;
  saveHostname(name: string): void;
}

export interface WifiOptions {
  radio: WifiRadio;
  store: WifiStore;
  /** The build's network (mcconfig ssid=/password=), or null. */
  builtIn: Network | null;
  /** The access point's WPA2 password. */
  apPassword: string;
  /** The build's hostname (used until `hostname` sets one). */
  hostname: string;
  log(line: string): void;
  now(): number;
  /** The station got an address (start mDNS, SNTP...). */
  online?(address: string): void;
  /** The access point opened at this address. */
  accessPoint?(address: string): void;
  /** Call tick() again in this many ms (the next retry's time; tick() also runs once a second). */
  wake?(delayMs: number): void;
  /** The hostname changed (claim it again). */
  hostnameChanged?(name: string): void;
  fallbackMs?: number;
  joinTimeoutMs?: number;
  lingerMs?: number;
}

/** The access point's name for a MAC "aa:bb:cc:dd:ee:ff": esp-ssh-console-EEFF. */
export function apSsid(mac: string): string {
  const hex = mac.split(":").join("").toUpperCase();
  return AP_SSID_PREFIX + (hex.length >= 4 ? hex.slice(-4) : "0000");
}

/** The access point's password from the board's secret (random, kept in NVS): AP_PASSWORD_LENGTH
 * letters of SHA-256("esp-ssh-console ap" || secret). */
export function apPasswordFrom(secret: Uint8Array, sha256: (data: Uint8Array) => Uint8Array): string {
  const label = utf8Encode("esp-ssh-console ap");
  const input = new Uint8Array(label.length + secret.length);
  input.set(label, 0);
  input.set(secret, label.length);
  const digest = sha256(input);
  let out = "";
  // 256 is a multiple of the 32-letter alphabet: no modulo bias.
  for (let i = 0; i < AP_PASSWORD_LENGTH; i++) out += AP_PASSWORD_ALPHABET[digest[i] % AP_PASSWORD_ALPHABET.length];
  return out;
}

/** Why an SSID cannot be used, or null. */
export function ssidProblem(ssid: string): string | null {
  const n = utf8Encode(ssid).length;
  if (n === 0) return "an SSID is 1 to 32 bytes; this one is empty";
  if (n > SSID_MAX_BYTES) return `an SSID is 1 to ${SSID_MAX_BYTES} bytes; this one has ${n}`;
  return null;
}

/** Why a WPA2 passphrase cannot be used ("" is an open network), or null. */
export function passphraseProblem(password: string): string | null {
  if (password === "") return null;
  const n = utf8Encode(password).length;
  if (n < PASSPHRASE_MIN || n > PASSPHRASE_MAX) return `a WPA2 password is ${PASSPHRASE_MIN} to ${PASSPHRASE_MAX - 1} characters (or ${PASSPHRASE_MAX} hex digits); this one has ${n}`;
  if (n === PASSPHRASE_MAX) {
    for (let i = 0; i < password.length; i++) if ("0123456789abcdefABCDEF".indexOf(password[i]) < 0) return `a ${PASSPHRASE_MAX}-character WPA2 key must be hex digits`;
  }
  return null;
}

/** Why a hostname cannot be an mDNS name, or null: a DNS label (letters, digits, inner "-"). */
export function hostnameProblem(name: string): string | null {
  if (name.length === 0 || name.length > HOSTNAME_MAX) return `a hostname is 1 to ${HOSTNAME_MAX} characters`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const letterOrDigit = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!letterOrDigit && !(c === 0x2d && i > 0 && i < name.length - 1)) return "a hostname has letters, digits and '-' (not first or last) only";
  }
  return null;
}

type JoinReport = (ok: boolean, message: string) => void;

interface Join {
  network: Network;
  since: number;
  report: JoinReport;
  /** "scanning" until the network was seen, then "connecting". */
  phase: "scanning" | "connecting";
}

/** The provisioning state machine. */
export class WifiProvisioner {
  readonly apSsid: string;
  hostname: string;
  /** Is the access point up, and its address. */
  apUp = false;
  apAddress = "";
  private readonly fallbackMs: number;
  private readonly joinTimeoutMs: number;
  private readonly lingerMs: number;
  /** When the station was last seen online (or start-up): the fallback counts from here. */
  private offlineSince: number;
  private online = false;
  /** The network the station is on (for the log). */
  private onlineSsid = "";
  /** The automatic attempt running: which network and since when (-1: none). */
  private attemptIndex = -1;
  private attemptSince = -1;
  private nextAttemptAt = 0;
  private backoff = WIFI_RETRY_FIRST_MS;
  /** Rotates through the networks after failed attempts. */
  private nextIndex = 0;
  private apHoldUntil = -1;
  /** When to leave the network `wifi forget` dropped (-1: nothing to leave). */
  private leaveAt = -1;
  private join: Join | null = null;
  private scanning = false;
  private scanDeadline = -1;
  private scanDone: ((results: ScanResult[] | null, error: string) => void) | null = null;
  private scanResults: ScanResult[] = [];

  constructor(private readonly o: WifiOptions) {
    this.apSsid = apSsid(o.radio.mac);
    this.fallbackMs = o.fallbackMs ?? WIFI_FALLBACK_MS;
    this.joinTimeoutMs = o.joinTimeoutMs ?? WIFI_JOIN_TIMEOUT_MS;
    this.lingerMs = o.lingerMs ?? AP_LINGER_MS;
    this.offlineSince = o.now();
    const stored = o.store.loadHostname();
    this.hostname = stored !== null && hostnameProblem(stored) === null ? stored : o.hostname;
  }

  /** The networks to try, in order: the build's first, then the saved one. */
  networks(): { network: Network; source: "built in" | "saved" }[] {
    const out: { network: Network; source: "built in" | "saved" }[] = [];
    if (this.o.builtIn && this.o.builtIn.ssid) out.push({ network: this.o.builtIn, source: "built in" });
    const saved = this.o.store.loadNetwork();
    if (saved && saved.ssid && !(out.length > 0 && out[0].network.ssid === saved.ssid)) out.push({ network: saved, source: "saved" });
    return out;
  }

  /** Once, at start: the station may already be online (setup/network joined the build's network). */
  start(): void {
    const s = this.o.radio.station();
    if (s.online) this.stationUp(s.address);
    else if (this.networks().length === 0) {
      this.o.log("Wi-Fi: no network configured");
      this.update();
    } else this.update();
  }

  /** The station has an address. */
  stationUp(address: string): void {
    const now = this.o.now();
    const s = this.o.radio.station();
    const j = this.join;
    if (j && j.phase === "connecting") {
      if (s.ssid !== "" && s.ssid !== j.network.ssid) return; // the old network, still going: wait for ours
      this.join = null;
      try {
        this.o.store.saveNetwork(j.network);
      } catch (e) {
        this.o.log(`Wi-Fi: could not save "${j.network.ssid}": ${(e as Error).message}`);
      }
      this.o.log(`Wi-Fi: joined "${j.network.ssid}" (saved)`);
      const closing = this.apUp ? `; the access point ${this.apSsid} closes in ${Math.round(this.lingerMs / 1000)} s` : "";
      j.report(true, `joined "${j.network.ssid}": address ${address}; ssh console@${this.hostname}.local${closing}`);
    }
    this.attemptIndex = -1;
    this.backoff = WIFI_RETRY_FIRST_MS;
    this.online = true;
    this.onlineSsid = s.ssid;
    if (this.apUp) this.apHoldUntil = Math.max(this.apHoldUntil, now + this.lingerMs);
    this.o.log(`Wi-Fi: ${s.ssid || "online"}, address ${address}`);
    this.o.online?.(address);
    this.update();
  }

  /** The station lost its address, or an association attempt failed. */
  stationDown(): void {
    const now = this.o.now();
    if (this.online) {
      this.online = false;
      this.offlineSince = now;
      this.o.log(`Wi-Fi: disconnected from "${this.onlineSsid}"`);
      // The first retry after a drop waits WIFI_RETRY_FIRST_MS (the network may be rebooting).
      this.nextAttemptAt = now + this.backoff;
      this.backoff = Math.min(this.backoff * 2, WIFI_RETRY_MAX_MS);
    }
    const j = this.join;
    if (j && j.phase === "connecting") {
      // ESP-IDF gives up on a refused handshake within seconds; the reason code is not passed on by
      // the SDK's ECMA-419 module, but the network was just seen in a scan: the password is the
      // likely cause.
      this.failJoin(`"${j.network.ssid}" refused the connection (wrong password?)`);
      return;
    }
    if (this.attemptIndex >= 0) this.attemptFailed();
    this.update();
  }

  /** About once a second. */
  tick(): void {
    const now = this.o.now();
    const j = this.join;
    if (j && now - j.since >= this.joinTimeoutMs) {
      this.failJoin(j.phase === "scanning" ? "the scan did not finish" : `no connection to "${j.network.ssid}" within ${Math.round(this.joinTimeoutMs / 1000)} s`);
    }
    if (this.scanning && this.scanDeadline >= 0 && now >= this.scanDeadline) this.finishScan("the scan did not finish");
    if (this.leaveAt >= 0 && now >= this.leaveAt) {
      this.leaveAt = -1;
      try {
        this.o.radio.disconnect();
      } catch {
        // not associated
      }
      if (this.online) this.o.log(`Wi-Fi: left "${this.onlineSsid}"`);
      this.online = false;
      this.attemptIndex = -1;
      this.offlineSince = now;
    }
    if (!this.join && this.attemptIndex >= 0 && now - this.attemptSince >= this.joinTimeoutMs) {
      try {
        this.o.radio.disconnect();
      } catch {
        // nothing to leave
      }
      this.attemptFailed();
    }
    this.update();
  }

  /** The next attempt is already timed (from when this one started); the next network's turn. */
  private attemptFailed(): void {
    this.attemptIndex = -1;
    this.nextIndex++;
  }

  private failJoin(why: string): void {
    const j = this.join;
    if (!j) return;
    this.join = null;
    this.o.log(`Wi-Fi: joining "${j.network.ssid}" failed: ${why}`);
    try {
      this.o.radio.disconnect();
    } catch {
      // not associated
    }
    // Back to the networks the board had, at once; the access point stays up meanwhile.
    this.attemptIndex = -1;
    this.nextAttemptAt = this.o.now();
    this.backoff = WIFI_RETRY_FIRST_MS;
    this.nextIndex = 0;
    const where = this.apUp ? `; the access point ${this.apSsid} stays up at ${this.apAddress}` : "";
    j.report(false, `could not join "${j.network.ssid}": ${why}${this.networks().length ? "; back to the networks before" : ""}${where}`);
    this.update();
  }

  /** Decides what should run now: the automatic attempts, the access point. */
  private update(): void {
    const now = this.o.now();
    const nets = this.networks();
    if (!this.online && !this.join && this.attemptIndex < 0 && nets.length > 0 && now >= this.nextAttemptAt) {
      const index = this.nextIndex % nets.length;
      const n = nets[index].network;
      this.attemptIndex = index;
      this.attemptSince = now;
      // Attempts start WIFI_RETRY_FIRST_MS apart, then twice as far each time.
      this.nextAttemptAt = now + this.backoff;
      this.backoff = Math.min(this.backoff * 2, WIFI_RETRY_MAX_MS);
      this.o.log(`Wi-Fi: ${this.onlineSsid === "" ? "connecting" : "reconnecting"} to "${n.ssid}"`);
      try {
        this.o.radio.connect(n.ssid, n.password);
      } catch (e) {
        this.o.log(`Wi-Fi: connect failed: ${(e as Error).message}`);
        this.attemptFailed();
      }
    }
    if (!this.online && !this.join && nets.length > 0 && this.nextAttemptAt > now) this.o.wake?.(this.nextAttemptAt - now);
    const wantAp = nets.length === 0 || this.join !== null || (!this.online && now - this.offlineSince >= this.fallbackMs) || (this.apUp && !this.online) || now < this.apHoldUntil;
    if (wantAp && !this.apUp) this.openAccessPoint(nets.length === 0 ? "no network configured" : this.join ? "a join is being tried" : `no network for ${Math.round((now - this.offlineSince) / 1000)} s`);
    else if (!wantAp && this.apUp) this.closeAccessPoint();
  }

  private openAccessPoint(why: string): void {
    try {
      this.apAddress = this.o.radio.startAccessPoint(this.apSsid, this.o.apPassword);
      this.apUp = true;
      this.o.log(`Wi-Fi: access point "${this.apSsid}" (WPA2, password ${this.o.apPassword}) at ${this.apAddress}: ${why}; ssh console@${this.apAddress}`);
      this.o.accessPoint?.(this.apAddress);
    } catch (e) {
      this.o.log(`Wi-Fi: access point "${this.apSsid}" failed: ${(e as Error).message}`);
    }
  }

  private closeAccessPoint(): void {
    try {
      this.o.radio.stopAccessPoint();
    } catch (e) {
      this.o.log(`Wi-Fi: closing the access point: ${(e as Error).message}`);
    }
    this.apUp = false;
    this.apHoldUntil = -1;
    this.o.log(`Wi-Fi: access point "${this.apSsid}" closed (online)`);
  }

  /** Scans; done(results) or done(null, reason). One scan at a time. */
  scan(done: (results: ScanResult[] | null, error: string) => void): void {
    if (this.scanning) {
      done(null, "a scan is already running");
      return;
    }
    this.scanning = true;
    this.scanDeadline = this.o.now() + WIFI_SCAN_TIMEOUT_MS;
    this.scanDone = done;
    this.scanResults = [];
    try {
      this.o.radio.scan(
        (n) => {
          if (this.scanning) this.scanResults.push(n);
        },
        (error) => this.finishScan(error ?? ""),
      );
    } catch (e) {
      this.finishScan((e as Error).message);
    }
  }

  private finishScan(error: string): void {
    if (!this.scanning) return;
    this.scanning = false;
    this.scanDeadline = -1;
    const done = this.scanDone;
    this.scanDone = null;
    const results = this.scanResults;
    this.scanResults = [];
    // Strongest first; one line per SSID (the strongest of its access points).
    results.sort((a, b) => b.rssi - a.rssi);
    const seen: string[] = [];
    const unique: ScanResult[] = [];
    for (const r of results) {
      if (r.ssid === "" || seen.indexOf(r.ssid) >= 0) continue;
      seen.push(r.ssid);
      unique.push(r);
    }
    done?.(error ? null : unique, error);
  }

  /** `wifi join`: report(ok, message) once it is decided. */
  joinNetwork(network: Network, report: JoinReport): void {
    if (this.join) {
      report(false, `a join of "${this.join.network.ssid}" is already running`);
      return;
    }
    const j: Join = { network, since: this.o.now(), report, phase: "scanning" };
    this.join = j;
    if (this.attemptIndex >= 0) {
      // An ESP32 cannot scan while its station is associating: the automatic attempt gives way.
      this.attemptIndex = -1;
      try {
        this.o.radio.disconnect();
      } catch {
        // not associating after all
      }
    }
    this.update(); // the access point opens before anything is left
    this.scan((results, error) => {
      if (this.join !== j) return;
      if (results && !results.some((r) => r.ssid === network.ssid)) {
        this.join = null;
        const stay = this.online ? `; still on "${this.o.radio.station().ssid}"` : "";
        report(false, `"${network.ssid}" is not in range (a scan saw ${results.length} network${results.length === 1 ? "" : "s"})${stay}`);
        if (this.apUp && this.online) this.apHoldUntil = Math.max(this.apHoldUntil, this.o.now() + this.lingerMs);
        this.update();
        return;
      }
      if (error) this.o.log(`Wi-Fi: scan before the join failed (${error}): trying "${network.ssid}" anyway`);
      j.phase = "connecting";
      j.since = this.o.now();
      this.attemptIndex = -1;
      this.o.log(`Wi-Fi: joining "${network.ssid}"`);
      try {
        if (this.o.radio.station().online || this.online) this.o.radio.disconnect();
        this.online = false;
        this.offlineSince = this.o.now();
        this.o.radio.connect(network.ssid, network.password);
      } catch (e) {
        this.failJoin((e as Error).message);
      }
    });
  }

  /** `wifi forget`: the saved network goes; a message. */
  forget(): string {
    const saved = this.o.store.loadNetwork();
    if (!saved) return this.o.builtIn?.ssid ? `no saved network; "${this.o.builtIn.ssid}" is built into the firmware (build without ssid= to drop it)` : "no saved network";
    this.o.store.forgetNetwork();
    this.o.log(`Wi-Fi: forgot "${saved.ssid}"`);
    const s = this.o.radio.station();
    const builtIn = this.o.builtIn?.ssid ?? "";
    this.nextIndex = 0;
    if ((s.online || this.attemptIndex >= 0) && s.ssid !== builtIn) {
      this.leaveAt = this.o.now() + FORGET_LEAVE_MS;
      this.o.wake?.(FORGET_LEAVE_MS);
    }
    this.update();
    const next = builtIn ? `; the built-in "${builtIn}" stays` : this.apUp ? `; access point ${this.apSsid} at ${this.apAddress}` : "";
    return `forgot "${saved.ssid}"${next}`;
  }

  /** `hostname NAME`: an error message, or null. */
  setHostname(name: string): string | null {
    const problem = hostnameProblem(name);
    if (problem) return problem;
    this.o.store.saveHostname(name);
    this.hostname = name;
    this.o.log(`hostname: ${name}.local`);
    this.o.hostnameChanged?.(name);
    return null;
  }

  /** `wifi` lines. */
  status(): string[] {
    const now = this.o.now();
    const s = this.o.radio.station();
    const mode = this.online && this.apUp ? "station+ap" : this.apUp ? "ap" : "station";
    const lines = [`mode: ${mode}`];
    const nets = this.networks();
    if (this.online) lines.push(`station: "${s.ssid}" address ${s.address}${s.rssi !== null ? ` rssi ${s.rssi} dBm` : ""}`);
    else if (this.join) lines.push(`station: joining "${this.join.network.ssid}" (${Math.round((now - this.join.since) / 1000)} s)`);
    else if (nets.length === 0) lines.push("station: off (no network configured: wifi join SSID)");
    else if (this.attemptIndex >= 0) lines.push(`station: connecting to "${nets[this.attemptIndex % nets.length].network.ssid}"`);
    else lines.push(`station: not connected; next try in ${Math.max(0, Math.round((this.nextAttemptAt - now) / 1000))} s`);
    lines.push(this.apUp ? `access point: "${this.apSsid}" at ${this.apAddress} (WPA2)` : `access point: off ("${this.apSsid}" opens after ${Math.round(this.fallbackMs / 1000)} s without a network)`);
    lines.push(`networks: ${nets.length ? nets.map((n) => `"${n.network.ssid}" (${n.source})`).join(", ") : "none"}`);
    lines.push(`hostname: ${this.hostname}.local`);
    return lines;
  }
}

/** Reads a secret line from the channel: never echoed (a pty's terminal is raw, so nothing shows),
 * never logged, kept by no history. done(null) when cancelled (^C, or end of input at a terminal). */
function readSecret(ctx: SessionContext, done: (secret: string | null) => void): SessionProgram {
  const bytes = new Uint8Array(PASSPHRASE_MAX * 4);
  let length = 0;
  let finished = false;
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    if (ctx.pty) ctx.print("\n");
    const secret = ok ? utf8Decode(bytes.subarray(0, length)) : null;
    bytes.fill(0);
    done(secret);
  };
  return {
    data(input) {
      ctx.consume(input.length);
      for (let i = 0; i < input.length && !finished; i++) {
        const c = input[i];
        if (c === 0x0d || c === 0x0a) finish(true);
        else if (c === 0x03) finish(false);
        else if (c === 0x7f || c === 0x08) length = Math.max(0, length - 1);
        else if (length < bytes.length) bytes[length++] = c;
      }
    },
    eof() {
      // Piped in without a newline: the bytes are the password; at a terminal, ^D means cancel.
      finish(ctx.pty === null);
    },
  };
}

/** Registers `wifi` and `hostname` (admin only). */
export function installWifi(table: CommandTable, wifi: WifiProvisioner, log: (line: string) => void): void {
  table.infoSections.push(() => [`wifi: ${wifi.status()[1].slice("station: ".length)}${wifi.apUp ? `; access point "${wifi.apSsid}" up` : ""}`]);
  table.register({
    name: "wifi",
    role: "admin",
    summary: "Wi-Fi: wifi [status] | wifi scan | wifi join SSID (password on input) | wifi forget",
    run: (ctx, args) => {
      if (!isAdmin(ctx)) return fail(ctx, "wifi: only an administrator may change the network", 1);
      const sub = args[0] ?? "status";
      if (sub === "status" && args.length <= 1) return printAndExit(ctx, wifi.status().join("\n") + "\n");
      if (sub === "scan" && args.length === 1) return scanProgram(ctx, wifi);
      if (sub === "forget" && args.length === 1) {
        log(`${ctx.remote}: wifi forget by user "${ctx.user}"`);
        return printAndExit(ctx, wifi.forget() + "\n");
      }
      if (sub === "join" && args.length === 2) {
        const problem = ssidProblem(args[1]);
        if (problem) return fail(ctx, `wifi join: ${problem}`, 2);
        return joinProgram(ctx, wifi, args[1], log);
      }
      return fail(ctx, "usage: wifi [status] | wifi scan | wifi join SSID | wifi forget", 2);
    },
  });
  table.register({
    name: "hostname",
    role: "admin",
    summary: "the mDNS name: hostname [NAME] (NAME.local, kept across reboots)",
    run: (ctx, args) => {
      if (args.length === 0) return printAndExit(ctx, `${wifi.hostname}\n`);
      if (!isAdmin(ctx)) return fail(ctx, "hostname: only an administrator may rename the board", 1);
      if (args.length !== 1) return fail(ctx, "usage: hostname [NAME]", 2);
      let error: string | null;
      try {
        error = wifi.setHostname(args[0]);
      } catch (e) {
        error = `not stored: ${(e as Error).message}`;
      }
      if (error) return fail(ctx, `hostname: ${error}`, 1);
      log(`${ctx.remote}: hostname ${args[0]} by user "${ctx.user}"`);
      return printAndExit(ctx, `hostname: ${args[0]} (${args[0]}.local)\n`);
    },
  });
}

function scanProgram(ctx: SessionContext, wifi: WifiProvisioner): SessionProgram {
  let closed = false;
  return {
    start() {
      wifi.scan((results, error) => {
        if (closed) return;
        if (!results) {
          ctx.print(`wifi scan: ${error}\n`, true);
          ctx.exit(1);
          return;
        }
        const lines = results.map((r) => `${String(r.rssi).padStart(4)} dBm  ch ${String(r.channel).padStart(2)}  ${r.security.padEnd(13)} ${r.ssid}`);
        ctx.print(lines.length ? lines.join("\n") + "\n" : "no networks found\n");
        ctx.exit(0);
      });
    },
    closed() {
      closed = true;
    },
  };
}

function joinProgram(ctx: SessionContext, wifi: WifiProvisioner, ssid: string, log: (line: string) => void): SessionProgram {
  let closed = false;
  let reading: SessionProgram | null = null;
  const joined = (password: string | null) => {
    reading = null;
    if (closed) return;
    if (password === null) {
      ctx.print("wifi join: cancelled\n", true);
      ctx.exit(1);
      return;
    }
    const problem = passphraseProblem(password);
    if (problem) {
      ctx.print(`wifi join: ${problem}\n`, true);
      ctx.exit(2);
      return;
    }
    log(`${ctx.remote}: wifi join "${ssid}" by user "${ctx.user}"`);
    ctx.print(`joining "${ssid}"... (the access point ${wifi.apSsid} stays up meanwhile)\n`);
    wifi.joinNetwork({ ssid, password }, (ok, message) => {
      if (closed) return;
      ctx.print(`${message}\n`, !ok);
      ctx.exit(ok ? 0 : 1);
    });
  };
  return {
    start() {
      ctx.print(`password for "${ssid}" (not shown; empty line for an open network): `);
      reading = readSecret(ctx, joined);
    },
    data(bytes) {
      if (reading) reading.data?.(bytes);
      else ctx.consume(bytes.length);
    },
    eof() {
      reading?.eof?.();
    },
    closed() {
      closed = true;
    },
  };
}
