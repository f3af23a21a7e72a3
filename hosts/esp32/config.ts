// The ESP32 host's settings: the manifest's "config" (manifest.json, manifest_littlefs.json), which
// mcconfig's `name=value` arguments override (as strings), e.g.
//   mcconfig -d -m -p esp32 ssid=home password=secret uart_baud=9600 hostname=router-console
// (no ssid=: the board opens its access point, see modules/console/wifi.ts).
// Every value is checked here once, at start, so a typo fails with a message instead of later.

import config from "mc/config";
import { hostnameProblem, passphraseProblem } from "../../modules/console/wifi.js";
import { validAddressList } from "../../modules/ssh/access.js";

export interface Esp32Config {
  /** Wi-Fi network (mcconfig ssid=/password=; manifest_net's setup/network connects before main). */
  ssid: string;
  password: string;
  /** The access point's WPA2 password (ap_password=; "" = derived from the board's secret in NVS). */
  apPassword: string;
  /** Seconds the configured networks may be unreachable before the access point opens
   * (wifi_fallback_s=; default WIFI_FALLBACK_MS of modules/console/wifi.ts). */
  fallbackMs: number | undefined;
  /** SNTP servers, tried in turn (sntp_servers=a,b,c). */
  sntpServers: string[];
  /** mDNS name (HOSTNAME.local) and the name `info` shows (until `hostname NAME` sets another). */
  hostname: string;
  /** TCP port of the SSH server. */
  sshPort: number;
  /** The bridged UART: ESP32 UART number (UART0 belongs to xsbug and the boot log), pins, baud. */
  uart: { name: string; port: number; transmit: number; receive: number; baud: number } | null;
  /** Flash store: "spiffs" (flat, manifest.json) or "littlefs" (directories, manifest_littlefs.json). */
  fs: "spiffs" | "littlefs";
  /** Where the `file` module mounts the store (config.file.root: "/mod/" SPIFFS, "/" LittleFS). */
  fileRoot: string;
  /** Sources never penalized for failed logins (penalty_exempt=10.0.0.0/8,192.168.1.5; sshd's
   * PerSourcePenaltyExemptList). Default "" (none), as OpenSSH. */
  penaltyExempt: string;
}

/** Defaults when the manifest says nothing: an ESP32 DevKitC's UART2 on its usual pins. */
const DEFAULTS = Object.freeze({ hostname: "esp-ssh-console", sshPort: 22, uartPort: 2, uartTx: 17, uartRx: 16, uartBaud: 115200, sntpServers: "0.pool.ntp.org,1.pool.ntp.org,2.pool.ntp.org" });

function text(name: string, fallback: string): string {
  const v = config[name];
  return v === undefined || v === null ? fallback : String(v);
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const v = config[name];
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "number" ? v : Number(String(v));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`config ${name}=${String(v)}: want an integer ${min}..${max}`);
  return n;
}

export function readConfig(): Esp32Config {
  const fs = text("fs", "spiffs");
  if (fs !== "spiffs" && fs !== "littlefs") throw new Error(`config fs=${fs}: want "spiffs" or "littlefs"`);
  const hostname = text("hostname", DEFAULTS.hostname);
  const hostProblem = hostnameProblem(hostname);
  if (hostProblem) throw new Error(`config hostname=${hostname}: ${hostProblem}`);
  const uartPort = integer("uart_port", DEFAULTS.uartPort, -1, 2);
  const apPassword = text("ap_password", "");
  const apProblem = apPassword ? passphraseProblem(apPassword) : null;
  if (apProblem || apPassword.length === 64) throw new Error(`config ap_password: ${apProblem ?? "want 8 to 63 characters"}`);
  const fallback = integer("wifi_fallback_s", -1, 5, 86_400);
  const penaltyExempt = text("penalty_exempt", "").trim();
  if (penaltyExempt !== "" && !validAddressList(penaltyExempt, true)) throw new Error(`config penalty_exempt=${penaltyExempt}: want addresses, patterns or CIDR blocks, comma-separated`);
  const sntpServers = text("sntp_servers", DEFAULTS.sntpServers).split(",").map((h) => h.trim()).filter((h) => h !== "");
  return {
    ssid: text("ssid", ""),
    password: text("password", ""),
    apPassword,
    fallbackMs: fallback < 0 ? undefined : fallback * 1000,
    sntpServers,
    hostname,
    sshPort: integer("ssh_port", DEFAULTS.sshPort, 1, 65535),
    uart:
      uartPort < 0
        ? null // uart_port=-1: no bridged UART; `ssh board` gets the device's own shell
        : {
            name: text("uart_name", `uart${uartPort}`),
            port: uartPort,
            transmit: integer("uart_tx", DEFAULTS.uartTx, 0, 48),
            receive: integer("uart_rx", DEFAULTS.uartRx, 0, 48),
            baud: integer("uart_baud", DEFAULTS.uartBaud, 300, 5_000_000),
          },
    fs,
    fileRoot: config.file.root,
    penaltyExempt,
  };
}
