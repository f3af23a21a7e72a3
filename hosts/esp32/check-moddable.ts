// `npm run check:moddable`: the firmware built by the real Moddable SDK, as far as this machine can
// go without ESP-IDF or a board. Not part of `npm test` (CI cannot fetch the SDK): run it with
// MODDABLE= an SDK checkout (8.2.3 is the one the firmware is written for).
//
//   MODDABLE=/path/to/moddable npm run check:moddable [-- step ...]   (no step named: all of them)
//   CHECK_MODDABLE_OUT=<dir>: build under <dir>/<step> instead of build/moddable/<step>
//
// 1. The SDK: $MODDABLE must be a Moddable SDK checkout. Its Linux command-line tools (mcconfig, xsc,
//    xsid, xsl, mcrez) are built when missing (`make` in build/makefiles/lin; glib comes with Debian's
//    libgtk-3-dev, installed with apt-get when missing) and put on PATH after node_modules/.bin, whose
//    tsc must be TypeScript >= 6 (mcconfig writes target/lib es2025; 5.x rejects it: TS6046).
//    libcrux's ML-KEM header, which the manifest lists from build/mlkem/, is fetched when missing
//    (hosts/qemu/mlkem.ts, as check:esp32 does).
// 2. One step per target (STEPS below). An ESP32 step runs the README's mcconfig line as a release
//    build, `mcconfig -m -p esp32[/<chip>] [manifest] ssid=... password=...`, with -o into a build
//    folder of its own (build/moddable/<step>/, so runs never collide with another build in the same
//    SDK checkout). ESP-IDF is absent here: IDF_PATH points at a throw-away git repository with an
//    annotated tag v6.0 and a stub idf.py, so mcconfig's version check prints "Using recommended
//    ESP-IDF 6.0", writes the makefile and runs tsc and xsc, then stops at the first ESP-IDF step (the
//    cross compiler or idf.py). The generated makefile's own targets then run the XS linker (xsl: the
//    preload) and mcrez to the end: `make -f <tmp>/makefile SDKCONFIG_H=<empty> <tmp>/mc.xs.c
//    <tmp>/mc.resources.c`.
// 3. A step fails on any tsc, xsc, xsl or mcrez error, on an mcconfig stop anywhere but at ESP-IDF,
//    and on any xsl warning that hosts/esp32/manifest_app.json "xslExpectedWarnings" does not list
//    (each entry: the end of the warning line -> why it stays), or, for the lin step only,
//    hosts/esp32/lin/manifest.json's own "xslExpectedWarnings" (the SDK's desktop-simulator `wifi`
//    module that manifest_net.json brings on lin). An entry no step saw fails too.
// 4. Each step prints xsl's preload statistics (instances, keys, colors, holes; aliases: the
//    mxAliasCount of mc.xs.c, the objects and bindings that stay in RAM; bytes of mc.xs.c); a table
//    of all steps ends the run, also written to build/check-moddable.json.
//
// 5. The "lin" step (linStep): the app built for the SDK's Linux port and run there, driven by
//    OpenSSH (hosts/esp32/lin/check.ts); it prints what the run did and the XS 17 heap figures.
//
// Adding a step: append a Step to STEPS. A Step is
// `{ name: string; run(ctx: StepContext): Promise<StepResult> }`; runTool() runs a command with the
// context's PATH, xslReport() reads xsl's output and checks its warnings against the expected list.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mlkemInclude } from "../qemu/mlkem.js";
import { checkLin } from "./lin/check.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const APP_MANIFEST = join(root, "hosts/esp32/manifest_app.json");
const LIN_MANIFEST = join(root, "hosts/esp32/lin/manifest.json");
/** The ESP-IDF version SDK 8.2.3 expects (build/devices/esp32/manifest.json EXPECTED_ESP_IDF). */
const IDF_VERSION = "v6.0";
/** The tools mcconfig's makefiles run, from $MODDABLE/build/bin/lin/release. */
const SDK_TOOLS = ["mcconfig", "xsc", "xsid", "xsl", "mcrez"];
/** Bounds for one tool run: the SDK's tools build in ~2 min on 2 cores, a target in ~2 min. */
const TOOL_BUILD_TIMEOUT_MS = 30 * 60_000;
const TARGET_TIMEOUT_MS = 20 * 60_000;
/** Wi-Fi settings for the build (compiled into mc/config; nothing connects). */
const WIFI_ARGS = ["ssid=check-moddable", "password=check-moddable"];

// ---------------------------------------------------------------------------------------------
// What a step gets and gives (the interface a new step implements).

export interface StepContext {
  /** The repository root (the project mcconfig builds). */
  root: string;
  /** $MODDABLE, the SDK checkout. */
  moddable: string;
  /** process.env with MODDABLE set and PATH = node_modules/.bin, the SDK's tools, then the rest. */
  env: NodeJS.ProcessEnv;
  /** A folder of this step's own under build/moddable/ (emptied before the step runs). */
  outDir: string;
  /** xsl warnings the manifest expects: end of the warning line -> reason. */
  expected: Map<string, string>;
  /** Prints one line under the step's heading. */
  log(line: string): void;
}

export interface XslStats {
  instances: number;
  keys: number;
  colors: number;
  holes: number;
  /** mxAliasCount in mc.xs.c: instances and closures that get a RAM copy (alias) at run time. */
  aliases: number;
  /** Bytes of the generated mc.xs.c (the preloaded heap, built-ins, modules' bytecode as C). */
  xsCBytes: number;
  resourcesCBytes: number;
}

export interface XslWarning {
  text: string;
  /** The expected-list entry it matched (its reason in ctx.expected), if any. */
  expectedBy?: string;
}

export interface StepResult {
  name: string;
  /** Problems found; empty when the step passed. */
  problems: string[];
  /** One line saying what ran (printed after "ok"/"FAIL"). */
  detail: string;
  stats?: XslStats;
  warnings?: XslWarning[];
  seconds?: number;
}

export interface Step {
  name: string;
  run(ctx: StepContext): Promise<StepResult>;
  /** xsl warnings only this step's build may print (end of the warning line -> reason), added to
   * manifest_app.json's list for this step; an entry it does not print is stale like the others. */
  expected?(): Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Helpers for steps.

export interface ToolRun {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

/** Runs a command (no shell) with ctx.env; resolves with its exit code and output, never rejects on
 * a non-zero exit. Killed after timeoutMs. */
export function runTool(cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<ToolRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? root, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => {
      chunks.push(Buffer.from(`\n[check:moddable: ${cmd} killed after ${options.timeoutMs / 1000} s]\n`));
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

const tail = (text: string, lines = 30): string => text.trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");

/** Error lines of tsc, xsc, xsid, xsl and mcrez in a build log. */
export function toolErrors(output: string): string[] {
  return output.split("\n").filter((l) =>
    /error TS\d+:/.test(l) || // tsc
    /^# typescript compile failure/.test(l) ||
    /:\d+: error: /.test(l) || // xsc / xsid: file:line: error: ...
    /^### error/.test(l) || // xsl
    /^# (xsc|xsl|mcrez|xsid).*(error|failed)/i.test(l) ||
    /^(xsc|xsl|mcrez|xsid|mcconfig)\b.*(error|not found|cannot)/i.test(l) ||
    /^Error: /.test(l), // mcconfig (a JavaScript exception)
  );
}

/** xsl's statistics line and warnings, the warnings checked against the expected list. */
export function xslReport(output: string, tmpDir: string, expected: Map<string, string>): { stats?: XslStats; warnings: XslWarning[]; problems: string[] } {
  const problems: string[] = [];
  const m = /^### (\d+) instances, (\d+) keys, (\d+) colors, (\d+) holes$/m.exec(output);
  let stats: XslStats | undefined;
  const xsC = join(tmpDir, "mc.xs.c");
  const resC = join(tmpDir, "mc.resources.c");
  if (!m) problems.push("xsl printed no statistics line (did the XS linker run?)");
  else if (!existsSync(xsC) || !existsSync(resC)) problems.push(`mc.xs.c or mc.resources.c missing in ${tmpDir}`);
  else {
    const alias = /^#define mxAliasCount (\d+)$/m.exec(readFileSync(xsC, "utf8"));
    if (!alias) problems.push("mc.xs.c defines no mxAliasCount");
    stats = { instances: +m[1], keys: +m[2], colors: +m[3], holes: +m[4], aliases: alias ? +alias[1] : NaN, xsCBytes: statSync(xsC).size, resourcesCBytes: statSync(resC).size };
  }
  const warnings: XslWarning[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("### warning")) continue;
    const text = line.replace(/^### warning:?\s*/, "");
    const expectedBy = [...expected.keys()].find((k) => text.endsWith(k));
    warnings.push({ text, expectedBy });
  }
  const unexpected = warnings.filter((w) => !w.expectedBy).length;
  if (unexpected > 0) problems.push(`${unexpected} xsl warning(s) that hosts/esp32/manifest_app.json "xslExpectedWarnings" does not list (marked NOT EXPECTED above): freeze the object, make the binding const, or list it with a reason`);
  return { stats, warnings, problems };
}

// ---------------------------------------------------------------------------------------------
// ESP32 steps.

let fakeIdf: string | undefined;
/** A stand-in IDF_PATH: a git repository whose `git describe` says v6.0 (annotated tag), with a stub
 * idf.py that fails with a clear message (also first on PATH, so mcconfig does not source export.sh). */
async function fakeIdfPath(env: NodeJS.ProcessEnv): Promise<string> {
  if (fakeIdf) return fakeIdf;
  const dir = mkdtempSync(join(tmpdir(), "check-moddable-idf-"));
  mkdirSync(join(dir, "tools"));
  const stub = `#!/bin/sh\necho "idf.py: ESP-IDF is not installed here (check:moddable's stand-in IDF_PATH; the build stops at the first ESP-IDF step)" >&2\nexit 1\n`;
  for (const p of [join(dir, "idf.py"), join(dir, "tools/idf.py")]) {
    writeFileSync(p, stub);
    chmodSync(p, 0o755);
  }
  const git = ["-c", "user.name=check-moddable", "-c", "user.email=check-moddable@localhost", "-c", "init.defaultBranch=main"];
  for (const args of [["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "stand-in ESP-IDF"], ["tag", "-a", IDF_VERSION, "-m", `stand-in ESP-IDF ${IDF_VERSION}`]]) {
    const r = await runTool("git", [...git, ...args], { env, cwd: dir, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`stand-in IDF_PATH: git ${args[0]} failed:\n${tail(r.output)}`);
  }
  fakeIdf = dir;
  return dir;
}

/** Where mcconfig stops when ESP-IDF is absent: the cross compiler or the stub idf.py. */
const IDF_STOP = /(xtensa-esp32[a-z0-9]*-elf-gcc|riscv32-esp-elf-gcc|xtensa-esp-elf-gcc)[^\n]*(No such file|not found)|idf\.py: ESP-IDF is not installed here/;

/** The README's build for one ESP32 chip and manifest (see "Build and flash"): a release build, or
 * with debug the `-d` build that connects to xsbug. */
export function esp32Step(name: string, platform: string, manifest: string, extra: string[] = [], debug = false): Step {
  return {
    name,
    async run(ctx) {
      const started = Date.now();
      const problems: string[] = [];
      const idf = await fakeIdfPath(ctx.env);
      const env = { ...ctx.env, IDF_PATH: idf, PATH: [join(idf, "tools"), ctx.env.PATH].join(delimiter) };
      const shown = [...(debug ? ["-d"] : []), "-m", "-p", platform, ...(manifest === "manifest.json" ? [] : [`./${manifest}`]), ...WIFI_ARGS, ...extra];
      const at = shown.indexOf(platform) + 1;
      const args = [...shown.slice(0, at), "-o", ctx.outDir, ...shown.slice(at)];
      ctx.log(`mcconfig ${args.join(" ")}`);
      const mc = await runTool("mcconfig", args, { env, timeoutMs: TARGET_TIMEOUT_MS });
      const chip = platform.split("/")[1] ?? "esp32";
      const buildName = JSON.parse(readFileSync(join(ctx.root, manifest), "utf8")).build?.NAME as string;
      // mcconfig's build folder (tools/mcmanifest.js): <-o>/tmp/esp32/<subplatform>/<release|debug>/<build.NAME>.
      const tmpDir = join(ctx.outDir, "tmp/esp32", platform.includes("/") ? chip : "", debug ? "debug" : "release", buildName);
      if (!mc.output.includes(`Using recommended ESP-IDF ${IDF_VERSION.slice(1)}`)) problems.push(`mcconfig did not print "Using recommended ESP-IDF ${IDF_VERSION.slice(1)}"`);
      problems.push(...toolErrors(mc.output).map((l) => `mcconfig: ${l}`));
      if (mc.code === 0) problems.push("mcconfig succeeded, which it cannot without ESP-IDF: is a real IDF_PATH leaking in?");
      else if (!IDF_STOP.test(mc.output)) problems.push(`mcconfig stopped (exit ${mc.code}) before the ESP-IDF step`);
      const makefile = join(tmpDir, "makefile");
      if (!existsSync(makefile)) {
        problems.push(`no makefile at ${makefile}`);
        return { name, problems, detail: `mcconfig ${args.join(" ")}\n${tail(mc.output)}`, seconds: (Date.now() - started) / 1000 };
      }
      // xsl and mcrez through the makefile's own rules; an empty sdkconfig.h stands in for ESP-IDF's.
      const sdkconfig = join(ctx.outDir, "sdkconfig-empty.h");
      writeFileSync(sdkconfig, "");
      const make = await runTool("make", ["-f", makefile, `SDKCONFIG_H=${sdkconfig}`, join(tmpDir, "mc.xs.c"), join(tmpDir, "mc.resources.c")], { env, timeoutMs: TARGET_TIMEOUT_MS });
      problems.push(...toolErrors(make.output).map((l) => `make: ${l}`));
      if (make.code !== 0) problems.push(`make mc.xs.c mc.resources.c: exit ${make.code}\n${tail(make.output)}`);
      const xsl = xslReport(make.output, tmpDir, ctx.expected);
      problems.push(...xsl.problems);
      const xsc = (mc.output + make.output).split("\n").filter((l) => /: warning: /.test(l)).length;
      return {
        name,
        problems,
        detail: `mcconfig ${shown.join(" ")} (${buildName}); tsc, xsc, xsl, mcrez ran${xsc ? `; ${xsc} xsc warning(s) (compiler notes, not preload)` : ""}`,
        stats: xsl.stats,
        warnings: xsl.warnings,
        seconds: (Date.now() - started) / 1000,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The Linux step: the same app on the SDK's Linux port, run and driven by OpenSSH.

/** hosts/esp32/lin/check.ts's checkLin as a step: `mcconfig -m -i -p lin hosts/esp32/lin/manifest.json`
 * builds mc.so (into build/lin/moddable, kept between runs: a cold build is ~15 min, so this step
 * does not build under ctx.outDir; the XS linker reruns every time), then OpenSSH logs in, execs,
 * goes through the UART's echo device, moves 256 KiB each way by sftp, scp -O and scp, restarts the
 * process and checks the host key and files were kept. xsl's statistics and warnings are judged as
 * the ESP32 steps' are. */
export const linStep: Step = {
  name: "lin",
  expected: () => expectedWarnings(LIN_MANIFEST),
  async run(ctx) {
    const started = Date.now();
    const r = await checkLin(ctx.moddable);
    for (const l of r.lines) ctx.log(l);
    const problems = r.ok ? [] : [r.lines.at(-1) ?? "checkLin failed"];
    let stats: XslStats | undefined;
    let warnings: XslWarning[] | undefined;
    if (r.build) {
      const xsl = xslReport(r.build.output, r.build.tmpDir, ctx.expected);
      problems.push(...xsl.problems);
      problems.push(...toolErrors(r.build.output).map((l) => `mcconfig: ${l}`));
      stats = xsl.stats;
      warnings = xsl.warnings;
    }
    return { name: "lin", problems, detail: `mcconfig -m -i -p lin ./hosts/esp32/lin/manifest.json, run: ${r.summary}`, stats, warnings, seconds: (Date.now() - started) / 1000 };
  },
};

/** The targets, in order. The README's build guide names the same lines. */
export const STEPS: Step[] = [
  esp32Step("esp32", "esp32", "manifest.json"),
  esp32Step("esp32c3", "esp32/esp32c3", "manifest.json", ["uart_port=1", "uart_tx=4", "uart_rx=5"]),
  esp32Step("esp32s3", "esp32/esp32s3", "manifest.json"),
  esp32Step("littlefs", "esp32", "manifest_littlefs.json"),
  linStep,
  // The README's -d line (the debug build that connects to xsbug) would be
  // esp32Step("esp32-debug", "esp32", "manifest.json", [], true): not run yet (each step takes
  // 2 to 20 minutes, depending on the machine's load).
];

// ---------------------------------------------------------------------------------------------
// The SDK and the tools.

function checkSdk(): string {
  const moddable = process.env.MODDABLE;
  if (!moddable) throw new Error("MODDABLE is not set: MODDABLE=/path/to/moddable npm run check:moddable (a Moddable SDK 8.2.3 checkout: git clone -b 8.2.3 https://github.com/Moddable-OpenSource/moddable)");
  const dir = resolve(moddable);
  for (const f of ["tools/mcconfig.js", "tools/mcmanifest.js", "xs/tools/xslSlot.c", "build/makefiles/lin/makefile", "build/devices/esp32/manifest.json"]) {
    if (!existsSync(join(dir, f))) throw new Error(`MODDABLE=${moddable} is not a Moddable SDK checkout (no ${f})`);
  }
  return dir;
}

async function sdkVersion(moddable: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runTool("git", ["-C", moddable, "describe", "--tags", "--always"], { env, timeoutMs: 60_000 }).catch(() => undefined);
  const c = await runTool("git", ["-C", moddable, "log", "-1", "--format=%h %s"], { env, timeoutMs: 60_000 }).catch(() => undefined);
  return r?.code === 0 ? `${r.output.trim()}${c?.code === 0 ? ` (${c.output.trim()})` : ""}` : "(not a git checkout)";
}

async function debInstalled(pkg: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await runTool("dpkg-query", ["-W", "-f=${Status}", pkg], { env, timeoutMs: 60_000 }).catch(() => undefined);
  return r?.output.includes("install ok installed") ?? false;
}

/** Builds the SDK's Linux tools when one is missing (glib from libgtk-3-dev, installed with apt). */
async function ensureTools(moddable: string, env: NodeJS.ProcessEnv): Promise<string> {
  const bin = join(moddable, "build/bin/lin/release");
  if (SDK_TOOLS.every((t) => existsSync(join(bin, t)))) return `${bin} (present)`;
  if (!(await debInstalled("libgtk-3-dev", env))) {
    const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
    const lock = ["-o", "DPkg::Lock::Timeout=600"];
    for (const args of [[...lock, "update", "-q"], [...lock, "install", "-y", "-q", "--no-install-recommends", "libgtk-3-dev"]]) {
      const r = await runTool("apt-get", args, { env: aptEnv, timeoutMs: TOOL_BUILD_TIMEOUT_MS });
      if (r.code !== 0) throw new Error(`apt-get ${args.slice(2).join(" ")} failed (the SDK's tools need glib):\n${tail(r.output)}`);
    }
  }
  console.log(`     building the SDK's Linux tools: make in ${join(moddable, "build/makefiles/lin")} (~2 min on 2 cores)`);
  const r = await runTool("make", [], { env, cwd: join(moddable, "build/makefiles/lin"), timeoutMs: TOOL_BUILD_TIMEOUT_MS });
  const missing = SDK_TOOLS.filter((t) => !existsSync(join(bin, t)));
  // xsbug (a GTK app) may fail to build; the command-line tools are what the check needs.
  if (missing.length > 0) throw new Error(`make in build/makefiles/lin (exit ${r.code}) left ${missing.join(", ")} missing:\n${tail(r.output)}`);
  return `${bin} (built${r.code !== 0 ? `; make exit ${r.code}, command-line tools complete` : ""})`;
}

async function checkTsc(env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runTool("tsc", ["--version"], { env, timeoutMs: 60_000 }).catch((e: Error) => ({ code: 1, output: e.message }));
  const v = /Version (\d+)\.(\d+)\.(\d+)/.exec(r.output);
  if (r.code !== 0 || !v) throw new Error(`tsc on PATH does not run (${r.output.trim()}): npm install puts TypeScript 6 in node_modules/.bin`);
  if (+v[1] < 6) throw new Error(`tsc on PATH is TypeScript ${v[0].slice(8)}: mcconfig writes target/lib es2025, which needs TypeScript >= 6 (TS6046)`);
  return `TypeScript ${v[0].slice(8)}`;
}

function expectedWarnings(manifest = APP_MANIFEST): Map<string, string> {
  const m = JSON.parse(readFileSync(manifest, "utf8")) as { xslExpectedWarnings?: Record<string, string> };
  return new Map(Object.entries(m.xslExpectedWarnings ?? {}).filter(([k]) => !k.startsWith("//")));
}

// ---------------------------------------------------------------------------------------------

function table(results: StepResult[]): string {
  const head = ["target", "result", "instances", "keys", "colors", "holes", "aliases", "mc.xs.c bytes", "xsl warnings (expected)", "s"];
  const rows = results.map((r) => [
    r.name,
    r.problems.length === 0 ? "ok" : "FAIL",
    ...(r.stats ? [r.stats.instances, r.stats.keys, r.stats.colors, r.stats.holes, r.stats.aliases, r.stats.xsCBytes].map((n) => n.toLocaleString("en-US")) : ["-", "-", "-", "-", "-", "-"]),
    r.warnings ? `${r.warnings.length} (${r.warnings.filter((w) => w.expectedBy).length})` : "-",
    r.seconds !== undefined ? r.seconds.toFixed(0) : "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) => `| ${cells.map((c, i) => (i === 0 || i === 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
  const moddable = checkSdk();
  const bin = join(moddable, "build/bin/lin/release");
  const env: NodeJS.ProcessEnv = { ...process.env, MODDABLE: moddable, PATH: [join(root, "node_modules/.bin"), bin, process.env.PATH ?? ""].join(delimiter) };
  delete env.IDF_PATH; // each ESP32 step sets the stand-in
  console.log(`check:moddable: MODDABLE=${moddable}, SDK ${await sdkVersion(moddable, env)}`);
  console.log(`ok   SDK tools: ${await ensureTools(moddable, env)}`);
  console.log(`ok   tsc on PATH: ${await checkTsc(env)}`);
  // The manifest lists build/mlkem/libcrux_mlkem768_sha3.h (fetched, never committed): mcconfig
  // stops at once ("directory not found") in a checkout where check:esp32 never ran.
  console.log(`ok   ML-KEM header: ${(await mlkemInclude()).slice(root.length + 1)}/ (hosts/qemu/mlkem.ts)`);
  const expected = expectedWarnings();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !STEPS.some((s) => s.name === w));
  if (unknown.length > 0) throw new Error(`no step named ${unknown.join(", ")} (steps: ${STEPS.map((s) => s.name).join(", ")})`);
  const steps = wanted.length > 0 ? STEPS.filter((s) => wanted.includes(s.name)) : STEPS;
  // CHECK_MODDABLE_OUT: another build root (two runs at once, each with some of the steps).
  const outRoot = resolve(process.env.CHECK_MODDABLE_OUT ?? join(root, "build/moddable"));
  const results: StepResult[] = [];
  /** manifest_app.json's entries and every step's own (checked for staleness together). */
  const allExpected = new Map(expected);
  /** A step's own entry -> that step (its own entries are checked whenever it runs). */
  const ownBy = new Map<string, string>();
  try {
    for (const step of steps) {
      const outDir = join(outRoot, step.name);
      rmSync(outDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
      console.log(`---- ${step.name}`);
      const own = step.expected?.() ?? new Map<string, string>();
      for (const [k, v] of own) allExpected.set(k, v);
      for (const k of own.keys()) ownBy.set(k, step.name);
      const ctx: StepContext = { root, moddable, env, outDir, expected: new Map([...expected, ...own]), log: (l) => console.log(`     ${l}`) };
      let result: StepResult;
      try {
        result = await step.run(ctx);
      } catch (e) {
        result = { name: step.name, problems: [(e as Error).message], detail: "step threw" };
      }
      results.push(result);
      const s = result.stats;
      if (s) console.log(`     xsl: ${s.instances} instances, ${s.keys} keys, ${s.colors} colors, ${s.holes} holes; ${s.aliases} aliases; mc.xs.c ${s.xsCBytes} bytes, mc.resources.c ${s.resourcesCBytes} bytes`);
      for (const w of result.warnings ?? []) console.log(`     xsl warning (${w.expectedBy ? `expected: ${ctx.expected.get(w.expectedBy)}` : "NOT EXPECTED"}): ${w.text}`);
      console.log(`${result.problems.length === 0 ? "ok  " : "FAIL"} ${step.name}: ${result.detail}`);
      for (const p of result.problems) console.log(`     ${p}`);
    }
  } finally {
    if (fakeIdf) rmSync(fakeIdf, { recursive: true, force: true });
  }
  // An expected entry that no step saw is stale (a step's own entries whenever that step ran,
  // manifest_app.json's when every step ran): the lists must stay honest.
  const seen = (k: string) => results.some((r) => r.warnings?.some((w) => w.expectedBy === k));
  const stale = [...allExpected.keys()].filter((k) => (ownBy.has(k) || wanted.length === 0) && !seen(k));
  console.log("");
  console.log(table(results));
  const total = results.reduce((n, r) => n + (r.warnings?.length ?? 0), 0);
  const unexpected = results.reduce((n, r) => n + (r.warnings?.filter((w) => !w.expectedBy).length ?? 0), 0);
  console.log(`xsl warnings: ${total} in all, ${unexpected} not expected; expected lists: ${allExpected.size} entr${allExpected.size === 1 ? "y" : "ies"} (manifest_app.json ${expected.size}, steps' own ${allExpected.size - expected.size})${stale.length ? `, ${stale.length} stale` : ""}`);
  for (const k of stale) console.log(`FAIL stale xslExpectedWarnings entry (no step printed it; remove it): ${k}`);
  const json = join(outRoot, "..", wanted.length > 0 ? `check-moddable-${wanted.join("-")}.json` : "check-moddable.json");
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify({ moddable, sdk: await sdkVersion(moddable, env), date: new Date().toISOString(), results, stale }, null, 2) + "\n");
  console.log(`written: ${json.startsWith(root) ? json.slice(root.length + 1) : json}`);
  const failed = results.filter((r) => r.problems.length > 0).map((r) => r.name);
  if (failed.length > 0 || stale.length > 0) {
    console.log(`check:moddable: FAILED (${[...failed, ...(stale.length ? ["stale expected warnings"] : [])].join(", ")})`);
    return 1;
  }
  console.log(`check:moddable: all ${results.length} steps passed`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.log(`FAIL check:moddable: ${e.message}`);
      process.exit(1);
    },
  );
}
