// The standalone network proof: a bare-metal TCP echo server (no XS) on guest port 22, linked from
// libnet.a + test/echo.c + test/board.c into build/qemu/net-echo.elf, and the QEMU command line that
// runs it with a host port forwarded to it.
//
//   node --import tsx hosts/qemu/net/build-echo.ts          # build, print the path
//   node --import tsx hosts/qemu/net/build-echo.ts --run    # build and run on 127.0.0.1:2323

import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { buildDir } from "../sources.js";
import { ARCH_FLAGS, CC, buildNet, compileAll, netDir } from "./build.js";

const run = promisify(execFile);

/** Memory map on QEMU virt: "flash" (code, constants, .data's load image) at the start of RAM, then
 * 256 KiB of RAM: about what an ESP32-C3 application gets. */
export const MEMORY = {
  flash: 0x80000000,
  flashSize: 0x100000,
  ram: 0x80100000,
  ramSize: 0x40000,
  stackSize: 0x2000,
};

export const netEchoElf = join(buildDir, "qemu", "net-echo.elf");

export async function buildNetEcho(): Promise<string> {
  const net = await buildNet();
  const objDir = join(buildDir, "qemu", "net-echo");
  const objs = await compileAll([join(netDir, "test", "echo.c"), join(netDir, "test", "board.c")], objDir, [...net.cflags, ...net.includeFlags]);
  const inputs = [...objs, net.library];
  const out = netEchoElf;
  const hex = (n: number) => `0x${n.toString(16)}`;
  const args = [
    ...ARCH_FLAGS,
    "--specs=picolibc.specs",
    "--crt0=hosted",
    "-DPICOLIBC_INTEGER_PRINTF_SCANF", // printf without floating point
    `-Wl,--defsym=__flash=${hex(MEMORY.flash)},--defsym=__flash_size=${hex(MEMORY.flashSize)}`,
    `-Wl,--defsym=__ram=${hex(MEMORY.ram)},--defsym=__ram_size=${hex(MEMORY.ramSize)},--defsym=__stack_size=${hex(MEMORY.stackSize)}`,
    `-Wl,-Map=${out.replace(/\.elf$/, ".map")}`,
    "-Wl,--gc-sections",
    "-o",
    out,
    ...inputs,
  ];
  const stamp = out.replace(/\.elf$/, ".link");
  const same = existsSync(stamp) && readFileSync(stamp, "utf8") === JSON.stringify(args);
  if (same && existsSync(out) && inputs.every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs)) return out;
  await run(CC, args);
  writeFileSync(stamp, JSON.stringify(args));
  return out;
}

/** qemu-system-riscv32 arguments booting `elf` with guest port 22 forwarded from 127.0.0.1:`port`.
 * restrict=on: the guest reaches nothing outside; only the forwarded port comes in. */
export function qemuNetArgs(elf: string, port: number, guestPort = 22): string[] {
  return [
    "-M", "virt",
    "-cpu", "rv32,a=false,f=false,d=false",
    "-m", "16M",
    "-bios", "none",
    "-kernel", elf,
    "-display", "none",
    "-monitor", "none",
    "-serial", "stdio",
    "-netdev", `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:${guestPort}`,
    "-device", "virtio-net-device,netdev=n0",
  ];
}

/** Section sizes (text, data, bss) of an ELF, via riscv64-unknown-elf-size. */
export async function elfSizes(elf: string): Promise<{ text: number; data: number; bss: number }> {
  const { stdout } = await run("riscv64-unknown-elf-size", [elf]);
  const [text, data, bss] = stdout.trim().split("\n")[1].trim().split(/\s+/).map(Number);
  return { text, data, bss };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const t0 = Date.now();
  const elf = await buildNetEcho();
  console.log(`${elf} (${Date.now() - t0} ms)`, await elfSizes(elf));
  if (process.argv.includes("--run")) {
    const port = 2323;
    console.log(`echo server on 127.0.0.1:${port}`);
    spawn("qemu-system-riscv32", qemuNetArgs(elf, port), { stdio: "inherit" });
  }
}
