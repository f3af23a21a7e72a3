// Builds the firmware's network stack: lwIP 2.1.3 (Debian's source package) + our virtio-net driver
// and net.h API, cross-compiled for rv32imc, into a static library. The firmware build links it;
// build-echo.ts links it into a standalone test image.
//
//   const net = await buildNet();        // build/qemu/net/libnet.a
//   cc ... ${net.includeFlags} ...        // to include net.h
//   ld ... ${net.library}

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { buildDir, debianSource, ensureToolchain } from "../sources.js";

const run = promisify(execFile);

export const netDir = dirname(fileURLToPath(import.meta.url));
export const CC = "riscv64-unknown-elf-gcc";
export const AR = "riscv64-unknown-elf-ar";

/** ESP32-C3's ISA (QEMU: -cpu rv32,a=false,f=false,d=false). No A: lwIP needs no atomics. */
export const ARCH_FLAGS = ["-march=rv32imc", "-mabi=ilp32"];
const OPT_FLAGS = ["-Os", "-g", "-ffunction-sections", "-fdata-sections", "-Wall"];

export interface NetBuild {
  /** libnet.a: lwIP + driver + net.c */
  library: string;
  objects: string[];
  /** -I flags for net.h (and lwIP's headers, for code that wants them) */
  includeFlags: string[];
  /** the flags the library was compiled with */
  cflags: string[];
}

/** Compiles what changed (sources, headers or flags) into `objDir` and archives libnet.a. */
export async function buildNet(objDir = join(buildDir, "qemu", "net"), opts: { cflags?: string[] } = {}): Promise<NetBuild> {
  await ensureToolchain();
  const lwip = await debianSource("lwip");
  const includeFlags = [`-I${netDir}`, `-I${join(netDir, "port")}`, `-I${join(lwip, "src", "include")}`];
  const cflags = [...ARCH_FLAGS, "--specs=picolibc.specs", ...OPT_FLAGS, ...(opts.cflags ?? [])];
  const sources = [
    ...cFiles(join(lwip, "src", "core")),
    ...cFiles(join(lwip, "src", "core", "ipv4")),
    join(lwip, "src", "netif", "ethernet.c"),
    join(netDir, "net.c"),
    join(netDir, "virtio_net.c"),
    join(netDir, "port", "sys_arch.c"),
  ];
  const objects = await compileAll(sources, objDir, [...cflags, ...includeFlags], lwip);
  const library = join(objDir, "libnet.a");
  if (!existsSync(library) || objects.some((o) => mtime(o) > mtime(library))) {
    rmSync(library, { force: true });
    await run(AR, ["rcs", library, ...objects]);
  }
  return { library, objects, includeFlags, cflags };
}

function cFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => join(dir, f));
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** True when `obj` is missing or older than any file its .d lists. */
function stale(obj: string): boolean {
  const t = mtime(obj);
  if (t < 0) return true;
  let deps: string;
  try {
    deps = readFileSync(obj.replace(/\.o$/, ".d"), "utf8");
  } catch {
    return true;
  }
  const files = deps
    .replace(/\\\n/g, " ")
    .split(/\s+/)
    .filter((w) => w && !w.endsWith(":"));
  return files.some((f) => mtime(f) > t || mtime(f) < 0);
}

/** Compiles `sources` with `flags` into `objDir`, in parallel; objects are rebuilt when their
 * source, a header they include, or the flags changed. */
export async function compileAll(sources: string[], objDir: string, flags: string[], base?: string): Promise<string[]> {
  mkdirSync(objDir, { recursive: true });
  const stamp = join(objDir, "flags.sha256");
  const hash = createHash("sha256").update(JSON.stringify([CC, flags])).digest("hex");
  const flagsChanged = !existsSync(stamp) || readFileSync(stamp, "utf8") !== hash;
  const jobs = sources.map((src) => {
    const rel = base && !relative(base, src).startsWith("..") ? relative(base, src) : basename(src);
    const obj = join(objDir, rel.replace(/[\\/]/g, "_").replace(/\.c$/, ".o"));
    return { src, obj };
  });
  const todo = jobs.filter((j) => flagsChanged || stale(j.obj));
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const { src, obj } = todo[next++];
      try {
        await run(CC, [...flags, "-MMD", "-MP", "-c", src, "-o", obj], { maxBuffer: 16 << 20 });
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        rmSync(obj, { force: true });
        throw new Error(`compiling ${src} failed:\n${err.stderr || err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
  writeFileSync(stamp, hash);
  return jobs.map((j) => j.obj);
}
