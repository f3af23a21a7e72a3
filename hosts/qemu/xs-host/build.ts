// Builds xsrun (hosts/qemu/xs-host/xsrun.c): the Moddable XS engine as a Linux program that runs
// one script bundle, with the native crypto hooks (modules/crypto/native_*.c) over libsodium, the
// PSA Crypto API (Mbed TLS 3.6) and libcrux's ML-KEM-768.
//
//   node --import tsx hosts/qemu/xs-host/build.ts        -> build/xs-host/xsrun
//
// XS 13.3 sources come from the npm package @agoric/xsnap (devDependency; its own build is never
// run, we take only moddable/xs/{sources,includes,platforms}). libsodium comes from Debian
// (libsodium-dev, installed when missing); Mbed TLS 3.6's crypto library is compiled here from
// Debian 13's source package with this project's configuration (hosts/qemu/mbedtls.ts), and the
// ML-KEM header comes from Debian 13's openssh source package (hosts/qemu/mlkem.ts). Objects go to
// build/xs-host/obj/; a file is recompiled only when it, a header or the flags changed, so a
// second build takes a few milliseconds.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MBEDTLS_DEFINES, mbedtls, mbedtlsConfigDir } from "../mbedtls.js";
import { MLKEM_HEADER, mlkemInclude } from "../mlkem.js";
import { ensurePackages } from "../sources.js";

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const hostDir = join(repoRoot, "hosts/qemu/xs-host");
const cryptoDir = join(repoRoot, "modules/crypto");
export const outDir = join(repoRoot, "build/xs-host");
const objDir = join(outDir, "obj");
export const xsrunPath = join(outDir, "xsrun");

/** The XS tree inside @agoric/xsnap (sources, includes, platforms). */
export function xsRoot(): string {
  const dir = join(repoRoot, "node_modules/@agoric/xsnap/moddable/xs");
  if (!existsSync(join(dir, "sources/xsAll.h"))) {
    throw new Error(`XS sources not found at ${dir}: run npm install (devDependency @agoric/xsnap)`);
  }
  return dir;
}

/** XS sources a host without snapshots does not compile. */
const XS_EXCLUDED = new Set(["xsSnapshot.c"]);

/** XS 13.3's `TypedArray.prototype.set` decides between one memcpy and an element-by-element copy
 * by comparing the two arrays' own dispatch slots (`dispatch == sourceDispatch`), which differ for
 * any two arrays, so every `set` of one Uint8Array into another copies a byte at a time through the
 * getter, coercion and setter: about 60 instructions per byte, the most expensive step of a flash
 * store upload. The SDK's XS (17.x, on the boards) compares the dispatch tables
 * (`dispatch->value.typedArray.dispatch == sourceDispatch->value.typedArray.dispatch`) and copies
 * with memcpy. The QEMU image and xsrun compile a copy of xsDataView.c with that one comparison as
 * the SDK has it (generated under build/ from the package's file; nothing of XS is committed). */
export function xsDataViewLikeTheSdk(xs: string, dir: string): string {
  const original = readFileSync(join(xs, "sources", "xsDataView.c"), "utf8");
  const bad = "\t\tif (dispatch == sourceDispatch) {\n\t\t\tc_memcpy(data->value.arrayBuffer.address + offset,";
  const good = "\t\tif (dispatch->value.typedArray.dispatch == sourceDispatch->value.typedArray.dispatch) { /* as XS 17 */\n\t\t\tc_memcpy(data->value.arrayBuffer.address + offset,";
  if (original.split(bad).length !== 2) throw new Error("xsDataView.c: TypedArray.prototype.set's type comparison was not found once (XS version changed?)");
  const patched = original.replace(bad, good);
  const file = join(dir, "xsDataView.c");
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file) || readFileSync(file, "utf8") !== patched) writeFileSync(file, patched);
  return file;
}

/** Defines every XS build here uses (FACTS: a custom host with parser, runtime and sloppy mode). */
export const XS_DEFINES = [
  "-DINCLUDE_XSPLATFORM",
  '-DXSPLATFORM="xsrun_platform.h"',
  "-DmxParse=1",
  "-DmxRun=1",
  "-DmxSloppy=1",
  "-DmxBoundsCheck=1",
  "-DmxMinusZero=1",
];

/** Warnings for our own C files: they must stay clean (XS's own sources get -w). */
export const OUR_WARNINGS = ["-Wall", "-Wextra", "-Werror"];

function includes(xs: string): string[] {
  return ["-I", hostDir, "-I", cryptoDir, "-I", join(xs, "includes"), "-I", join(xs, "sources"), "-I", join(xs, "platforms")];
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function headersIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".h")).map((f) => join(dir, f));
}

/** Runs `jobs` with at most `limit` at once; rejects with the first failure after all settle. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      try {
        results[i] = await jobs[i]();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure) throw failure;
  return results;
}

async function compile(source: string, object: string, flags: string[]): Promise<void> {
  const tmp = `${object}.${process.pid}.tmp`;
  try {
    await run("cc", [...flags, "-c", source, "-o", tmp], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`cc ${basename(source)} failed:\n${err.stderr || err.message}`);
  }
  renameSync(tmp, object);
}

export interface BuildResult {
  path: string;
  /** Objects compiled in this call (0 when everything was up to date). */
  compiled: number;
  linked: boolean;
}

let inFlight: Promise<BuildResult> | null = null;

/** Builds build/xs-host/xsrun when anything it depends on changed. */
export function buildXsHost(): Promise<BuildResult> {
  inFlight ??= doBuild().finally(() => (inFlight = null));
  return inFlight;
}

async function doBuild(): Promise<BuildResult> {
  const [, psa, mlkemDir] = await Promise.all([ensurePackages(["libsodium-dev"]), mbedtls(), mlkemInclude()]);
  const xs = xsRoot();
  mkdirSync(join(objDir, "mbedtls"), { recursive: true });
  const psaIncludes = [...psa.includes, mlkemDir].flatMap((d) => ["-I", d]);
  const common = ["-O2", "-std=gnu99", "-fno-common", ...XS_DEFINES, ...includes(xs), ...MBEDTLS_DEFINES, ...psaIncludes];
  // Everything below changes when a header or the flags change: then every object is rebuilt.
  const stamp = JSON.stringify(common);
  const stampFile = join(objDir, "flags.json");
  const flagsChanged = !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp;
  // XS's own sources see XS's headers and the platform header; ours see every header.
  const xsHeaders = [...headersIn(join(xs, "sources")), ...headersIn(join(xs, "includes")), ...headersIn(join(xs, "platforms")), join(hostDir, "xsrun_platform.h")];
  const xsHeaderTime = Math.max(...xsHeaders.map(mtime));
  const configHeaders = [...headersIn(mbedtlsConfigDir), join(mlkemDir, MLKEM_HEADER)];
  const allHeaderTime = Math.max(xsHeaderTime, ...[...headersIn(hostDir), ...headersIn(cryptoDir), ...configHeaders].map(mtime));
  // Mbed TLS's own files see its headers and the configuration (its warnings are its business).
  const mbedtlsFlags = ["-O2", "-std=gnu99", "-fno-common", ...MBEDTLS_DEFINES, ...psaIncludes, "-I", join(psa.root, "library"), "-w"];
  const mbedtlsHeaderTime = Math.max(...headersIn(mbedtlsConfigDir).map(mtime));

  const units: { source: string; flags: string[]; headerTime: number; dir?: string }[] = [];
  for (const f of readdirSync(join(xs, "sources")).sort()) {
    const source = f === "xsDataView.c" ? xsDataViewLikeTheSdk(xs, join(outDir, "xs-fixed")) : join(xs, "sources", f);
    if (f.endsWith(".c") && !XS_EXCLUDED.has(f)) units.push({ source, flags: [...common, "-w", "-Werror=implicit-function-declaration", "-Werror=int-conversion"], headerTime: xsHeaderTime });
  }
  units.push({ source: join(hostDir, "xsrun.c"), flags: [...common, ...OUR_WARNINGS, "-Wno-unused-parameter"], headerTime: allHeaderTime });
  for (const f of ["native_crypto.c", "native_psa.c", "native_mlkem.c"]) units.push({ source: join(cryptoDir, f), flags: [...common, ...OUR_WARNINGS], headerTime: allHeaderTime });
  for (const source of psa.sources) units.push({ source, flags: mbedtlsFlags, headerTime: mbedtlsHeaderTime, dir: "mbedtls" });

  const objects: string[] = [];
  const stale: (() => Promise<void>)[] = [];
  for (const u of units) {
    const object = join(objDir, u.dir ?? "", basename(u.source).replace(/\.c$/, ".o"));
    objects.push(object);
    const t = mtime(object);
    if (flagsChanged || t < 0 || t < mtime(u.source) || t < u.headerTime) stale.push(() => compile(u.source, object, u.flags));
  }
  if (flagsChanged) writeFileSync(stampFile, ""); // invalid until every object is rebuilt
  await pool(stale, Math.max(1, cpus().length));
  if (flagsChanged) writeFileSync(stampFile, stamp);

  const exeTime = mtime(xsrunPath);
  const linked = exeTime < 0 || objects.some((o) => mtime(o) > exeTime);
  if (linked) {
    const tmp = `${xsrunPath}.${process.pid}.tmp`;
    try {
      await run("cc", ["-o", tmp, ...objects, "-lsodium", "-lm"], { maxBuffer: 16 << 20 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`linking xsrun failed:\n${err.stderr || err.message}`);
    }
    renameSync(tmp, xsrunPath);
  }
  return { path: xsrunPath, compiled: stale.length, linked };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  buildXsHost().then(
    (r) => console.log(`${r.path}: ${r.compiled} object(s) compiled${r.linked ? ", linked" : ", up to date"} in ${Date.now() - t0} ms`),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
