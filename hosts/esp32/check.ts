// `npm run check:esp32`: what can be checked of the ESP32 build without the Moddable SDK, ESP-IDF
// or a board.
//
// 1. TypeScript: tsconfig.esp32.json type-checks hosts/esp32 (from the entry hosts/esp32/main.ts)
//    and modules/ with the settings mcconfig writes (target and lib ES2025, module preserve; needs
//    TypeScript >= 6, which package.json pins: 5.9 rejects es2025 with TS6046), no DOM, no node
//    types, against hosts/esp32/types, our declarations of the Moddable SDK 8.2.3 modules. It
//    fails when the installed TypeScript, package.json's range or tsconfig.esp32.json's target,
//    lib or module differ from what mcconfig needs and writes.
// 2. Manifests: manifest.json, manifest_littlefs.json and hosts/esp32/manifest_app.json parse; every
//    module and data path they list exists; every host module is listed; nothing node-only (noble,
//    hosts/node) is; every native("...") the host binds is a function the listed C files declare.
// 3. Preload: the manifest preloads every module as the SDK 8.2.3 filter reads its "preload" list
//    (tools/mcconfig.js filterPreload: wildcards select JavaScript modules only, so each TypeScript
//    module must be named; an entry that selects nothing fails), and
//    their code does what Moddable's preload allows (preload-check.ts: no RegExp made while a module
//    body runs, no writes to Maps, Sets or typed arrays made then, no writes to static properties,
//    no assignment over a frozen built-in prototype's property), and nothing xsl would warn about
//    (checkAliases: module-level objects not frozen, module-level lets, parameters captured by table
//    entries' methods; each would stay in RAM as an alias, and npm run check:moddable fails on them).
// 4. certs/authorized_keys parses and holds no private key.
// 5. C: the native hooks (modules/crypto/native_crypto.c) and hosts/esp32/*.c compile with -Wall
//    -Wextra -Werror for a 32-bit target (riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32, else
//    gcc -m32) against the real xs.h/xsmc.h (@agoric/xsnap's XS sources) and libsodium's headers
//    (Debian libsodium-dev). Missing Debian packages are installed with apt-get.
// 6. C: the PSA and ML-KEM hooks (modules/crypto/native_psa.c, native_mlkem.c) compile the same way
//    against the PSA Crypto headers of Mbed TLS 3.6 (Debian 13's source package, this project's
//    configuration, hosts/qemu/mbedtls.ts) as the stand-in for ESP-IDF v6.0's Mbed TLS 4.0 /
//    TF-PSA-Crypto, whose PSA API is the same, and libcrux's ML-KEM header. Both are fetched first
//    (the "fetched sources" step): the manifest names the header's directory, build/mlkem/.
//
// Exit status 0 when everything passed; each step prints one line (and the tools' output on failure).

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { parseAuthorizedKeys } from "../../modules/ssh/keys.js";
import { MBEDTLS_DEFINES, mbedtls } from "../qemu/mbedtls.js";
import { mlkemInclude } from "../qemu/mlkem.js";
import { checkAliases, checkPreload, sdkPreloadFilter } from "./preload-check.js";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const hostDir = join(root, "hosts/esp32");
const XS_INCLUDES = join(root, "node_modules/@agoric/xsnap/moddable/xs/includes");
const NATIVE_C = join(root, "modules/crypto/native_crypto.c");
const CFLAGS = ["-std=gnu11", "-Os", "-Wall", "-Wextra", "-Werror", "-DESP32_HOST_CHECK"];
const RISCV = ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"];

/** The node scripts in hosts/esp32 that run the checks (not firmware, not in the manifest). */
const NODE_SCRIPTS = ["check.ts", "check-moddable.ts", "preload-check.ts"];

type Step = () => Promise<string>;
const failures: string[] = [];

async function step(name: string, fn: Step): Promise<void> {
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? `: ${detail}` : ""}`);
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const output = [err.stdout, err.stderr].filter(Boolean).join("\n").trim();
    console.log(`FAIL ${name}: ${err.message.split("\n")[0]}${output ? `\n${output}` : ""}`);
    failures.push(name);
  }
}

// ---------------------------------------------------------------------------------------------

/** What mcconfig (SDK 8.2.3, tools/mcmanifest.js TSConfigFile) writes into tsconfig-base.json for the
 * tsc it runs on each module; tsconfig.esp32.json must say the same, or this check type-checks with
 * settings the real build does not use. */
const MCCONFIG_TS_OPTIONS = { target: "es2025", lib: ["es2025"], module: "preserve" } as const;
/** TypeScript's first major version that accepts target/lib es2025 (5.9 fails with TS6046). */
const MIN_TYPESCRIPT_MAJOR = 6;

/** package.json's typescript range and tsconfig.esp32.json's settings, against mcconfig's: an npm
 * install from a range below 6, or a tsconfig.esp32.json back at ES2022, would pass here and fail
 * (or type-check other code than) the real build. */
function typescriptSettings(): void {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies?: Record<string, string> };
  const range = pkg.devDependencies?.typescript;
  const major = /^[\^~>=v\s]*(\d+)/.exec(range ?? "");
  if (!major || Number(major[1]) < MIN_TYPESCRIPT_MAJOR || /[<|]/.test(range!)) {
    throw new Error(`package.json devDependencies.typescript is ${JSON.stringify(range)}: it must install TypeScript >= ${MIN_TYPESCRIPT_MAJOR} (mcconfig writes target/lib es2025; 5.x rejects it: TS6046)`);
  }
  const cfg = JSON.parse(readFileSync(join(root, "tsconfig.esp32.json"), "utf8")) as { compilerOptions?: Record<string, unknown> };
  const o = cfg.compilerOptions ?? {};
  const low = (v: unknown) => JSON.stringify(v).toLowerCase();
  const wrong = Object.entries(MCCONFIG_TS_OPTIONS).filter(([k, v]) => low(o[k]) !== low(v));
  if (wrong.length > 0) {
    throw new Error(`tsconfig.esp32.json: ${wrong.map(([k, v]) => `${k} is ${JSON.stringify(o[k])}, mcconfig's is ${JSON.stringify(v)}`).join("; ")} (SDK 8.2.3 tools/mcmanifest.js)`);
  }
}

async function typecheck(): Promise<string> {
  // mcconfig runs the tsc on PATH with target/lib "es2025"; TypeScript 5.x rejects that (TS6046).
  if (Number(ts.version.split(".")[0]) < MIN_TYPESCRIPT_MAJOR) throw new Error(`TypeScript ${ts.version}: mcconfig's target/lib es2025 needs TypeScript >= ${MIN_TYPESCRIPT_MAJOR}`);
  typescriptSettings();
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  await run(process.execPath, [tsc, "-p", join(root, "tsconfig.esp32.json")], { cwd: root, maxBuffer: 16 << 20 });
  return `tsconfig.esp32.json (TypeScript ${ts.version}, target/lib ES2025, module preserve: mcconfig's settings; hosts/esp32/types)`;
}

interface Manifest {
  include?: string | string[];
  modules?: Record<string, string | string[]>;
  data?: Record<string, string | string[]>;
  creation?: { main?: string };
  preload?: string[];
  platforms?: Record<string, { dependency?: { name?: string; idf?: string; includes?: string[] }[]; modules?: Record<string, string | string[]> }>;
}

/** Where the espressif/libsodium component (1.0.20) keeps sodium.h; mcconfig adds only the
 * component's include/ folder, the rest must be named in the dependency's "includes". */
const LIBSODIUM_INCLUDES = ["port_include", "libsodium/src/libsodium/include"];

/** Module name -> source files, from manifest_app.json (filled by the manifests step). */
const moduleFiles = new Map<string, string[]>();
/** JavaScript modules of manifest_app.json (the only ones a preload wildcard can select). */
const jsModules = new Set<string>();

function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Files a manifest source path matches, as mcconfig does: `dir/name` matches dir/name.* and
 * `dir/*` everything in dir. */
function matches(manifestDir: string, source: string): string[] {
  const full = resolve(manifestDir, source);
  const dir = dirname(full);
  const name = basename(full);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith(".") && (name === "*" || f === name || f.replace(/\.d\.ts$|\.[^.]+$/, "") === name))
    .map((f) => join(dir, f));
}

async function manifests(): Promise<string> {
  const app = join(hostDir, "manifest_app.json");
  const listed = new Set<string>();
  for (const top of ["manifest.json", "manifest_littlefs.json"]) {
    const m = readManifest(join(root, top));
    const includes = asList(m.include);
    if (!includes.includes("./hosts/esp32/manifest_app.json")) throw new Error(`${top} does not include hosts/esp32/manifest_app.json`);
    for (const want of ["examples/manifest_base.json", "examples/manifest_net.json", "modules/io/manifest.json", "modules/network/mdns/manifest.json"]) {
      if (!includes.some((i) => i.endsWith(want))) throw new Error(`${top} does not include $(MODDABLE)/${want}`);
    }
    const files = includes.filter((i) => i.includes("/files/file/manifest"));
    if (files.length !== 1) throw new Error(`${top} must include exactly one file manifest (SPIFFS or LittleFS)`);
  }
  const m = readManifest(app);
  if (m.creation?.main !== "main") throw new Error(`manifest_app.json: creation.main must be "main"`);
  if (!m.modules?.main) throw new Error(`manifest_app.json maps no "main" module`);
  const sodium = m.platforms?.esp32?.dependency?.find((d) => d.name === "libsodium");
  if (!sodium) throw new Error("manifest_app.json: platforms.esp32 has no libsodium dependency");
  const lacking = LIBSODIUM_INCLUDES.filter((i) => !(sodium.includes ?? []).includes(i));
  if (lacking.length > 0) throw new Error(`manifest_app.json: the libsodium dependency's "includes" lack ${lacking.join(", ")} (mcconfig adds only its include/ folder: sodium.h would not be found)`);
  let modules = 0;
  // The ESP-IDF-only C files sit in platforms.esp32 (the Linux port, hosts/esp32/lin, has stand-ins).
  for (const [target, sources] of [...Object.entries(m.modules), ...Object.entries(m.platforms?.esp32?.modules ?? {})]) {
    for (const source of asList(sources)) {
      const found = matches(hostDir, source);
      if (found.length === 0) throw new Error(`module ${target}: ${source} matches no file`);
      for (const f of found) {
        if (f.includes("/hosts/node/") || /noble/.test(f)) throw new Error(`module ${target}: ${f} is node-only`);
        listed.add(f);
        const name = target.endsWith("*") ? target.slice(0, -1) + basename(f).replace(/\.[^.]+$/, "") : target;
        // A .d.ts (types/ota.d.ts for the SDK's untyped "ota") only gives mcconfig's tsc the types: no module of ours.
        if (f.endsWith(".ts") && !f.endsWith(".d.ts")) moduleFiles.set(name, [...(moduleFiles.get(name) ?? []), f]);
        if (f.endsWith(".js")) jsModules.add(name);
      }
      modules += found.length;
    }
  }
  for (const sources of Object.values(m.data ?? {})) {
    for (const source of asList(sources)) if (matches(hostDir, source).length === 0) throw new Error(`data ${source} matches no file`);
  }
  for (const f of readdirSync(hostDir)) {
    if ((f.endsWith(".ts") || f.endsWith(".c")) && !NODE_SCRIPTS.includes(f) && !listed.has(join(hostDir, f))) throw new Error(`hosts/esp32/${f} is not listed in manifest_app.json`);
  }
  // Every core module is in the build too (mcconfig's "dir/*" does not descend into sub-folders, so
  // a new folder such as modules/ssh/kex needs its own line); only the node-only noble provider not.
  const core = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? core(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []));
  for (const f of core(join(root, "modules"))) {
    if (!listed.has(f) && !f.endsWith("/modules/crypto/noble.ts")) throw new Error(`${f.slice(root.length + 1)} is not listed in manifest_app.json`);
  }
  // Every native("name") the host binds must be a C function of a listed C/H file.
  const cText = [...listed].filter((f) => f.endsWith(".c") || f.endsWith(".h")).map((f) => readFileSync(f, "utf8")).join("\n");
  let natives = 0;
  for (const f of [...listed].filter((p) => p.endsWith(".ts"))) {
    for (const match of readFileSync(f, "utf8").matchAll(/native\("([A-Za-z0-9_]+)"\)/g)) {
      natives++;
      if (!new RegExp(`\\bvoid\\s+${match[1]}\\s*\\(\\s*xsMachine\\s*\\*`).test(cText)) throw new Error(`${basename(f)} binds native("${match[1]}"), which no listed C file declares`);
    }
  }
  return `${modules} module files, ${natives} native bindings resolved`;
}

async function preload(): Promise<string> {
  const m = readManifest(join(hostDir, "manifest_app.json"));
  const patterns = m.preload ?? [];
  const names = [...moduleFiles.keys()];
  if (names.length === 0) throw new Error("no modules: the manifests step failed");
  // What the SDK's own filter selects (wildcards match JavaScript modules only), not what the
  // patterns look like they say.
  const modules = [...names.map((name) => ({ name, javascript: false })), ...[...jsModules].map((name) => ({ name, javascript: true }))];
  const { selected, unmatched } = sdkPreloadFilter(patterns, modules);
  if (unmatched.length > 0) throw new Error(`manifest_app.json: preload entries that the SDK's filter matches to no module (a wildcard selects JavaScript modules only): ${unmatched.join(", ")}`);
  const missing = names.filter((n) => !selected.has(n));
  if (missing.length > 0) throw new Error(`manifest_app.json: not preloaded (name each module in "preload"): ${missing.join(", ")}`);
  const files = [...moduleFiles.values()].flat();
  const resolution = { baseUrl: root, paths: { "hosts/esp32/*": ["./hosts/esp32/*"] } };
  // What breaks under preload, then what xsl would warn about (RAM aliases; check:moddable fails on those).
  const problems = [...checkPreload(files, resolution), ...checkAliases(files, resolution)];
  if (problems.length > 0) {
    const e = new Error(`${problems.length} problem(s)`) as Error & { stdout: string };
    e.stdout = problems.map((p) => `  ${p.file.slice(root.length + 1)}:${p.line}: ${p.message}`).join("\n");
    throw e;
  }
  return `${names.length} modules preloaded; ${files.length} files checked`;
}

async function authorizedKeys(): Promise<string> {
  const text = readFileSync(join(root, "certs/authorized_keys"), "utf8");
  if (/PRIVATE KEY-----/.test(text.replace(/^#.*$/gm, ""))) throw new Error("certs/authorized_keys holds a private key");
  const parsed = parseAuthorizedKeys(text);
  if (parsed.errors.length > 0) throw new Error(parsed.errors.join("; "));
  return `${parsed.keys.length} key(s)`;
}

// ---------------------------------------------------------------------------------------------

async function installed(pkg: string): Promise<boolean> {
  try {
    const r = await run("dpkg-query", ["-W", "-f=${Status}", pkg]);
    return r.stdout.includes("install ok installed");
  } catch {
    return false;
  }
}

/** Installs the Debian packages that are missing (never skips silently: throws when it cannot). */
async function ensurePackages(pkgs: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of pkgs) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const lock = ["-o", "DPkg::Lock::Timeout=600"];
  await run("apt-get", [...lock, "update", "-q"], { env, maxBuffer: 64 << 20, timeout: 600_000 });
  await run("apt-get", [...lock, "install", "-y", "-q", "--no-install-recommends", ...missing], { env, maxBuffer: 64 << 20, timeout: 1_200_000 });
}

/** The 32-bit compiler: riscv64-unknown-elf-gcc for rv32imc/ilp32, or gcc -m32 when multilib works. */
async function compiler(scratch: string): Promise<{ cc: string; flags: string[]; name: string }> {
  try {
    await ensurePackages(["gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf"]);
    return { cc: "riscv64-unknown-elf-gcc", flags: RISCV, name: "riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32" };
  } catch (e) {
    const probe = join(scratch, "probe.c");
    await run("sh", ["-c", `echo 'int x;' > ${probe} && gcc -m32 -c ${probe} -o ${probe}.o`]);
    return { cc: "gcc", flags: ["-m32"], name: `gcc -m32 (riscv toolchain unavailable: ${(e as Error).message.split("\n")[0]})` };
  }
}

async function compileC(): Promise<string> {
  if (!existsSync(join(XS_INCLUDES, "xsmc.h"))) throw new Error(`${XS_INCLUDES}/xsmc.h missing: run npm install (@agoric/xsnap)`);
  await ensurePackages(["libsodium-dev"]);
  const scratch = mkdtempSync(join(tmpdir(), "esp32-check-"));
  try {
    // libsodium's headers alone (not the rest of the host's /usr/include) for the cross compiler.
    const inc = join(scratch, "include");
    mkdirSync(inc);
    symlinkSync("/usr/include/sodium.h", join(inc, "sodium.h"));
    symlinkSync("/usr/include/sodium", join(inc, "sodium"));
    const { cc, flags, name } = await compiler(scratch);
    const sources = readdirSync(hostDir).filter((f) => f.endsWith(".c")).map((f) => join(hostDir, f));
    const notes: string[] = [];
    if (existsSync(NATIVE_C)) sources.unshift(NATIVE_C);
    else notes.push("modules/crypto/native_crypto.c does not exist yet");
    for (const src of sources) {
      await run(cc, [...flags, ...CFLAGS, `-I${inc}`, `-I${XS_INCLUDES}`, `-I${join(root, "modules/crypto")}`, "-c", src, "-o", join(scratch, basename(src) + ".o")], { maxBuffer: 16 << 20 });
    }
    return `${sources.map((s) => s.slice(root.length + 1)).join(", ")} with ${name} ${CFLAGS.join(" ")}${notes.length ? ` (${notes.join("; ")})` : ""}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Mbed TLS 3.6 (its PSA headers) and libcrux's ML-KEM header, from Debian 13's source packages. */
let psaIncludes: string[] = [];
async function fetchSources(): Promise<string> {
  const [m, mlkemDir] = await Promise.all([mbedtls(), mlkemInclude()]);
  psaIncludes = [...m.includes, mlkemDir];
  return `Mbed TLS ${m.version} PSA headers (stand-in for ESP-IDF v6.0's TF-PSA-Crypto), ${mlkemDir.slice(root.length + 1)}/`;
}

async function compilePsaHooks(): Promise<string> {
  if (psaIncludes.length === 0) throw new Error("no PSA headers: the fetched sources step failed");
  const scratch = mkdtempSync(join(tmpdir(), "esp32-check-psa-"));
  try {
    const { cc, flags, name } = await compiler(scratch);
    const sources = ["native_psa.c", "native_mlkem.c"].map((f) => join(root, "modules/crypto", f));
    for (const src of sources) {
      await run(cc, [...flags, ...CFLAGS, ...MBEDTLS_DEFINES, ...psaIncludes.map((d) => `-I${d}`), `-I${XS_INCLUDES}`, `-I${join(root, "modules/crypto")}`, "-c", src, "-o", join(scratch, basename(src) + ".o")], { maxBuffer: 16 << 20 });
    }
    return `${sources.map((s) => s.slice(root.length + 1)).join(", ")} with ${name} ${CFLAGS.join(" ")} against Mbed TLS 3.6's PSA headers`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await step("typescript", typecheck);
await step("fetched sources", fetchSources);
await step("manifests", manifests);
await step("preload", preload);
await step("authorized_keys", authorizedKeys);
await step("C hooks", compileC);
await step("PSA and ML-KEM hooks", compilePsaHooks);
if (failures.length > 0) {
  console.log(`check:esp32: ${failures.length} failed (${failures.join(", ")})`);
  process.exit(1);
}
console.log("check:esp32: all passed");
