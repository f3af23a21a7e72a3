// Boots the firmware in QEMU (`qemu-system-riscv32 -M virt`, an rv32imc CPU like an ESP32-C3).
//
//   npm run qemu -- [--elf FILE] [--timeout SECONDS] [--icount] [--log semihosting|uart]
//                   [--listen HOST:PORT] [--data DIR] [--uart pty|tcp:HOST:PORT|file:PATH|none|stdio]
//                   [--tap IFNAME [--netns NS]] [--rtc-base utc|YYYY-MM-DD]
//
// Boots build/qemu/ssh.elf (the SSH server, `npm run firmware`) unless --elf names another image.
// The firmware's log arrives through QEMU semihosting on stdout; the machine's ns16550 is then free
// to be the bridged UART of the serial console: --uart pty makes it a pseudo-terminal (its path is
// printed as "uart: /dev/pts/N"), tcp:HOST:PORT a TCP server QEMU listens on, file:PATH a file; by
// default (none) it goes nowhere. --log uart boots without semihosting: the firmware then notices and
// logs to the ns16550 on stdio, as the earliest images did (debugging; no serial console then).
// The firmware's exit status (through the virt test device) becomes this command's status; a
// timeout kills QEMU and exits 124.
// --listen forwards HOST:PORT to the guest's port 22 through QEMU's user network (restrict=on: the
// guest reaches nothing else) on a virtio-net device; once the firmware logs "ssh: listening on
// port 22", this prints "listening on HOST:PORT".
// --tap IFNAME puts that device on an existing tap interface instead (in network namespace NS with
// --netns): the guest is 10.0.2.15/24 there and sees each client's own address (several sources).
// --rtc-base DATE starts the virt RTC there (e.g. 1970-01-01: the firmware has no wall clock).
// --data DIR keeps the machine's state: the entropy seed of each boot (32 fresh bytes from the
// host's CSPRNG, loaded at BOARD_SEED_ADDR, firmware/board.h) and DIR/authorized_keys, loaded at
// BOARD_KEYS_ADDR with its length (the firmware reads it at boot), and DIR/flash.img, the 32 MiB NOR
// flash of the flash store (virt's second pflash bank; created erased on first use). Without --data
// the flash is a fresh temporary one for that boot.
// --creation CHUNK_BYTES,SLOTS[,STACK_SLOTS] gives the XS machine a fixed size, like a Moddable
// manifest's `creation` (no growth; the firmware otherwise grows it until its heap is full), loaded
// at BOARD_CREATION_ADDR: bench/creation.ts finds the smallest one a scenario needs.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sshFirmware } from "./build.js";

export const QEMU = "qemu-system-riscv32";
/** Where the firmware looks for its seed (BOARD_SEED_ADDR, BOARD_SEED_MAGIC in firmware/board.h). */
export const SEED_ADDR = 0x80300000;
const SEED_MAGIC = "XSSEED01";
const SEED_BYTES = 32;
/** Where the firmware looks for authorized_keys (BOARD_KEYS_ADDR, _MAGIC, _MAX in firmware/board.h). */
export const KEYS_ADDR = 0x80301000;
const KEYS_MAGIC = "XSKEYS01";
const KEYS_MAX = 64 * 1024;
/** Where the firmware looks for a fixed machine size (BOARD_CREATION_ADDR, _MAGIC in firmware/board.h). */
export const CREATION_ADDR = 0x80311000;
const CREATION_MAGIC = "XSMEMFX1";
/** The firmware's exit status when it asks for a reboot (EXIT_REBOOT, firmware/board.h: `ota commit
 * --reboot`, a rollback): `npm run qemu` boots it again with the same data, as a reset would. */
export const EXIT_REBOOT = 6;
/** What the firmware logs once its SSH server listens (hosts/qemu/main.ts). */
export const LISTENING_LINE = /^ssh: listening on port 22$/m;
/** What it logs once every host key is there: at once when they were all stored (or need no slow
 * generation), otherwise after the deferred ones (RSA 3072) are made, which it does only while no
 * connection is open. */
export const HOST_KEYS_READY_LINE = /^host keys: ready$/m;
/** Guest RAM: the image's flash + RAM regions and the seed sit in the first 4 MiB, QEMU's device
 * tree 2 MiB-aligned below the end (firmware/link.ld). The firmware's own heap is fixed at link time. */
const MEMORY = "8M";

export interface RunOptions {
  elf?: string;
  /** Kill QEMU after this many ms (0: never). */
  timeoutMs?: number;
  /** Exact instruction counts: `-icount shift=0` (one instruction per virtual ns). */
  icount?: boolean;
  /** Host address forwarded to the guest's port 22, "127.0.0.1:2222". */
  listen?: string;
  /** Instead of the user network: the virtio-net device on this existing tap interface (QEMU's
   * `-netdev tap,ifname=...`, no scripts). The guest keeps its static 10.0.2.15/24, gateway 10.0.2.2
   * (net/net.h): give the tap addresses in 10.0.2.0/24 and clients reach the guest at 10.0.2.15 from
   * each of them, as distinct sources (test/helpers/netns.ts). */
  tap?: string;
  /** Run QEMU in this network namespace (`ip netns exec NS qemu...`), where the tap lives. */
  netns?: string;
  /** The virt machine's RTC start (QEMU `-rtc base=`): "utc" (default: the host clock) or a date
   * such as "1970-01-01" (the firmware then has no wall clock: before CLOCK_SET_AFTER_MS). */
  rtcBase?: string;
  /** Directory for the machine's state; default: a temporary directory removed after the run. */
  data?: string;
  /** Where the ns16550 goes: "none" (default; "stdio" with log "uart"), "pty", "tcp:HOST:PORT" (a
   * server QEMU listens on), "file:PATH", "stdio" (only when the log is not on stdio too). */
  uart?: string;
  /** The firmware's log: through semihosting on stdout (default), or on the ns16550 ("uart"). */
  log?: "semihosting" | "uart";
  /** authorized_keys to load into the guest (default: DATA/authorized_keys when it exists). */
  authorizedKeys?: string;
  /** Leave out the entropy seed (the firmware then refuses to produce randomness). */
  noSeed?: boolean;
  /** A fixed XS machine instead of the firmware's growing one, as a Moddable manifest's `creation`
   * with no incremental sizes: chunk bytes, slots, and XS stack slots (0: the firmware's). */
  creation?: Creation;
  /** stdio of the QEMU process (default: inherit). "pipe" collects the log (RunResult.output);
   * "tee" collects it and copies it to this process's stdout/stderr as it comes. */
  stdio?: "inherit" | "pipe" | "tee";
  /** More QEMU arguments, appended (bench/firmware.ts --ssh-pc: a TCG plugin that counts guest
   * instructions by address). */
  qemuExtra?: string[];
}

export interface Creation {
  chunks: number;
  slots: number;
  stack?: number;
}

function chardev(uart: string): string {
  if (uart === "stdio" || uart === "pty" || uart === "none") return uart === "none" ? "null" : uart;
  const m = uart.match(/^tcp:([^:]+):(\d+)$/);
  if (m) return `tcp:${m[1]}:${m[2]},server=on,wait=off`;
  if (uart.startsWith("file:") && uart.length > 5) return `file:${resolve(uart.slice(5))}`;
  throw new Error(`--uart: expected pty, tcp:HOST:PORT, file:PATH, none or stdio, got ${uart}`);
}

function uartOf(o: RunOptions): string {
  const uart = o.uart ?? (o.log === "uart" ? "stdio" : "none");
  if (uart === "stdio" && o.log !== "uart") throw new Error("--uart stdio: stdio carries the log; use --log uart, or pty/tcp/file");
  return uart;
}

function hostPort(listen: string): { host: string; port: number } {
  const m = listen.match(/^(?:(.+):)?(\d+)$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`--listen: expected HOST:PORT, got ${listen}`);
  return { host: m[1] ?? "127.0.0.1", port };
}

/** The QEMU command line for a boot (the seed file must exist unless noSeed). */
export function qemuArgs(o: RunOptions & { seedFile?: string; keysFile?: string; flashFile?: string; creationFile?: string }): string[] {
  const elf = resolve(o.elf ?? sshFirmware);
  const args = [
    "-nographic",
    "-M", "virt",
    "-cpu", "rv32,a=false,f=false,d=false", // rv32imc like an ESP32-C3
    "-smp", "1",
    "-m", MEMORY,
    "-bios", "none",
    // The ELF through a loader device, not -kernel: with a pflash on unit 1 (the flash store),
    // QEMU 7.2's virt treats that bank as S-mode firmware, does not load -kernel and jumps there.
    // cpu-num=0 starts the CPU at the ELF's entry.
    "-device", `loader,file=${elf},cpu-num=0`,
    "-monitor", "none",
    "-serial", chardev(uartOf(o)),
  ];
  if (o.log !== "uart") {
    // Semihosting (SYS_WRITE0) output on stdout: the firmware's log.
    args.push("-chardev", "stdio,id=log0,signal=on", "-semihosting-config", "enable=on,target=native,chardev=log0");
  }
  if (o.icount) args.push("-icount", "shift=0");
  if (o.rtcBase) args.push("-rtc", `base=${o.rtcBase}`);
  if (o.seedFile) args.push("-device", `loader,file=${o.seedFile},addr=0x${SEED_ADDR.toString(16)},force-raw=on`);
  if (o.keysFile) args.push("-device", `loader,file=${o.keysFile},addr=0x${KEYS_ADDR.toString(16)},force-raw=on`);
  if (o.creationFile) args.push("-device", `loader,file=${o.creationFile},addr=0x${CREATION_ADDR.toString(16)},force-raw=on`);
  // [flash] The flash store's NOR flash: virt.flash1 (unit 0 would become the boot device).
  if (o.flashFile) args.push("-drive", `if=pflash,unit=1,format=raw,file=${o.flashFile}`);
  if (o.listen && o.tap) throw new Error("--listen (user network) and --tap: one network device only");
  if (o.tap) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(o.tap)) throw new Error(`--tap: not an interface name: ${o.tap}`);
    args.push("-netdev", `tap,id=n0,ifname=${o.tap},script=no,downscript=no`, "-device", "virtio-net-device,netdev=n0");
  }
  if (o.listen) {
    const { host, port } = hostPort(o.listen);
    args.push(
      "-netdev", `user,id=n0,restrict=on,hostfwd=tcp:${host}:${port}-:22`,
      "-device", "virtio-net-device,netdev=n0",
    );
  }
  if (o.qemuExtra) args.push(...o.qemuExtra);
  return args;
}

// [flash] ---------------------------------------------------------------------------------------
/** Size of a virt pflash bank: QEMU refuses a drive of any other size. */
export const FLASH_IMAGE_BYTES = 32 << 20;

/** DIR/flash.img, the emulated NOR flash (hosts/qemu/firmware/pflash.h): created erased (0xFF) on
 * first use, kept across boots: the flash store's files live in it. */
export function ensureFlashImage(dir: string): string {
  const file = join(dir, "flash.img");
  if (!existsSync(file)) {
    writeFileSync(file, Buffer.alloc(FLASH_IMAGE_BYTES, 0xff));
  } else {
    const size = statSync(file).size;
    if (size !== FLASH_IMAGE_BYTES) throw new Error(`${file}: ${size} bytes, a flash image must have ${FLASH_IMAGE_BYTES}`);
  }
  return file;
}
// [/flash] --------------------------------------------------------------------------------------

function writeSeed(dir: string): string {
  const file = join(dir, "entropy-seed.bin");
  writeFileSync(file, Buffer.concat([Buffer.from(SEED_MAGIC, "latin1"), randomBytes(SEED_BYTES)]), { mode: 0o600 });
  return file;
}

/** DIR/authorized_keys.bin: magic, length (uint32 LE), the text; undefined when there is no file. */
function writeKeys(dir: string, source: string | undefined): string | undefined {
  const from = source ?? join(dir, "authorized_keys");
  if (!existsSync(from)) {
    if (source) throw new Error(`authorized keys file ${source} does not exist`);
    return undefined;
  }
  const text = readFileSync(from);
  if (text.length > KEYS_MAX) throw new Error(`${from}: ${text.length} bytes, the firmware takes at most ${KEYS_MAX}`);
  const header = Buffer.alloc(12);
  header.write(KEYS_MAGIC, 0, "latin1");
  header.writeUInt32LE(text.length, 8);
  const file = join(dir, "authorized_keys.bin");
  writeFileSync(file, Buffer.concat([header, text]), { mode: 0o600 });
  return file;
}

function writeCreation(dir: string, creation: Creation | undefined): string | undefined {
  const file = join(dir, "creation.bin");
  rmSync(file, { force: true });
  if (!creation) return undefined;
  const b = Buffer.alloc(20);
  b.write(CREATION_MAGIC, 0, "latin1");
  b.writeUInt32LE(creation.chunks, 8);
  b.writeUInt32LE(creation.slots, 12);
  b.writeUInt32LE(creation.stack ?? 0, 16);
  writeFileSync(file, b);
  return file;
}

/** "CHUNKS,SLOTS[,STACK]" with optional K suffixes on CHUNKS (KiB). */
export function parseCreation(text: string): Creation {
  const m = text.match(/^(\d+)(k|K)?,(\d+)(?:,(\d+))?$/);
  if (!m) throw new Error(`--creation: expected CHUNK_BYTES,SLOTS[,STACK_SLOTS], got ${text}`);
  const creation = { chunks: Number(m[1]) * (m[2] ? 1024 : 1), slots: Number(m[3]), stack: m[4] ? Number(m[4]) : undefined };
  if (creation.chunks < 4096 || creation.slots < 1024) throw new Error(`--creation: too small to create a machine: ${text}`);
  return creation;
}

export interface Boot {
  child: ChildProcess;
  /** Resolves when QEMU has exited. */
  done: Promise<RunResult>;
  /** The log so far (stdio "pipe" or "tee"), and QEMU's own stderr. */
  output(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in the log (stdout) or, with `inStderr`, QEMU's own
   * messages too (stderr; some, like the pty path, come on stdout);
   * rejects when QEMU exits first or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs: number, inStderr?: boolean): Promise<RegExpMatchArray>;
}

export interface RunResult {
  /** The firmware's exit code (QEMU's status), 124 after a timeout, or 128+n after a signal. */
  code: number;
  timedOut: boolean;
  /** The firmware's log (semihosting, or the UART with log "uart") when stdio is "pipe"/"tee";
   * QEMU's stderr separately. */
  output: string;
  stderr: string;
  ms: number;
}

/** Starts QEMU. */
export function boot(o: RunOptions = {}): Boot {
  const elf = resolve(o.elf ?? sshFirmware);
  if (!existsSync(elf)) throw new Error(`${elf} does not exist: run npm run firmware first`);
  const temp = o.data ? undefined : mkdtempSync(join(tmpdir(), "esp-ssh-qemu-"));
  const dataDir = o.data ? resolve(o.data) : temp!;
  mkdirSync(dataDir, { recursive: true });
  const seedFile = o.noSeed ? undefined : writeSeed(dataDir);
  const keysFile = writeKeys(dataDir, o.authorizedKeys);
  const creationFile = writeCreation(dataDir, o.creation);
  const flashFile = ensureFlashImage(dataDir); // [flash]
  const args = qemuArgs({ ...o, elf, seedFile, keysFile, flashFile, creationFile });
  const started = Date.now();
  const piped = o.stdio === "pipe" || o.stdio === "tee";
  // `ip netns exec` execs QEMU itself (setns, then execvp): the child's pid is QEMU's.
  const [command, argv] = o.netns ? ["ip", ["netns", "exec", o.netns, QEMU, ...args]] : [QEMU, args];
  const child = spawn(command, argv, { stdio: piped ? ["ignore", "pipe", "pipe"] : "inherit" });
  let output = "";
  let stderr = "";
  let exited = false;
  const watchers = new Set<() => void>();
  const changed = () => {
    for (const w of [...watchers]) w();
  };
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
    if (o.stdio === "tee") process.stdout.write(s);
    changed();
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    if (o.stdio === "tee") process.stderr.write(s);
    changed();
  });
  child.on("exit", () => {
    exited = true;
    changed();
  });
  const waitFor = (re: RegExp, timeoutMs: number, inStderr = false) =>
    new Promise<RegExpMatchArray>((resolveWait, rejectWait) => {
      const check = () => {
        const m = (inStderr ? `${stderr}\n${output}` : output).match(re);
        if (m) finish(() => resolveWait(m));
        else if (exited) finish(() => rejectWait(new Error(`QEMU exited before ${re} showed up:\n${output}\n${stderr}`)));
      };
      const timer = setTimeout(() => finish(() => rejectWait(new Error(`no ${re} within ${timeoutMs} ms:\n${output}\n${stderr}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        watchers.delete(check);
        then();
      };
      watchers.add(check);
      check();
    });
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  if (o.timeoutMs) {
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    }, o.timeoutMs);
  }
  const done = new Promise<RunResult>((resolveDone, reject) => {
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`${QEMU} did not start: ${e.message} (is qemu-system-misc installed?)`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (temp) rmSync(temp, { recursive: true, force: true });
      else if (seedFile) rmSync(seedFile, { force: true });
      const status = timedOut ? 124 : (code ?? 128 + (signal ? constants.signals[signal] : 0));
      resolveDone({ code: status, timedOut, output, stderr, ms: Date.now() - started });
    });
  });
  return { child, done, output: () => output, stderr: () => stderr, waitFor };
}

/** How long the SSH image may take to boot and listen (XS machine, the bundle, key generation). */
export const LISTEN_TIMEOUT_MS = 60_000;
/** How long making the deferred host keys may take after that: RSA 3072 generation is ~12 G guest
 * instructions on average (random: primes are searched), 1.5 s on an idle machine here, several
 * times that on a loaded one. */
export const HOST_KEYS_TIMEOUT_MS = 300_000;

/** Boots the SSH image and waits until its server listens and (unless `hostKeys` is false) every
 * host key is made, so that clients do not meet the key generation's pause or a server without
 * its RSA key; also finds the UART's pty path. */
export async function bootSshServer(o: RunOptions & { hostKeys?: boolean }): Promise<Boot & { uartPath?: string }> {
  const b = boot({ stdio: "pipe", ...o });
  try {
    let uartPath: string | undefined;
    if (o.uart === "pty") uartPath = (await b.waitFor(/char device redirected to (\/dev\/pts\/\d+) \(label serial0\)/, LISTEN_TIMEOUT_MS, true))[1];
    await b.waitFor(LISTENING_LINE, LISTEN_TIMEOUT_MS);
    if (o.hostKeys !== false) await b.waitFor(HOST_KEYS_READY_LINE, HOST_KEYS_TIMEOUT_MS);
    return { ...b, uartPath };
  } catch (e) {
    b.child.kill("SIGKILL");
    throw e;
  }
}

/** Boots and waits for the firmware to exit (or the timeout). */
export function runFirmware(o: RunOptions = {}): Promise<RunResult> {
  return boot(o).done;
}

function parseArgs(argv: string[]): RunOptions {
  const o: RunOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--elf") o.elf = value();
    else if (a === "--timeout") o.timeoutMs = Number(value()) * 1000;
    else if (a === "--icount") o.icount = true;
    else if (a === "--listen") o.listen = value();
    else if (a === "--tap") o.tap = value();
    else if (a === "--netns") o.netns = value();
    else if (a === "--rtc-base") o.rtcBase = value();
    else if (a === "--data") o.data = value();
    else if (a === "--uart") o.uart = value();
    else if (a === "--log") {
      const v = value();
      if (v !== "semihosting" && v !== "uart") throw new Error("--log: semihosting or uart");
      o.log = v;
    } else if (a === "--authorized-keys") o.authorizedKeys = value();
    else if (a === "--no-seed") o.noSeed = true;
    else if (a === "--creation") o.creation = parseCreation(value());
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: npm run qemu -- [--elf FILE] [--timeout SECONDS] [--icount] [--listen HOST:PORT] [--data DIR]\n" +
          "                       [--uart pty|tcp:HOST:PORT|file:PATH|none|stdio] [--log semihosting|uart]\n" +
          "                       [--authorized-keys FILE] [--no-seed] [--creation CHUNK_BYTES,SLOTS[,STACK_SLOTS]]\n" +
          "                       [--tap IFNAME [--netns NS]] [--rtc-base utc|YYYY-MM-DD]",
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs >= 0)) throw new Error("--timeout: expected seconds");
  if (o.listen) hostPort(o.listen);
  chardev(uartOf(o));
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let o: RunOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const start = () => {
    const { child, done, waitFor } = boot({ ...o, stdio: "tee" });
    current = child;
    if (o.uart === "pty") {
      waitFor(/char device redirected to (\/dev\/pts\/\d+) \(label serial0\)/, LISTEN_TIMEOUT_MS, true).then(
        (m) => console.log(`uart: ${m[1]}`),
        () => {},
      );
    }
    if (o.listen) {
      const { host, port } = hostPort(o.listen);
      waitFor(LISTENING_LINE, LISTEN_TIMEOUT_MS).then(
        () => console.log(`listening on ${host}:${port}`),
        () => {},
      );
    }
    done.then(
      (r) => {
        if (r.timedOut) console.error(`qemu: timed out after ${o.timeoutMs} ms`);
        if (r.code === EXIT_REBOOT && !stopping) {
          console.log("qemu: the firmware rebooted; booting it again");
          return start();
        }
        process.exit(r.code);
      },
      (e: Error) => {
        console.error(e.message);
        process.exit(1);
      },
    );
  };
  let current: ChildProcess | null = null;
  let stopping = false;
  for (const s of ["SIGINT", "SIGTERM"] as const)
    process.on(s, () => {
      stopping = true;
      current?.kill("SIGTERM");
    });
  start();
}
