// The ESP32 host (Moddable SDK 8.2.3): wires the sans-I/O core (modules/) to the board, as
// hosts/node/server.ts does on node. One SshServer; an SshListener turning each accepted lwIP socket
// into a ServerConnection (socket.ts); the bridged UART (serial.ts); the flash store (flash.ts);
// keys and secrets (keystore.ts); Wi-Fi, the access point, mDNS and SNTP (network.ts, with the
// provisioning state machine of modules/console/wifi.ts); native crypto (crypto.ts);
// a tick every second.
//
// Event flow and the absence of long turns: everything runs on the XS thread, one callback at a
// time (socket readable/writable, UART readable/writable, timers). Each callback does bounded work:
// socket input is read 2 KiB at a time, the core handles at most one TCP read per call, SFTP/scp
// write at most one request's data (<= 32 KiB) per call, in 2 KiB flash pieces. The long ones are
// native: a key exchange (X25519 + Ed25519 sign, libsodium) and SPIFFS erases during uploads. The
// SDK's sdkconfig disables the task watchdog; the real bound is the UART's 128-byte receive FIFO
// (~11 ms at 115200 baud), see README.md, "ESP32 firmware".

import { createDevice } from "../../modules/console/device.js";
import { apPasswordFrom, installWifi } from "../../modules/console/wifi.js";
import Time from "time";
import Timer from "timer";
import { SerialConsole } from "../../modules/console/console.js";
import { BOARD_TRANSFER_LENGTH, Files } from "../../modules/files/files.js";
import { BOARD_LIMITS, SshServer, type ServerLimits } from "../../modules/ssh/server.js";
import { readConfig, type Esp32Config } from "./config.js";
import { createEsp32Crypto } from "./crypto.js";
import { ModdableFlashStore } from "./flash.js";
import { addedKeysFile, builtInAuthorizedKeys, loadOrCreateApSecret, loadOrCreateHostKeys, loadOrCreatePasswordHash } from "./keystore.js";
import { RuntimeKeys } from "../../modules/console/keys.js";
import { NetworkMonitor, nvsWifiStore } from "./network.js";
import { Esp32Uart } from "./serial.js";
import { SshListener } from "./socket.js";
import { Esp32OtaHost } from "./ota.js";

/** How often connections are checked for timeouts and rekey. */
const TICK_MS = 1000;
/** A host key that is slow to make (RSA) is made this long after start-up: Wi-Fi is up and a first
 * client can log in with the Ed25519 key meanwhile. */
const RSA_AFTER_BOOT_MS = 10_000;

/** The board limits the QEMU firmware measures too (BOARD_LIMITS in modules/ssh/server.ts): 16 KiB
 * windows, 4 KiB channel packets and send queues, 4 connections (2 not logged in). The XS machine
 * (`creation` in manifest_app.json) is sized with them; see README.md, "ESP32 firmware", Memory. */
export const ESP32_LIMITS: Partial<ServerLimits> = BOARD_LIMITS;

export interface Esp32Host {
  readonly config: Esp32Config;
  readonly ssh: SshServer;
  readonly files: Files;
  readonly console: SerialConsole | null;
  readonly network: NetworkMonitor;
}

function log(line: string): void {
  trace(`${line}\n`);
}

export function startEsp32(): Esp32Host | null {
  let config: Esp32Config;
  try {
    config = readConfig();
  } catch (e) {
    log(`esp-ssh-console: ${(e as Error).message}`);
    return null;
  }
  // Wi-Fi first: creating the WiFi object starts the radio (when setup/network did not: no ssid=),
  // and only with the radio on is esp_fill_random a true RNG, which the host keys and the access
  // point's secret come from.
  const network = new NetworkMonitor({
    ssid: config.ssid,
    password: config.password,
    hostname: config.hostname,
    sshPort: config.sshPort,
    sntpServers: config.sntpServers,
    fallbackMs: config.fallbackMs,
    log,
    online: (address) => log(`ssh: listening on ${address}:${config.sshPort} (ssh console@${network.provisioner?.hostname ?? config.hostname}.local)`),
    accessPoint: (address) => log(`ssh: listening on ${address}:${config.sshPort} (access point)`),
  });

  const crypto = createEsp32Crypto();
  const hostKeys = loadOrCreateHostKeys(crypto, log);
  const runtimeKeys = new RuntimeKeys(crypto, builtInAuthorizedKeys(log), addedKeysFile(), log);
  const keys = runtimeKeys.all();
  const passwordHash = loadOrCreatePasswordHash(keys.length > 0, crypto, log);
  const apPassword = config.apPassword || apPasswordFrom(loadOrCreateApSecret(crypto), (d) => crypto.sha256(d));

  const uarts: Esp32Uart[] = [];
  if (config.uart) {
    try {
      uarts.push(new Esp32Uart({ ...config.uart, log }));
    } catch (e) {
      log(`uart${config.uart.port}: ${(e as Error).message}: serving the device shell only`);
    }
  }

  const store = new ModdableFlashStore(config.fileRoot, config.fs === "littlefs", () => network.clock.wallClock());
  let ota: Esp32OtaHost | undefined;
  try {
    ota = new Esp32OtaHost();
    log(`firmware ${ota.runningVersion}: OTA slot of ${ota.slotSize} bytes for ${ota.format.name}s`);
  } catch (e) {
    log(`ota: not available: ${(e as Error).message}`);
  }
  const { ssh, apps, files, serial } = createDevice({
    crypto,
    hostKeys: hostKeys.keys,
    // The name `hostname NAME` keeps, else the build's (a rename shows here after a reboot).
    hostName: `esp32 (${nvsWifiStore().loadHostname() ?? config.hostname})`,
    log,
    now: () => Time.ticks,
    // Unset until SNTP answered: an ESP32 starts its clock at 1970 on every power-up.
    wallClock: () => network.clock.wallClock(),
    clockSource: () => network.clock.source,
    limits: ESP32_LIMITS,
    penaltyExempt: config.penaltyExempt,
    store,
    transferLength: BOARD_TRANSFER_LENGTH,
    uarts,
    keys: () => runtimeKeys.all(),
    runtimeKeys,
    passwordHash,
    ota,
  });
  new SshListener(ssh, config.sshPort, log);
  Timer.repeat(() => ssh.tick(), TICK_MS);

  const wifi = network.start(apPassword);
  installWifi(apps.commands, wifi, log);

  for (const line of ssh.hostKeyLines()) log(`host key ${line}`);
  if (hostKeys.pending.length > 0) {
    // RSA's prime search holds the XS thread for seconds: after start-up, not before the first
    // connection can be served.
    Timer.set(() => {
      hostKeys.makeLater();
      for (const line of ssh.hostKeyLines()) log(`host key ${line}`);
    }, RSA_AFTER_BOOT_MS);
  }
  log(`flash ${config.fs} at ${config.fileRoot}: ${store.capacity} bytes, ${store.used()} used`);
  if (serial) for (const b of serial.bridges) log(`uart ${b.port.name}: ${b.port.description}`);
  log(`authorized keys: ${keys.length}${passwordHash ? ", password login on" : ""}`);
  return { config, ssh, files, console: serial, network };
}
