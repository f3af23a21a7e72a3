// Third-party sources and tools for the QEMU firmware build, fetched on demand and never committed.
//
//   debianSource("lwip")  -> build/src/lwip/lwip-2.1.3+dfsg1   (Debian bookworm source package)
//   debianSource("mbedtls", "trixie") -> build/src/mbedtls/mbedtls-3.6.x   (from Debian 13: bookworm
//                            has only Mbed TLS 2.28, without the PSA Crypto API the hooks use)
//   ensurePackages([...]) -> installs missing Debian packages (toolchain, qemu) with apt-get
//
// Source packages come through a private apt configuration under build/apt/ (its own sources.list
// with one deb-src line, its own lists and cache), so /etc/apt and the system's package lists are never
// touched. The mirror is the one the machine's own Debian sources already use. Everything is cached:
// a second call returns at once. Calls from several processes at once are serialised by a lock dir.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Repository root and its gitignored build directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const buildDir = join(repoRoot, "build");

/** Debian release the source packages come from (the machines run Debian 12). */
const SUITE = "bookworm";
/** The newer release a few sources come from (Mbed TLS 3.6, OpenSSH 10.0's ML-KEM header): its
 * deb-src line sits beside bookworm's in the private sources.list, signed by the same keyring
 * (bookworm's debian-archive-keyring carries the trixie keys). */
export type Suite = typeof SUITE | "trixie";
const SUITES: readonly Suite[] = [SUITE, "trixie"];
const FALLBACK_MIRROR = "http://deb.debian.org/debian";
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
const BIG = 64 * 1024 * 1024; // maxBuffer for apt's chatter

// ---------------------------------------------------------------------------------------------
// System packages (toolchain, qemu, dpkg-dev)

let systemUpdated = false;

function installed(pkg: string): Promise<boolean> {
  return run("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).then(
    (r) => r.stdout.includes("install ok installed"),
    () => false,
  );
}

/** Installs the Debian packages of `pkgs` that are missing (apt-get update once per process).
 * Throws with apt's output when it cannot: builds and tests never skip silently. */
export async function ensurePackages(pkgs: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of pkgs) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return;
  const lock = ["-o", "DPkg::Lock::Timeout=600"];
  try {
    if (!systemUpdated) {
      await run("apt-get", [...lock, "update", "-q"], { env: aptEnv, timeout: 600_000, maxBuffer: BIG });
      systemUpdated = true;
    }
    await run("apt-get", [...lock, "install", "-y", "-q", "--no-install-recommends", ...missing], {
      env: aptEnv,
      timeout: 1_200_000,
      maxBuffer: BIG,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`installing ${missing.join(" ")} failed: ${err.stderr || err.message}`);
  }
  for (const p of missing) if (!(await installed(p))) throw new Error(`apt-get did not install ${p}`);
}

/** The cross toolchain (riscv64-unknown-elf gcc + picolibc) and qemu-system-riscv32. */
export function ensureToolchain(): Promise<void> {
  return ensurePackages(["gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf", "qemu-system-misc"]);
}

// ---------------------------------------------------------------------------------------------
// Debian source packages

/** The Debian mirror the machine's own apt sources use (deb822 `.sources` or one-line `.list`). */
export function debianMirror(): string {
  const files: string[] = [];
  if (existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(dir, f));
  }
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, "mi"))?.[1].trim().split(/\s+/) ?? [];
        if (!field("Suites").includes(SUITE)) continue;
        const uri = field("URIs").find((u) => /^https?:\/\//.test(u));
        if (uri) return uri.replace(/\/+$/, "");
      }
    } else {
      for (const line of text.split("\n")) {
        const m = line.match(/^\s*deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+(\S+)/);
        if (m && m[2] === SUITE) return m[1].replace(/\/+$/, "");
      }
    }
  }
  return FALLBACK_MIRROR;
}

const aptDir = join(buildDir, "apt");
const srcRoot = join(buildDir, "src");

/** apt-get options pointing every piece of state at build/apt/. */
function privateApt(): string[] {
  return [
    "-o", `Dir::Etc::SourceList=${join(aptDir, "sources.list")}`,
    "-o", "Dir::Etc::SourceParts=/dev/null",
    "-o", `Dir::State::Lists=${join(aptDir, "lists")}`,
    "-o", `Dir::Cache=${join(aptDir, "cache")}`,
    "-o", "Dir::Cache::pkgcache=",
    "-o", "Dir::Cache::srcpkgcache=",
    "-o", "APT::Sandbox::User=root", // build/ is not readable by _apt everywhere
  ];
}

/** Cross-process lock: a directory holding the owner's pid, taken over when that pid is gone. */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(aptDir, `${name}.lock`);
  mkdirSync(aptDir, { recursive: true });
  const deadline = Date.now() + 1_800_000;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      break;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(join(dir, "pid"), "utf8"));
      } catch {
        // being created or removed right now
      }
      let alive = true;
      if (owner > 0) {
        try {
          process.kill(owner, 0);
        } catch {
          alive = false;
        }
      } else if (Date.now() - safeMtime(dir) > 10_000) alive = false;
      if (!alive) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${dir}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeMtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Marker file naming the unpacked tree of a fetched package. */
const marker = (pkg: string) => join(srcRoot, pkg, ".unpacked");

function cached(pkg: string): string | undefined {
  try {
    const dir = join(srcRoot, pkg, readFileSync(marker(pkg), "utf8").trim());
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

let listsFresh = false;

async function updateLists(): Promise<void> {
  if (listsFresh) return;
  const mirror = debianMirror();
  const list = SUITES.map((suite) => `deb-src [signed-by=${KEYRING}] ${mirror} ${suite} main\n`).join("");
  const listFile = join(aptDir, "sources.list");
  const changed = !existsSync(listFile) || readFileSync(listFile, "utf8") !== list;
  mkdirSync(join(aptDir, "lists", "partial"), { recursive: true });
  mkdirSync(join(aptDir, "cache", "archives", "partial"), { recursive: true });
  const haveLists = readdirSync(join(aptDir, "lists")).some((f) => f.endsWith("_Sources") || f.includes("_Sources."));
  if (!changed && haveLists) {
    listsFresh = true;
    return;
  }
  writeFileSync(listFile, list);
  await run("apt-get", [...privateApt(), "update", "-q"], { env: aptEnv, timeout: 600_000, maxBuffer: BIG });
  listsFresh = true;
}

const inFlight = new Map<string, Promise<string>>();

/** Path of the unpacked Debian source package `pkg` of `suite` (default bookworm) under
 * build/src/<pkg>/, fetched with `apt-get source --download-only pkg/suite` + `dpkg-source -x` on
 * first use; cached afterwards (one suite per package name). */
export function debianSource(pkg: "lwip" | "libsodium" | "mbedtls" | "openssh" | string, suite: Suite = SUITE): Promise<string> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) return Promise.reject(new Error(`bad source package name ${pkg}`));
  if (!SUITES.includes(suite)) return Promise.reject(new Error(`bad suite ${suite}`));
  const hit = cached(pkg);
  if (hit) return Promise.resolve(hit);
  let p = inFlight.get(pkg);
  if (!p) {
    p = fetchSource(pkg, suite).finally(() => inFlight.delete(pkg));
    inFlight.set(pkg, p);
  }
  return p;
}

async function fetchSource(pkg: string, suite: Suite): Promise<string> {
  await ensurePackages(["dpkg-dev"]);
  return withLock("apt", async () => {
    const again = cached(pkg);
    if (again) return again; // another process fetched it while we waited
    try {
      await updateLists();
      const dir = join(srcRoot, pkg);
      const dl = join(dir, "download");
      rmSync(dl, { recursive: true, force: true });
      mkdirSync(dl, { recursive: true });
      await run("apt-get", [...privateApt(), "source", "--download-only", "-q", `${pkg}/${suite}`], {
        cwd: dl,
        env: aptEnv,
        timeout: 600_000,
        maxBuffer: BIG,
      });
      const dsc = readdirSync(dl).find((f) => f.endsWith(".dsc"));
      if (!dsc) throw new Error(`apt-get source ${pkg} fetched no .dsc`);
      // Unpack into a scratch dir, then move into place, so a half-unpacked tree is never used.
      const scratch = join(dir, "unpack");
      rmSync(scratch, { recursive: true, force: true });
      mkdirSync(scratch);
      await run("dpkg-source", ["--no-check", "-x", join(dl, dsc), join(scratch, "tree")], {
        cwd: scratch,
        env: aptEnv,
        timeout: 600_000,
        maxBuffer: BIG,
      });
      const name = dsc.replace(/\.dsc$/, "").replace(/_/, "-");
      const final = join(dir, name);
      rmSync(final, { recursive: true, force: true });
      renameSync(join(scratch, "tree"), final);
      rmSync(scratch, { recursive: true, force: true });
      writeFileSync(marker(pkg), name + "\n");
      return final;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`fetching Debian source ${pkg} failed: ${err.stderr || err.message}`);
    }
  });
}
