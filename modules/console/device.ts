// The device every host runs: device commands, the flash store with its file transfer, the serial
// console over the host's UARTs, who may log in, and the SSH server serving them. Hosts bring the
// platform (crypto provider, host key, store, UARTs, clock, sockets); this puts the product together
// the same way on node, in the QEMU firmware and on an ESP32.

import type { CryptoProvider } from "../crypto/provider.js";
import { installFiles } from "../files/commands.js";
import { Files } from "../files/files.js";
import { Ota, installOta, type OtaHost } from "../files/ota.js";
import type { FlashStore } from "../files/store.js";
import type { AllowedKey } from "../ssh/auth.js";
import type { HostKeySet } from "../ssh/hostkeys.js";
import { SshServer, type ServerLimits } from "../ssh/server.js";
import { DeviceApps } from "./apps.js";
import { SerialConsole } from "./console.js";
import { consoleAuthPolicy } from "./policy.js";
import { installKeys, keysFileOf, type RuntimeKeys } from "./keys.js";
import type { UartPort } from "./uart.js";

/** The commands installFiles adds (cat with a file name reads the store, so cat is among them). */
export const FILE_COMMANDS: readonly string[] = Object.freeze(["scp", "ls", "df", "rm", "mv", "cat"]);

export interface DeviceOptions {
  crypto: CryptoProvider;
  hostKeys: HostKeySet;
  /** Shown by `info`: the host kind and its name. */
  hostName: string;
  log(line: string): void;
  /** Milliseconds, for timeouts. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, or null while the clock is not set (see wallClockFrom). */
  wallClock?(): number | null;
  /** Where the wall clock comes from, for `info`: "sntp", "rtc", "system"; null while it is not set. */
  clockSource?(): string | null;
  limits?: Partial<ServerLimits>;
  /** Sources exempt from per-source penalties (ServerConfig.penaltyExempt); default none. */
  penaltyExempt?: string;
  store: FlashStore;
  /** Largest piece of file per transfer request (Files' transferLength; boards: BOARD_TRANSFER_LENGTH). */
  transferLength?: number;
  /** The UARTs to bridge (none: `ssh board` gets the built-in prompt). */
  uarts: readonly UartPort[];
  scrollback?: number;
  /** The authorized keys, read when a login needs them. */
  keys: () => readonly AllowedKey[];
  /** Keys managed at run time (the `keys` command, ssh-copy-id); `keys` should read from it. */
  runtimeKeys?: RuntimeKeys;
  passwordHash: string | undefined;
  banner?: string;
  /** Firmware updates over SSH (`/ota`, the `ota` command), on hosts with image slots. */
  ota?: OtaHost;
  /** How long a new image has to accept a login (default OTA_TRIAL_MS). */
  otaTrialMs?: number;
}

export interface Device {
  readonly ssh: SshServer;
  readonly apps: DeviceApps;
  readonly files: Files;
  readonly serial: SerialConsole | null;
  readonly ota: Ota | null;
}

export function createDevice(o: DeviceOptions): Device {
  const apps = new DeviceApps();
  const random = new Uint8Array(4);
  const files = new Files(o.store, () => {
    o.crypto.randomBytes(random);
    return ((random[0] << 24) | (random[1] << 16) | (random[2] << 8) | random[3]) & 0x7fffffff;
  }, { transferLength: o.transferLength });
  const recovered = files.recover();
  if (recovered > 0) o.log(`flash: removed ${recovered} unfinished upload(s) left by an earlier run`);
  installFiles(apps, files, o.runtimeKeys ? keysFileOf(o.runtimeKeys, o.log) : undefined);
  apps.commands.infoSections.push(() => [clockLine(o.wallClock ? o.wallClock() : null, o.clockSource ? o.clockSource() : null)]);
  // File transfer and the flash store are the owner's (roles.ts).
  apps.commands.requireRole(FILE_COMMANDS, "admin");
  apps.subsystemRoles.set("sftp", "admin");
  if (o.runtimeKeys) installKeys(apps.commands, o.runtimeKeys, o.log);
  const ota = o.ota ? new Ota(o.ota, { log: o.log, now: o.now, trialMs: o.otaTrialMs }) : null;
  if (ota) installOta(apps, files, ota);
  let serial: SerialConsole | null = null;
  if (o.uarts.length > 0) {
    serial = new SerialConsole([...o.uarts], o.scrollback);
    serial.install(apps);
  }
  const ssh = new SshServer({
    crypto: o.crypto,
    hostKeys: o.hostKeys,
    hostName: o.hostName,
    log: o.log,
    now: o.now,
    wallClock: o.wallClock,
    limits: o.limits,
    penaltyExempt: o.penaltyExempt,
    apps,
    onLogin: ota ? () => ota.loggedIn() : undefined,
    onTick: ota ? () => ota.tick() : undefined,
    auth: consoleAuthPolicy({ serial, keys: o.keys, passwordHash: o.passwordHash, crypto: o.crypto, banner: o.banner }),
  });
  return { ssh, apps, files, serial, ota };
}

/** The earliest wall-clock time a set clock can show (2024-01-01): a board's clock before SNTP
 * starts near 1970 (or at its build date), which must not pass for the time. */
export const CLOCK_SET_AFTER_MS = Date.UTC(2024, 0, 1);

/** `info`'s clock line: "clock: set (sntp) 2026-12-02 14:05 UTC" or "clock: not set". */
export function clockLine(wall: number | null, source: string | null): string {
  if (wall === null) return "clock: not set (certificates and key expiry-time are refused; new files get time 0)";
  return `clock: set (${source ?? "system"}) ${new Date(wall).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A wallClock for hosts whose Date may not be set yet: null until it shows a plausible time. */
export function wallClockFrom(now: () => number): () => number | null {
  return () => {
    const t = now();
    return t >= CLOCK_SET_AFTER_MS ? t : null;
  };
}
