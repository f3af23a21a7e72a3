// Boots the firmware in QEMU (`qemu-system-riscv32 -M virt`, an rv32imc CPU like an ESP32-C3).
//
//   npm run qemu -- [--elf FILE] [--timeout SECONDS] [--icount]
//                   [--listen HOST:PORT] [--data DIR] [--uart stdio|pty|tcp:HOST:PORT|none]
//
// The console (UART0) is on stdio unless --uart moves it; the firmware's exit status (through the
// virt test device) becomes this command's status; a timeout kills QEMU and exits 124.
// --listen forwards HOST:PORT to the guest's port 22 through QEMU's user network (restrict=on: the
// guest reaches nothing else) on a virtio-net device; the firmware's network stack drives it.
// --data DIR keeps the machine's state (for now the entropy seed file of each boot; later flash).
// Each boot gets 32 fresh bytes from the host's CSPRNG, loaded at BOARD_SEED_ADDR (firmware/board.h).

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultFirmware } from "./build.js";

export const QEMU = "qemu-system-riscv32";
/** Where the firmware looks for its seed (BOARD_SEED_ADDR, BOARD_SEED_MAGIC in firmware/board.h). */
export const SEED_ADDR = 0x80300000;
const SEED_MAGIC = "XSSEED01";
const SEED_BYTES = 32;
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
  /** Directory for the machine's state; default: a temporary directory removed after the run. */
  data?: string;
  /** Where UART0 goes: "stdio" (default), "pty", "tcp:HOST:PORT" (a server QEMU listens on), "none". */
  uart?: string;
  /** Leave out the entropy seed (the firmware then refuses to produce randomness). */
  noSeed?: boolean;
  /** stdio of the QEMU process (default: inherit). */
  stdio?: "inherit" | "pipe";
}

function chardev(uart: string): string {
  if (uart === "stdio" || uart === "pty" || uart === "none") return uart === "none" ? "null" : uart;
  const m = uart.match(/^tcp:([^:]+):(\d+)$/);
  if (m) return `tcp:${m[1]}:${m[2]},server=on,wait=off`;
  throw new Error(`--uart: expected stdio, pty, tcp:HOST:PORT or none, got ${uart}`);
}

function hostPort(listen: string): { host: string; port: number } {
  const m = listen.match(/^(?:(.+):)?(\d+)$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`--listen: expected HOST:PORT, got ${listen}`);
  return { host: m[1] ?? "127.0.0.1", port };
}

/** The QEMU command line for a boot (the seed file must exist unless noSeed). */
export function qemuArgs(o: RunOptions & { seedFile?: string }): string[] {
  const elf = resolve(o.elf ?? defaultFirmware);
  const args = [
    "-nographic",
    "-M", "virt",
    "-cpu", "rv32,a=false,f=false,d=false", // rv32imc like an ESP32-C3
    "-smp", "1",
    "-m", MEMORY,
    "-bios", "none",
    "-kernel", elf,
    "-monitor", "none",
    "-serial", chardev(o.uart ?? "stdio"),
  ];
  if (o.icount) args.push("-icount", "shift=0");
  if (o.seedFile) args.push("-device", `loader,file=${o.seedFile},addr=0x${SEED_ADDR.toString(16)},force-raw=on`);
  if (o.listen) {
    const { host, port } = hostPort(o.listen);
    args.push(
      "-netdev", `user,id=n0,restrict=on,hostfwd=tcp:${host}:${port}-:22`,
      "-device", "virtio-net-device,netdev=n0",
    );
  }
  return args;
}

function writeSeed(dir: string): string {
  const file = join(dir, "entropy-seed.bin");
  writeFileSync(file, Buffer.concat([Buffer.from(SEED_MAGIC, "latin1"), randomBytes(SEED_BYTES)]), { mode: 0o600 });
  return file;
}

export interface Boot {
  child: ChildProcess;
  /** Resolves when QEMU has exited. */
  done: Promise<RunResult>;
}

export interface RunResult {
  /** The firmware's exit code (QEMU's status), 124 after a timeout, or 128+n after a signal. */
  code: number;
  timedOut: boolean;
  /** The console (UART0) when stdio is "pipe" and the UART is on stdio; QEMU's stderr separately. */
  output: string;
  stderr: string;
  ms: number;
}

/** Starts QEMU. */
export function boot(o: RunOptions = {}): Boot {
  const elf = resolve(o.elf ?? defaultFirmware);
  if (!existsSync(elf)) throw new Error(`${elf} does not exist: run npm run firmware first`);
  const temp = o.data ? undefined : mkdtempSync(join(tmpdir(), "esp-ssh-qemu-"));
  const dataDir = o.data ? resolve(o.data) : temp!;
  mkdirSync(dataDir, { recursive: true });
  const seedFile = o.noSeed ? undefined : writeSeed(dataDir);
  const args = qemuArgs({ ...o, elf, seedFile });
  const started = Date.now();
  const child = spawn(QEMU, args, { stdio: o.stdio === "pipe" ? ["ignore", "pipe", "pipe"] : "inherit" });
  let output = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
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
  return { child, done };
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
    else if (a === "--data") o.data = value();
    else if (a === "--uart") o.uart = value();
    else if (a === "--no-seed") o.noSeed = true;
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: npm run qemu -- [--elf FILE] [--timeout SECONDS] [--icount] [--listen HOST:PORT] [--data DIR]\n" +
          "                       [--uart stdio|pty|tcp:HOST:PORT|none] [--no-seed]",
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs >= 0)) throw new Error("--timeout: expected seconds");
  if (o.listen) hostPort(o.listen);
  if (o.uart) chardev(o.uart);
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
  const { child, done } = boot(o);
  for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => child.kill("SIGTERM"));
  done.then(
    (r) => {
      if (r.timedOut) console.error(`qemu: timed out after ${o.timeoutMs} ms`);
      process.exit(r.code);
    },
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
