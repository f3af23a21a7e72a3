// Builds the bare-metal firmware for QEMU `virt` (rv32imc): Moddable XS (from the npm package
// @agoric/xsnap's sources) + our platform (hosts/qemu/firmware/) + a JS program linked into the
// image, cross-compiled with Debian's riscv64-unknown-elf gcc and picolibc.
//
//   npm run firmware [-- --js FILE] [--source] [--out NAME] [--quiet]
//
// Without --js it builds the SSH server image (buildSshFirmware): hosts/qemu/main.ts bundled for XS,
// with lwIP + virtio-net (net/), libsodium's parts (sodium.ts), Mbed TLS 3.6's crypto library
// (mbedtls.ts), libcrux's ML-KEM-768 header (mlkem.ts) and the native hooks, into
// build/qemu/ssh.elf, the image `npm run qemu` boots. With --js it builds a plain XS image running
// that script (the boot self-test is firmware/selftest.js).
//
// The JS program is compiled to XS bytecode on the host (build/qemu/host/xscompile, built from the
// same XS sources with the host's cc) so the device does not parse JS at boot; --source links the
// source instead, parsed on the device.
// Output: build/qemu/<NAME>.elf (default firmware.elf). Objects are cached under build/qemu/obj/
// (per component and flag set, with gcc's dependency files), so a second build only recompiles
// what changed and relinks when needed. Other parts of the firmware (native crypto, networking)
// add themselves as components through `buildFirmware({ components })`.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { bundleForXs } from "./bundle.js";
import { MBEDTLS_DEFINES, mbedtlsComponent } from "./mbedtls.js";
import { mlkemInclude } from "./mlkem.js";
import { buildNet } from "./net/build.js";
import { sodiumComponent } from "./sodium.js";
import { ensurePackages, ensureToolchain } from "./sources.js";
import { xsDataViewLikeTheSdk } from "./xs-host/build.js";

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const firmwareDir = join(repoRoot, "hosts/qemu/firmware");
export const outDir = join(repoRoot, "build/qemu");
export const defaultFirmware = join(outDir, "firmware.elf");
export const defaultBundle = join(firmwareDir, "selftest.js");

const CROSS = "riscv64-unknown-elf-";
/** rv32imc like an ESP32-C3: no A extension. gcc picks picolibc's rv32im multilib for it (there is
 * no rv32imc one); the exact rv32imac multilib would bring picolibc's atomic ungetc (LR/SC, AMOSWAP
 * in fgetc/ungetc), which traps on this CPU. The build checks that the image has no atomics. */
const ARCH = ["-march=rv32imc", "-mabi=ilp32"];
const COMMON = [...ARCH, "--specs=picolibc.specs", "-Os", "-ffunction-sections", "-fdata-sections"];

/** XS configuration shared by every file that includes XS headers. */
const XS_DEFINES = [
  "-DINCLUDE_XSPLATFORM",
  '-DXSPLATFORM="qemu_xs.h"',
  "-DmxParse=1",
  "-DmxRun=1",
  "-DmxSloppy=1",
  "-DmxBoundsCheck=1",
  "-DmxMinusZero=1",
  "-DmxUseDefaultCStackLimit=0",
];

/** A set of C (or assembler) sources compiled with the same flags. */
export interface Component {
  name: string;
  sources: string[];
  includes?: string[];
  cflags?: string[];
}

export interface BuildOptions {
  /** JS program linked into the image (default: the boot self-test). */
  bundle?: string;
  /** Link the program as XS bytecode compiled on the host (default), or as source parsed at boot. */
  precompile?: boolean;
  /** Output file name under build/qemu/ (default firmware.elf). */
  out?: string;
  /** Components added to XS + platform (native crypto, lwIP, drivers...). */
  components?: Component[];
  /** Static libraries linked after the objects (lwIP's libnet.a). */
  libraries?: string[];
  /** Functions without own `length` and `name` properties (leanDefaults): fewer slots. */
  lean?: boolean;
  /** The C heap (all malloc: XS, libsodium, the drivers) instead of link.ld's 320 KiB
   * (BOARD_HEAP_BYTES): the SSH image's SSH_HEAP_BYTES, or room for measurements (bench/creation.ts). */
  heapBytes?: number;
  /** Progress lines; default prints to stdout. */
  log?: (line: string) => void;
}

export interface BuildResult {
  elf: string;
  compiled: number;
  cached: number;
  linked: boolean;
  ms: number;
  sizes: { text: number; data: number; bss: number };
  heapBytes: number;
  stackBytes: number;
}

export function xsRoot(): string {
  const dir = join(repoRoot, "node_modules/@agoric/xsnap/moddable/xs");
  if (!existsSync(join(dir, "sources/xsAll.h")))
    throw new Error(`XS sources not found at ${dir}: run npm install (devDependency @agoric/xsnap@0.15.0)`);
  return dir;
}

function xsComponent(lean = false): Component {
  const xs = xsRoot();
  const skip = new Set(["xsSnapshot.c"]); // snapshots need a file system and are not used here
  if (lean) skip.add("xsDefaults.c");
  const sources = readdirSync(join(xs, "sources"))
    .filter((f) => f.endsWith(".c") && !skip.has(f))
    .sort()
    .map((f) => (f === "xsDataView.c" ? xsDataViewLikeTheSdk(xs, join(outDir, "xs-fixed")) : join(xs, "sources", f)));
  if (lean) sources.push(leanDefaults(xs));
  return { name: lean ? "xs-lean" : "xs", sources, cflags: ["-w"] };
}

/** xsDefaults.c without the hooks that give every function its own `length` and `name` properties
 * (XS checks each hook for NULL; Moddable's ROM builds leave them out the same way): two slots
 * (32 bytes) less per function, about a thousand functions in the SSH bundle. Generated under
 * build/ from the package's file. */
function leanDefaults(xs: string): string {
  const original = readFileSync(join(xs, "sources", "xsDefaults.c"), "utf8");
  const patched = original.replace(/\tfxNewFunctionLength,\n\tfxNewFunctionName,\n/, "\tC_NULL, /* no function length */\n\tC_NULL, /* no function name */\n");
  if (patched === original) throw new Error("xsDefaults.c: the function length/name hooks were not found (XS version changed?)");
  const file = join(outDir, "xs-lean", "xsDefaults.c");
  mkdirSync(dirname(file), { recursive: true });
  if (!existsSync(file) || readFileSync(file, "utf8") !== patched) writeFileSync(file, patched);
  return file;
}

function platformComponent(): Component {
  return {
    name: "platform",
    sources: ["board.c", "random.c", "xs_engine.c", "xs_platform.c"].map((f) => join(firmwareDir, f)),
    cflags: ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare", "-Wno-missing-field-initializers"],
  };
}

function includeFlags(extra: string[] = []): string[] {
  const xs = xsRoot();
  return [firmwareDir, join(xs, "includes"), join(xs, "sources"), join(xs, "platforms"), ...extra].map((d) => `-I${d}`);
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** Dependencies gcc recorded for an object (-MMD), or undefined when there is no .d file. */
function depsOf(depFile: string): string[] | undefined {
  if (!existsSync(depFile)) return undefined;
  const text = readFileSync(depFile, "utf8").replace(/\\\n/g, " ");
  const first = text.split("\n")[0];
  const colon = first.indexOf(": ");
  if (colon < 0) return undefined;
  return first
    .slice(colon + 2)
    .split(/(?<!\\)\s+/)
    .filter(Boolean)
    .map((p) => p.replace(/\\ /g, " "));
}

function upToDate(obj: string, depFile: string, source?: string): boolean {
  const t = mtime(obj);
  if (t < 0) return false;
  const deps = depsOf(depFile);
  if (!deps) return false;
  // An object made from another file of the same name (a generated copy in place of a package's
  // file, or the other way round) is not this source's.
  if (source !== undefined && !deps.includes(source)) return false;
  return deps.every((d) => {
    const m = mtime(d);
    return m >= 0 && m <= t;
  });
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

async function tool(name: string, args: string[], cwd = repoRoot): Promise<string> {
  try {
    const r = await run(CROSS + name, args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    return r.stdout + r.stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${CROSS}${name} failed:\n${err.stderr || err.stdout || err.message}`);
  }
}

/** Parser-only XS sources for the host compiler (xscompile.c). */
const XSC_SOURCES = ["xsScript", "xsLexical", "xsSyntaxical", "xsTree", "xsCode", "xsScope", "xsCommon", "xsdtoa", "xsre", "xsBigInt"];

/** Builds build/qemu/host/xscompile with the host's cc (when missing or older than its sources). */
export async function buildHostCompiler(): Promise<string> {
  const xs = xsRoot();
  const exe = join(outDir, "host", "xscompile");
  const sources = [join(firmwareDir, "xscompile.c"), ...XSC_SOURCES.map((f) => join(xs, "sources", `${f}.c`))];
  if (mtime(exe) >= Math.max(...sources.map(mtime))) return exe;
  await ensurePackages(["gcc", "libc6-dev"]);
  mkdirSync(dirname(exe), { recursive: true });
  // The firmware engine's language options (the bytecode must match it), minus the runtime (mxRun).
  const defines = XS_DEFINES.filter((d) => !/XSPLATFORM|CStackLimit|mxRun/.test(d));
  try {
    await run("gcc", ["-O1", "-w", ...defines, ...["includes", "sources", "platforms"].map((d) => `-I${join(xs, d)}`), "-o", exe, ...sources, "-lm"], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`building the host XS compiler failed:\n${err.stderr || err.message}`);
  }
  return exe;
}

/** Compiles a JS program to XS bytecode (the .xsb format xs_engine.c loads). */
export async function compileBundle(js: string, xsb: string): Promise<void> {
  const exe = await buildHostCompiler();
  if (mtime(xsb) >= Math.max(mtime(js), mtime(exe))) return;
  mkdirSync(dirname(xsb), { recursive: true });
  try {
    await run(exe, [js, xsb], { encoding: "utf8" });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`compiling ${js} failed:\n${err.stderr || err.message}`);
  }
}

export async function buildFirmware(options: BuildOptions = {}): Promise<BuildResult> {
  const t0 = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  await ensureToolchain();
  const bundle = resolve(options.bundle ?? defaultBundle);
  if (!existsSync(bundle)) throw new Error(`JS bundle not found: ${bundle}`);
  const elf = join(outDir, options.out ?? "firmware.elf");
  const components = [xsComponent(options.lean), platformComponent(), ...(options.components ?? [])];

  interface Job { source: string; obj: string; dep: string; args: string[] }
  const jobs: Job[] = [];
  const objects: string[] = [];
  let cachedCount = 0;
  for (const c of components) {
    const flags = [...COMMON, ...XS_DEFINES, ...includeFlags(c.includes), ...(c.cflags ?? [])];
    const stamp = createHash("sha256").update(flags.join("\0")).digest("hex").slice(0, 12);
    const dir = join(outDir, "obj", `${c.name}-${stamp}`);
    mkdirSync(dir, { recursive: true });
    for (const source of c.sources) {
      const base = basename(source).replace(/\.[cS]$/, "");
      const obj = join(dir, `${base}.o`);
      const dep = join(dir, `${base}.d`);
      objects.push(obj);
      if (upToDate(obj, dep, source)) cachedCount++;
      else jobs.push({ source, obj, dep, args: [...flags, "-MMD", "-MF", dep, "-c", source, "-o", obj] });
    }
  }
  // The JS program (or its bytecode): assembled with .incbin; depends on that file itself.
  const bundleDir = join(outDir, "obj", "bundle");
  mkdirSync(bundleDir, { recursive: true });
  const precompile = options.precompile ?? true;
  const bundleKey = createHash("sha256").update(`${bundle}\0${precompile}`).digest("hex").slice(0, 12);
  let image = bundle;
  if (precompile) {
    image = join(bundleDir, `bundle-${bundleKey}.xsb`);
    await compileBundle(bundle, image);
  }
  const bundleObj = join(bundleDir, `bundle-${bundleKey}.o`);
  const bundleDep = join(bundleDir, `bundle-${bundleKey}.d`);
  objects.push(bundleObj);
  if (upToDate(bundleObj, bundleDep) && mtime(image) <= mtime(bundleObj)) cachedCount++;
  else
    jobs.push({
      source: bundle,
      obj: bundleObj,
      dep: bundleDep,
      args: [...ARCH, `-DFIRMWARE_BUNDLE_PATH="${image}"`, "-MMD", "-MF", bundleDep, "-c", join(firmwareDir, "bundle.S"), "-o", bundleObj],
    });

  if (jobs.length) log(`firmware: compiling ${jobs.length} file(s), ${cachedCount} cached`);
  await pool(jobs, Math.max(1, availableParallelism()), async (j) => {
    await tool("gcc", j.args);
    // .incbin is not in gcc's dependency list: the bundle is checked by mtime above.
  });

  const linker = join(firmwareDir, "link.ld");
  const map = elf.replace(/\.elf$/, ".map");
  const libraries = options.libraries ?? [];
  const newest = Math.max(...objects.map(mtime), ...libraries.map(mtime), mtime(linker));
  const linkArgs = [
    ...COMMON,
    "--crt0=hosted",
    `-T${linker}`,
    "-Wl,--gc-sections",
    `-Wl,-Map=${map}`,
    ...(options.heapBytes ? [`-Wl,--defsym=__heap_size_override=${options.heapBytes}`] : []),
    "-o",
    elf,
    ...objects,
    ...libraries,
    "-lm",
  ];
  // The link's own arguments (heap size, objects) are part of what the image is made of.
  const linkStamp = `${elf}.link`;
  const linkKey = linkArgs.join("\0");
  let linked = false;
  if (jobs.length > 0 || mtime(elf) < newest || !existsSync(linkStamp) || readFileSync(linkStamp, "utf8") !== linkKey) {
    await tool("gcc", linkArgs);
    writeFileSync(linkStamp, linkKey);
    linked = true;
    await checkNoAtomics(elf);
  }

  const sizes = await imageSizes(elf);
  const syms = await symbols(elf, ["__heap_start", "__heap_end", "__stack_limit", "__stack"]);
  const result: BuildResult = {
    elf,
    compiled: jobs.length,
    cached: cachedCount,
    linked,
    ms: Date.now() - t0,
    sizes,
    heapBytes: syms.__heap_end - syms.__heap_start,
    stackBytes: syms.__stack - syms.__stack_limit,
  };
  log(
    `firmware: ${relative(repoRoot, elf)}  text ${sizes.text}  data ${sizes.data}  bss ${sizes.bss}  ` +
      `(heap ${result.heapBytes}, stack ${result.stackBytes})  ` +
      `${jobs.length} compiled, ${cachedCount} cached, ${linked ? "linked" : "up to date"} in ${(result.ms / 1000).toFixed(1)} s`,
  );
  return result;
}

/** The native crypto hooks (modules/crypto/native_*.c) and what they stand on, for an image: the
 * libraries as components of their own (libsodium's parts, Mbed TLS's crypto library), and the
 * hooks' files with their platform glue (sodium_glue.c, stack_call.c) for the image's component of
 * host files, with the include directories and defines those need. */
export async function nativeCryptoParts(): Promise<{ components: Component[]; sources: string[]; includes: string[]; cflags: string[] }> {
  const [sodium, psa, mlkemDir] = await Promise.all([sodiumComponent(), mbedtlsComponent(), mlkemInclude()]);
  const cryptoDir = join(repoRoot, "modules/crypto");
  return {
    components: [sodium.component, psa.component],
    sources: [
      ...["native_crypto.c", "native_psa.c", "native_mlkem.c"].map((f) => join(cryptoDir, f)),
      ...["sodium_glue.c", "stack_call.c"].map((f) => join(firmwareDir, f)),
    ],
    includes: [cryptoDir, ...sodium.includes, ...psa.includes, mlkemDir],
    cflags: MBEDTLS_DEFINES,
  };
}

/** Warnings for the firmware's own C files. */
export const FIRMWARE_WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare", "-Wno-missing-field-initializers"];

/** The C heap a board gives everything that mallocs (the XS machine, the crypto libraries, the
 * drivers): link.ld's default, and the plain images' (boot self-test, crypto tests) heap. */
export const BOARD_HEAP_BYTES = 320 * 1024;
/** What the SDK's XS linker would move out of RAM on a board: the SSH image's modules, live once
 * their bodies have run (the boot log's "memory after modules" less "machine created": XS chunks
 * plus slots x 16 B). The QEMU image does not preload, so it builds this in RAM at every boot.
 * Measured 135.9 KiB with the algorithm tables of every layer; 162.0 KiB once access control
 * (options, roles, certificates, run-time keys, penalties) and OTA landed;
 * test/qemu-ssh.test.ts fails when the measured share outgrows this allowance, so a heavier module
 * set is a decision (raise it here and in the README), never a silent heap increase. XS's own
 * built-ins are BUILTINS_IN_FLASH_BYTES below. */
export const PRELOADED_SHARE_BYTES = 168 * 1024;
/** XS's own built-ins, which a board's preload keeps in flash too: 9 KB of chunks and ~2,800 slots
 * (x 16 B) measured at "machine created" (~53 KB). Left out of the heap until the access-control
 * merge (modules' share 165.7 KiB) made qemu-ssh's bad-input test end in "memory full" after its scp
 * tests: the image was tighter than a board by exactly this much. */
export const BUILTINS_IN_FLASH_BYTES = 52 * 1024;
/** The SSH image's heap: the board's budget plus what a board keeps in flash (the modules' share and
 * XS's built-ins; README, "QEMU firmware", Memory). The board scenario itself is checked against the
 * ESP32 manifest's fixed machine by test/qemu-creation.test.ts, not by this figure. */
export const SSH_HEAP_BYTES = BOARD_HEAP_BYTES + PRELOADED_SHARE_BYTES + BUILTINS_IN_FLASH_BYTES;

/** The SSH server image `npm run qemu` boots. */
export const sshFirmware = join(outDir, "ssh.elf");
export const sshEntry = join(repoRoot, "hosts/qemu/main.ts");
/** The profiling image's entry (hosts/qemu/profile.ts, then main.ts): build/qemu/ssh-profile.elf. */
export const sshProfileEntry = join(repoRoot, "hosts/qemu/profile-main.ts");

/** Builds the SSH server image: hosts/qemu/main.ts (bundled for XS, compiled to bytecode) on XS +
 * lwIP/virtio-net + libsodium + Mbed TLS + libcrux ML-KEM + the native hooks (crypto, TCP, UART, NOR
 * flash, board). Cached like any build. `profile`: the profiling image instead (hosts/qemu/profile.ts:
 * every guest instruction charged to a layer; bench/firmware.ts --ssh-profile). */
export async function buildSshFirmware(options: { log?: (line: string) => void; out?: string; heapBytes?: number; profile?: boolean } = {}): Promise<BuildResult & { bundleBytes: number }> {
  const log = options.log ?? ((line: string) => console.log(line));
  await ensureToolchain();
  const dir = join(outDir, options.profile ? "ssh-profile" : "ssh");
  const bundleFile = join(dir, "main.js");
  const bundled = await bundleForXs(options.profile ? sshProfileEntry : sshEntry, join(dir, "main.tmp.js"), { minify: true });
  // Rewrite the bundle only when it changed, so the bytecode and the link stay cached.
  const text = readFileSync(bundled.outfile, "utf8");
  if (!existsSync(bundleFile) || readFileSync(bundleFile, "utf8") !== text) writeFileSync(bundleFile, text);
  const [net, crypto] = await Promise.all([buildNet(), nativeCryptoParts()]);
  const netIncludes = net.includeFlags.map((f) => f.replace(/^-I/, ""));
  const components: Component[] = [
    ...crypto.components,
    {
      name: "ssh-host",
      sources: [...crypto.sources, ...["xs_ssh.c", "xs_net.c", "xs_uart.c", "pflash.c", "xs_flash.c", "boot_select.c"].map((f) => join(firmwareDir, f))],
      includes: [...crypto.includes, ...netIncludes],
      cflags: [...FIRMWARE_WARNINGS, ...crypto.cflags],
    },
  ];
  const result = await buildFirmware({ bundle: bundleFile, out: options.out ?? (options.profile ? "ssh-profile.elf" : "ssh.elf"), components, libraries: [net.library], lean: true, heapBytes: options.heapBytes ?? SSH_HEAP_BYTES, log });
  return { ...result, bundleBytes: bundled.bytes };
}

export interface OtaImageOptions {
  /** The version string `info` and `ota status` show. */
  version: string;
  /** The image's OTA trial (default OTA_TRIAL_MS). */
  trialMs?: number;
  /** A fault built in for tests: "no-login" refuses every login (the image never gets kept). */
  fault?: "no-login";
}

/** Builds an update image for the SSH firmware: hosts/qemu/main.ts with `version` (and the test
 * settings) bundled and compiled to XS bytecode, in the XSOTA format (hosts/qemu/ota.ts): what
 * `scp IMAGE board:/ota` takes. Only the JS changes, so no C is compiled. Cached by its settings
 * and the bundle's content: build/qemu/ota/<version>-<hash>.xsota. */
export async function buildOtaImage(o: OtaImageOptions): Promise<{ file: string; bytes: number; version: string }> {
  const { xsotaHeader } = await import("./ota.js");
  const define: Record<string, string> = { __FIRMWARE_VERSION__: JSON.stringify(o.version) };
  if (o.trialMs !== undefined) define.__OTA_TRIAL_MS__ = String(o.trialMs);
  if (o.fault) define.__FIRMWARE_FAULT__ = JSON.stringify(o.fault);
  const key = createHash("sha256").update(JSON.stringify(define)).digest("hex").slice(0, 12);
  const dir = join(outDir, "ota", key);
  mkdirSync(dir, { recursive: true });
  const js = join(dir, "main.js");
  const bundled = await bundleForXs(sshEntry, join(dir, "main.tmp.js"), { minify: true, define });
  const text = readFileSync(bundled.outfile, "utf8");
  if (!existsSync(js) || readFileSync(js, "utf8") !== text) writeFileSync(js, text);
  const xsb = join(dir, "main.xsb");
  await compileBundle(js, xsb);
  const body = readFileSync(xsb);
  const header = Buffer.from(xsotaHeader(body.length, o.version));
  const digest = createHash("sha256").update(header).update(body).digest();
  const file = join(outDir, "ota", `${o.version.replace(/[^A-Za-z0-9._-]/g, "_")}-${key}.xsota`);
  const image = Buffer.concat([header, body, digest]);
  if (!existsSync(file) || !readFileSync(file).equals(image)) writeFileSync(file, image);
  return { file, bytes: image.length, version: o.version };
}

/** Berkeley sizes: text (code + read-only data + .data's flash copy), data, bss (incl. heap, stack). */
async function imageSizes(elf: string): Promise<{ text: number; data: number; bss: number }> {
  const out = await tool("size", [elf]);
  const line = out.trim().split("\n")[1]?.trim().split(/\s+/) ?? [];
  return { text: Number(line[0]), data: Number(line[1]), bss: Number(line[2]) };
}

async function symbols(elf: string, names: string[]): Promise<Record<string, number>> {
  const out = await tool("nm", [elf]);
  const result: Record<string, number> = {};
  for (const line of out.split("\n")) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (names.includes(name)) result[name] = parseInt(addr, 16);
  }
  for (const n of names) if (!(n in result)) throw new Error(`${elf}: symbol ${n} missing`);
  return result;
}

/** The target CPU (like an ESP32-C3) has no A extension: an AMO or LR/SC would trap at run time. */
async function checkNoAtomics(elf: string): Promise<void> {
  const out = await tool("objdump", ["-d", "--no-show-raw-insn", elf]);
  const bad = out.split("\n").filter((l) => /\t(amo[a-z]+|lr|sc)\.w(\.[a-z]+)?\s/.test(l));
  if (bad.length) throw new Error(`${elf} contains atomic instructions the CPU lacks:\n${bad.slice(0, 10).join("\n")}`);
}

function parseArgs(argv: string[]): BuildOptions & { quiet?: boolean; profile?: boolean } {
  const o: BuildOptions & { quiet?: boolean; profile?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--js") o.bundle = value();
    else if (a === "--source") o.precompile = false;
    else if (a === "--out") o.out = value();
    else if (a === "--quiet") o.quiet = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--help" || a === "-h") {
      console.log("usage: npm run firmware -- [--js FILE] [--source] [--out NAME.elf] [--quiet] [--profile]");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const o = parseArgs(process.argv.slice(2));
    const log = o.quiet ? () => {} : undefined;
    if (o.bundle) await buildFirmware({ ...o, log });
    else await buildSshFirmware({ log, out: o.out, profile: o.profile });
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
