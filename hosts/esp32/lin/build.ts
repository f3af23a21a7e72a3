// Linux-only: builds the ESP32 firmware for the Moddable SDK's Linux port (hosts/esp32/lin/manifest.json).
//
//   1. build/lin/libmbedcrypto.a: Mbed TLS 3.6's crypto library (Debian 13's source package, fetched by
//      hosts/qemu/sources.ts as the QEMU build does; the QEMU build's configuration,
//      hosts/qemu/mbedtls-config), compiled -fPIC for mc.so; build/lin/psa-include links to its headers.
//      Bookworm's libmbedtls-dev is 2.28, without the PSA Crypto API the hooks are written for.
//   2. build/mlkem/: libcrux's ML-KEM-768 header from Debian 13's openssh sources (hosts/qemu/mlkem.ts).
//   3. build/lin/esp-ssh-console-lin: launcher.c, which runs the SDK's mc.so without its GTK simulator.
//   4. mcconfig -m -i -p lin -o build/lin/moddable hosts/esp32/lin/manifest.json (instrumented: XS
//      keeps its stack peak), with TypeScript 6 (node_modules/.bin) and the SDK's tools on PATH.
// libsodium is Debian's (libsodium-dev 1.0.18), linked by mc.so.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MBEDTLS_DEFINES, mbedtls, mbedtlsConfigDir } from "../../qemu/mbedtls.js";
import { mlkemInclude } from "../../qemu/mlkem.js";
import { buildDir, ensurePackages, repoRoot } from "../../qemu/sources.js";

const run = promisify(execFile);
const linDir = dirname(fileURLToPath(import.meta.url));
export const linBuildDir = join(buildDir, "lin");
export const launcherPath = join(linBuildDir, "esp-ssh-console-lin");
/** mcconfig's output folder (-o): the SDK's own build/ stays untouched. */
export const moddableOut = join(linBuildDir, "moddable");
/** The app's name (manifest build.NAME) and where mcconfig -p lin -i puts mc.so under moddableOut. */
export const APP_NAME = "esp-ssh-console";
export const mcSoPath = join(moddableOut, "bin", "lin", "mc", "instrument", APP_NAME, "mc.so");
/** Bounds: a cold build of mc.so on two shared cores (mcconfig runs tsc once per module: ~15 min cold). */
const MCCONFIG_TIMEOUT_MS = 40 * 60_000;
const CC_TIMEOUT_MS = 120_000;

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

async function pool(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        await job();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure) throw failure;
}

async function cc(args: string[], what: string): Promise<void> {
  try {
    await run("cc", args, { maxBuffer: 16 << 20, timeout: CC_TIMEOUT_MS });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`cc ${what} failed:\n${err.stderr || err.message}`);
  }
}

/** build/lin/libmbedcrypto.a and build/lin/psa-include; returns Mbed TLS's version. */
async function buildMbedcrypto(): Promise<string> {
  const m = await mbedtls();
  const objDir = join(linBuildDir, "mbedtls");
  mkdirSync(objDir, { recursive: true });
  const flags = ["-O2", "-fPIC", "-std=gnu99", ...MBEDTLS_DEFINES, "-I", mbedtlsConfigDir, "-I", join(m.root, "include"), "-I", join(m.root, "library"), "-w"];
  const configTime = Math.max(...readdirSync(mbedtlsConfigDir).map((f) => mtime(join(mbedtlsConfigDir, f))));
  const objects: string[] = [];
  const stale: (() => Promise<void>)[] = [];
  for (const source of m.sources) {
    const object = join(objDir, basename(source).replace(/\.c$/, ".o"));
    objects.push(object);
    const t = mtime(object);
    if (t < 0 || t < mtime(source) || t < configTime) {
      stale.push(async () => {
        const tmp = `${object}.${process.pid}.tmp`;
        await cc([...flags, "-c", source, "-o", tmp], basename(source));
        renameSync(tmp, object);
      });
    }
  }
  await pool(stale, Math.max(1, cpus().length));
  const lib = join(linBuildDir, "libmbedcrypto.a");
  if (stale.length > 0 || !existsSync(lib)) {
    rmSync(lib, { force: true });
    await run("ar", ["rcs", lib, ...objects], { maxBuffer: 16 << 20 });
  }
  // The libraries mc.so links, as one linker-script file (the manifest's LIBRARIES must be one word).
  writeFileSync(join(linBuildDir, "essh-lin-libs.ld"), `INPUT(${lib} -lsodium)\n`);
  const inc = join(linBuildDir, "psa-include");
  mkdirSync(inc, { recursive: true });
  for (const d of ["psa", "mbedtls"]) {
    const link = join(inc, d);
    rmSync(link, { force: true });
    symlinkSync(join(m.root, "include", d), link);
  }
  return m.version;
}

async function buildLauncher(moddable: string): Promise<void> {
  const source = join(linDir, "launcher.c");
  if (mtime(launcherPath) > mtime(source)) return;
  const glib = (await run("pkg-config", ["--cflags", "--libs", "glib-2.0"], { encoding: "utf8" })).stdout.trim().split(/\s+/);
  await cc(["-O2", "-Wall", "-Wextra", "-Werror", "-DmxLinux=1", "-I", join(moddable, "build/simulators/modules"), source, "-o", launcherPath, ...glib, "-ldl"], "launcher.c");
}

/** mcconfig's build folder (mc.xs.c, mc.resources.c) under moddableOut, beside bin/'s:
 * tmp/lin/mc/instrument/<NAME> (SDK 8.2.3's -p lin: platform lin, subplatform mc). */
export const linTmpDir = join(moddableOut, "tmp", "lin", "mc", "instrument", APP_NAME);

export interface LinBuild {
  launcher: string;
  mcSo: string;
  lines: string[];
  /** mcconfig's output (tsc, xsc, xsl, the C compiler), for xsl's statistics and warnings. */
  output: string;
  /** mcconfig's build folder (linTmpDir). */
  tmpDir: string;
}

/** Everything the Linux run needs; throws with the failing tool's output. */
export async function buildLin(moddable: string): Promise<LinBuild> {
  const lines: string[] = [];
  const tools = join(moddable, "build/bin/lin/release");
  if (!existsSync(join(tools, "mcconfig"))) throw new Error(`${tools}/mcconfig missing: build the SDK's tools first (cd $MODDABLE/build/makefiles/lin && make)`);
  await ensurePackages(["libsodium-dev", "libglib2.0-dev", "pkg-config"]);
  mkdirSync(linBuildDir, { recursive: true });
  const [version] = await Promise.all([buildMbedcrypto(), mlkemInclude()]);
  lines.push(`Mbed TLS ${version} libmbedcrypto.a (-fPIC), libcrux ML-KEM header, Debian libsodium`);
  await buildLauncher(moddable);
  mkdirSync(moddableOut, { recursive: true });
  const env = { ...process.env, MODDABLE: moddable, PATH: `${join(repoRoot, "node_modules/.bin")}:${tools}:${process.env.PATH ?? ""}` };
  // The XS linker runs on every build (its statistics and warnings are part of what the check
  // reports); tsc, xsc and the C compiler stay incremental.
  rmSync(join(linTmpDir, "mc.xs.c"), { force: true });
  const started = Date.now();
  let output = "";
  try {
    const r = await run(join(tools, "mcconfig"), ["-m", "-i", "-p", "lin", "-o", moddableOut, join(linDir, "manifest.json")], { cwd: repoRoot, env, maxBuffer: 64 << 20, timeout: MCCONFIG_TIMEOUT_MS, encoding: "utf8" });
    output = `${r.stdout}\n${r.stderr}`;
    const xsl = /(\d+) instances, (\d+) keys, (\d+) colors, (\d+) holes/.exec(output);
    if (xsl) lines.push(`xsl: ${xsl[0]}`);
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const out = `${err.stdout ?? ""}\n${err.stderr ?? ""}`.split("\n").filter((l) => /error|Error|undefined reference|not found|No such/.test(l)).slice(0, 30).join("\n");
    throw new Error(`mcconfig -p lin failed: ${err.message.split("\n")[0]}\n${out}`);
  }
  if (!existsSync(mcSoPath)) throw new Error(`mcconfig finished but ${mcSoPath} is missing`);
  lines.push(`mcconfig -m -i -p lin: mc.so in ${Math.round((Date.now() - started) / 1000)} s`);
  return { launcher: launcherPath, mcSo: mcSoPath, lines, output, tmpDir: linTmpDir };
}
