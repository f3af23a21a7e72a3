// The QEMU firmware's program: the SSH server on XS, bundled by hosts/qemu/bundle.ts and compiled to
// XS bytecode by the firmware build (npm run firmware -> build/qemu/ssh.elf; npm run qemu boots it).
// It wires the sans-I/O core (modules/) to the board as hosts/node/server.ts does on node:
//
//   crypto     createNativeProvider over nativeCrypto (libsodium in C, modules/crypto/native_crypto.c)
//   TCP        port 22 through nativeNet (lwIP + virtio-net), socket.ts
//   UART       the ns16550 as the serial console's UART, uart.ts (the log is on semihosting)
//   files      the flash store: modules/files/flashfs.ts on the NOR flash QEMU keeps in DATA/flash.img
//              (flash.ts); a 64 KiB store in RAM (ramstore.ts) when QEMU was started without it
//   host keys  made on first boot and kept in the flash store (reserved names, reserved.ts): Ed25519
//              always; ECDSA P-256 and RSA 3072 when the native provider lists what they need
//              (RSA made after boot while no connection is open; "host keys: ready" then)
//   keys       the authorized_keys text the run script loads into guest memory (DIR/authorized_keys),
//              baked into the flash store; later boots without one use the stored copy
//   log        print() -> the console log; "ssh: listening on port 22" tells run.ts the server is up
//
// `info` adds what runs where (XS in QEMU) and the memory figures: XS chunks and slots, the C heap,
// lwIP's heap and buffers.

import { createDevice, wallClockFrom } from "../../modules/console/device.js";
import { RuntimeKeys } from "../../modules/console/keys.js";
import { BOARD_TRANSFER_LENGTH } from "../../modules/files/files.js";
import { createNativeProvider } from "../../modules/crypto/native.js";
import { loadHostKeys, type HostKeyKind, type HostKeyStore } from "../../modules/ssh/hostkeys.js";
import { MAX_AUTHORIZED_KEYS_CHARS } from "../../modules/ssh/keys.js";
import { hashPassword } from "../../modules/ssh/password.js";
import { BOARD_LIMITS, type ServerLimits } from "../../modules/ssh/server.js";
import { utf8Decode, utf8Encode } from "../../modules/ssh/wire.js";
import { nativeBoard, nativeNet, nativeUart } from "./natives.js";
import type { FlashStore } from "../../modules/files/store.js";
import { openFirmwareFlash } from "./flash.js";
import { RamFlashStore } from "./ramstore.js";
import { RESERVED_PREFIX, ReservedNames, readReserved, writeReserved } from "./reserved.js";
import { SshListener } from "./socket.js";
import { QemuUart } from "./uart.js";
import { nativeHooks, print } from "./xs/host.js";
import { QemuOtaHost } from "./ota.js";
import { nativeFlash } from "./flash.js";
import { SOFTWARE_VERSION } from "../../modules/ssh/server.js";

// Build-time settings of an update image (hosts/qemu/build.ts buildOtaImage, esbuild `define`):
// its version string, how long its trial lasts, and a fault for the rollback test ("no-login": the
// SSH server refuses every login, as a broken update would).
declare const __FIRMWARE_VERSION__: string | undefined;
declare const __OTA_TRIAL_MS__: number | undefined;
declare const __FIRMWARE_FAULT__: string | undefined;
const FIRMWARE_VERSION = typeof __FIRMWARE_VERSION__ === "string" ? __FIRMWARE_VERSION__ : SOFTWARE_VERSION;
const TRIAL_MS = typeof __OTA_TRIAL_MS__ === "number" ? __OTA_TRIAL_MS__ : undefined;
const FAULT = typeof __FIRMWARE_FAULT__ === "string" ? __FIRMWARE_FAULT__ : "";

const SSH_PORT = 22;
const TICK_MS = 1000;
/** While a connection is open, how often to look again before making a deferred host key. */
const HOST_KEY_IDLE_POLL_MS = 250;
/** Logged once every host key is there (at once, or once the deferred ones are made): run.ts waits for it. */
const HOST_KEYS_READY = "host keys: ready";
/** PBKDF2 iterations for a generated password (each one two SHA-256 calls through the hooks). */
const PASSWORD_ITERATIONS = 1000;
const PASSWORD_LENGTH = 20;
const PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";

/** The ESP32's limits (BOARD_LIMITS, shared with hosts/esp32), but lwIP has 4 connection slots
 * here (net.h NET_MAX_CONNS): the core takes 3 so that the 4th can still be told politely that the
 * server is full. */
const LIMITS: Partial<ServerLimits> = { ...BOARD_LIMITS, maxConnections: 3 };

const board = nativeBoard();
/** Live heap once every module body has run (the bundle evaluates the imports before this line):
 * what Moddable's preload would keep in flash on a board. See README.md, "ESP32 firmware", Memory. */
const atModules = board.memory(true);
/** Instructions retired when each connection was accepted (by remote address), so the log can say
 * what its key exchange and login cost (exact under `-icount shift=0`). */
const acceptedAt = new Map<string, [number, number]>();
/** The connection accepted while no other was open: XS's peaks were marked at its accept, so its
 * kex line can say what XS allocated for the key exchange (chunks and slots beyond those at accept). */
let measuredAlone = "";
/** The events of a connection whose log lines get the instructions spent since its accept. Matched
 * with string methods, not a regular expression: XS lends a regular expression's backtracking
 * scratch the free end of its stack, which would read as XS stack use in the figures above. */
const TIMED = ["kex ", "user ", "disconnect", "client disconnected", "connection closed"];
const log = (line: string) => {
  const sep = line.indexOf(": ");
  const remote = sep > 0 && line.lastIndexOf(" ", sep) < 0 ? line.slice(0, sep) : "";
  const rest = line.slice(sep + 2);
  let event = "";
  for (const e of TIMED) if (rest.startsWith(e) && (e !== "user " || rest.indexOf(" logged in") > 0)) event = e;
  const start = remote && event ? acceptedAt.get(remote) : undefined;
  if (start !== undefined) {
    let xs = "";
    if (event === "kex " && remote === measuredAlone) {
      const m = board.memory();
      xs = `; XS peak since accept +${m.chunksPeakSinceMark - m.chunksAtMark} B of chunks, +${m.slotsPeakSinceMark - m.slotsAtMark} slots`;
    }
    line += ` [${((board.instructions() - start[0]) / 1e6).toFixed(1)} M instructions since accept, ${((board.instructions(true) - start[1]) / 1e6).toFixed(1)} M with idle time${xs}]`;
    if (event !== "kex " && event !== "user ") acceptedAt.delete(remote);
  }
  print(line);
};
const crypto = createNativeProvider(nativeHooks());

// ---- the flash store (or RAM without a flash bank) ----
const HOST_KEY_FILE = `${RESERVED_PREFIX}hostkey`;
const AUTHORIZED_KEYS_FILE = `${RESERVED_PREFIX}authkeys`;
let raw: FlashStore;
let persistent = false;
if ((globalThis as { nativeFlash?: unknown }).nativeFlash) {
  raw = openFirmwareFlash();
  persistent = true;
  log(`flash: ${raw.capacity} bytes on the NOR flash, ${raw.used()} used, flat`);
} else {
  raw = new RamFlashStore();
  log(`flash: no flash bank: TEMPORARY store in RAM, ${raw.capacity} bytes, flat (lost at reboot)`);
}

// ---- host keys: made once, kept in the store ----
const HOST_KEY_FILES: Record<HostKeyKind["type"], string> = {
  "ssh-ed25519": HOST_KEY_FILE,
  "ecdsa-sha2-nistp256": `${RESERVED_PREFIX}hostkey-ecdsa`,
  "ssh-rsa": `${RESERVED_PREFIX}hostkey-rsa`,
};
/** Bytes a stored host key file may have: an RSA-16384 key file is below 10 KB. */
const MAX_HOST_KEY_FILE = 10 * 1024;
const hostKeyStore: HostKeyStore = {
  where: persistent ? "the flash store" : "RAM (no flash: it changes at every boot)",
  load: (type) => readReserved(raw, HOST_KEY_FILES[type], MAX_HOST_KEY_FILE),
  save: (type, bytes) => writeReserved(raw, HOST_KEY_FILES[type], bytes),
};
// RSA key generation takes long on a board: it is made after the server is up (deferSlow).
const hostKeys = loadHostKeys(crypto, hostKeyStore, (l) => log(`host key: ${l}`), { deferSlow: true });

// ---- authorized keys: loaded by the run script, baked into the store ----
function loadAuthorizedKeysText(): string {
  const loaded = board.authorizedKeys();
  let bytes: Uint8Array | null = loaded ? new Uint8Array(loaded, 0, Math.min(loaded.byteLength, MAX_AUTHORIZED_KEYS_CHARS)) : null;
  const stored = readReserved(raw, AUTHORIZED_KEYS_FILE, MAX_AUTHORIZED_KEYS_CHARS);
  if (bytes) {
    const same = stored !== null && stored.length === bytes.length && stored.every((b, i) => b === bytes![i]);
    if (!same) {
      writeReserved(raw, AUTHORIZED_KEYS_FILE, bytes);
      log("authorized_keys: the loaded file is now in the flash store");
    }
  } else if (stored) {
    bytes = stored;
    log("authorized_keys: none loaded, using the flash store's copy");
  } else {
    log("authorized_keys: none loaded and none stored");
    return "";
  }
  return utf8Decode(bytes);
}
// Keys added at run time (`keys add`, ssh-copy-id) and built-in keys disabled, in the flash store.
const ADDED_KEYS_FILE = `${RESERVED_PREFIX}addkeys`;
const runtimeKeys = new RuntimeKeys(crypto, loadAuthorizedKeysText(), {
  read: () => {
    const b = readReserved(raw, ADDED_KEYS_FILE, MAX_AUTHORIZED_KEYS_CHARS);
    return b ? utf8Decode(b) : "";
  },
  write: (text) => writeReserved(raw, ADDED_KEYS_FILE, utf8Encode(text)),
}, log);
const keys = runtimeKeys.all();
log(`authorized_keys: ${keys.length} key(s)`);

let passwordHash: string | undefined;
if (keys.length === 0) {
  const pick = new Uint8Array(PASSWORD_LENGTH);
  crypto.randomBytes(pick);
  let password = "";
  for (let i = 0; i < pick.length; i++) password += PASSWORD_ALPHABET[pick[i] % PASSWORD_ALPHABET.length];
  passwordHash = hashPassword(password, crypto, PASSWORD_ITERATIONS);
  log(`no authorized keys: password for user "console" for this boot (shown once): ${password}`);
}

// ---- apps: device commands, files, the serial console ----
let uart: QemuUart | null = null;
if (board.logOnUart()) {
  log("uart: the ns16550 carries this log (QEMU without semihosting): no serial console");
} else {
  uart = new QemuUart(nativeUart());
  log(`uart ${uart.name}: ${uart.description} (ssh console@host)`);
}

const boot = board.boot();
log(`firmware ${FIRMWARE_VERSION}: booted from ${boot.label} (${boot.state})${boot.note ? `; ${boot.note}` : ""}`);
const ota = persistent ? new QemuOtaHost(nativeFlash(), board, FIRMWARE_VERSION) : undefined;
if (FAULT) log(`firmware: built with the fault "${FAULT}" (a test image)`);

const started = performance.now();
const device = createDevice({
  crypto,
  hostKeys: hostKeys.keys,
  hostName: `qemu (XS ${board.xsVersion} in QEMU virt, rv32imc)`,
  log,
  now: () => performance.now(),
  wallClock: wallClockFrom(() => Date.now()),
  // Date.now() reads the virt machine's goldfish RTC (firmware/board.c board_rtc_ns), which QEMU
  // starts at the host's time.
  clockSource: () => "rtc",
  limits: LIMITS,
  transferLength: BOARD_TRANSFER_LENGTH,
  store: new ReservedNames(raw),
  uarts: uart ? [uart] : [],
  keys: () => (FAULT === "no-login" ? [] : runtimeKeys.all()),
  runtimeKeys,
  passwordHash: FAULT === "no-login" ? undefined : passwordHash,
  ota,
  otaTrialMs: TRIAL_MS,
});
const { ssh, apps } = device;

const net = nativeNet();
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
apps.commands.infoSections.push(() => {
  const m = board.memory(true);
  const s = net.stats();
  return [
    `runs on: XS ${board.xsVersion} (Moddable) on bare-metal rv32imc in QEMU virt (an ESP32-C3 stand-in)`,
    `memory: XS chunks ${kib(m.chunks)} (peak ${kib(m.chunksPeak)}), slots ${m.slots} x ${m.slotSize} B = ${kib(m.slots * m.slotSize)} (peak ${m.slotsPeak}), live`,
    `memory: XS stack peak ${m.stackPeakSlots} of ${m.stack} slots, keys ${m.keys}`,
    `memory: C heap in use ${kib(m.mallocInUse)}, high-water ${kib(m.mallocPeak)} of ${kib(m.heapSize)}; C stack peak ${m.stackPeak} B`,
    `memory: lwIP heap ${s.memUsed} of ${s.memSize} B (peak ${s.memMax}), receive buffers ${s.poolUsed} of ${s.poolSize} (peak ${s.poolMax})`,
    `network: ${s.connsOpen} of ${s.maxConnections} TCP connections, ${s.connsTotal} since boot, ${s.connsRefused} refused`,
  ];
});

new SshListener(net, ssh, SSH_PORT, log, (remote) => {
  measuredAlone = "";
  if (ssh.connections.size === 0) {
    board.markPeaks();
    measuredAlone = remote;
  }
  acceptedAt.set(remote, [board.instructions(), board.instructions(true)]);
});
setInterval(() => ssh.tick(), TICK_MS);

const m = board.memory(true);
for (const line of ssh.hostKeyLines()) log(`host key ${line}`);
if (hostKeys.pending.length > 0) {
  // After the listening line, and only while no connection is open: making an RSA key is one long
  // native call (~12 G guest instructions for RSA 3072: seconds here, a minute or more on a board)
  // that holds the event loop, so it never stalls a connection that is under way; one that arrives
  // meanwhile waits in lwIP's backlog. Connections are served with the keys there are until then.
  const makeWhenIdle = () => {
    if (ssh.connections.size > 0) {
      setTimeout(makeWhenIdle, HOST_KEY_IDLE_POLL_MS);
      return;
    }
    hostKeys.makeLater();
    for (const line of ssh.hostKeyLines()) log(`host key ${line}`);
    log(HOST_KEYS_READY);
  };
  setTimeout(makeWhenIdle, 0);
}
log(`memory after modules: XS chunks ${atModules.chunks} B, slots ${atModules.slots} (live), keys ${atModules.keys}, XS stack ${atModules.stackNow} slots in use`);
log(`memory at start: XS chunks ${m.chunks} B, slots ${m.slots} (live), keys ${m.keys}, XS stack peak ${m.stackPeakSlots} slots, C heap in use ${m.mallocInUse} B (high-water ${m.mallocPeak} of ${m.heapSize}); ${Math.round(performance.now() - started)} ms to start the server`);
log(`ssh: listening on port ${SSH_PORT}`);
if (hostKeys.pending.length === 0) log(HOST_KEYS_READY);
