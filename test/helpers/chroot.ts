// Newer OpenSSH clients than Debian 12's 9.2, for tests that need them (mlkem768x25519-sha256 is
// 9.9+, the post-quantum WARNING 10.1+): a minimal Debian chroot made once with debootstrap from
// the mirror this machine's apt uses, cached under build/chroot/SUITE, and run with chroot(8) in the
// same network namespace. trixie has OpenSSH 10.0 (debootstrap: ~230 MB, 2-5 minutes here); sid's
// 10.x is made from a copy of the trixie chroot by upgrading openssh-client from sid (~30 s), not by
// a second debootstrap.
//
//   const root = await ensureChroot("trixie");   // installs debootstrap first if it is missing
//   await run("chroot", [root, "ssh", ...]);
//
// A lock directory keeps two test processes from building the same chroot at once; a marker file
// written last says the chroot is complete.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../hosts/qemu/xs-host/build.js";
import { ensureTool } from "./tools.js";

export type Suite = "trixie" | "sid";

/** debootstrap with a slow mirror can take a few minutes. */
const DEBOOTSTRAP_MS = 15 * 60_000;
/** How long a second process waits for another one's build. */
const LOCK_WAIT_MS = DEBOOTSTRAP_MS + 60_000;
const READY = ".esp-ssh-console-ready";

/** The Debian mirror of this machine's apt sources (deb822 or one-line format). */
export function debianMirror(): string {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const f of readdirSync("/etc/apt/sources.list.d")) if (f.endsWith(".sources") || f.endsWith(".list")) files.push(join("/etc/apt/sources.list.d", f));
  } catch {
    // no directory
  }
  for (const f of files) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/.exec(line);
      if (deb822) return deb822[1];
      const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/.exec(line);
      if (oneLine) return oneLine[1];
    }
  }
  throw new Error("no Debian mirror found in /etc/apt/sources.list{,.d}: debootstrap needs one");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a command to its end (keeping the tail of its output for the error), or fails. */
function runChecked(cmd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    let log = "";
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${log}`));
    });
  });
}

const debootstrap = (suite: Suite, dir: string) =>
  runChecked("debootstrap", ["--variant=minbase", "--include=openssh-client", suite, dir, debianMirror()], DEBOOTSTRAP_MS);
const runIn = (root: string, args: string[], timeoutMs: number) => runChecked("chroot", [root, ...args], timeoutMs);

/** sid from a copy of trixie: its apt pointed at sid, openssh-client (and what it needs) upgraded.
 * sid's Release file carries a Valid-Until that a mirror snapshot may be past: not checked. */
async function sidFromTrixie(dir: string): Promise<void> {
  const trixie = await ensureChroot("trixie");
  execFileSync("cp", ["-a", trixie, dir], { timeout: 300_000 });
  rmSync(join(dir, READY), { force: true });
  writeFileSync(join(dir, "etc/apt/sources.list"), `deb ${debianMirror()} sid main\n`);
  const apt = ["-q", "-o", "Acquire::Languages=none", "-o", "Acquire::Check-Valid-Until=false"];
  await runIn(dir, ["apt-get", ...apt, "update"], DEBOOTSTRAP_MS);
  await runIn(dir, ["apt-get", ...apt, "install", "-y", "--no-install-recommends", "openssh-client"], DEBOOTSTRAP_MS);
}

/** The root of a ready chroot of `suite` with openssh-client, made on first use. Fails loudly. */
export async function ensureChroot(suite: Suite): Promise<string> {
  const dir = join(repoRoot, "build/chroot", suite);
  const ready = join(dir, READY);
  if (existsSync(ready)) return dir;
  ensureTool("debootstrap", "debootstrap");
  mkdirSync(join(repoRoot, "build/chroot"), { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(ready)) return dir;
      if (Date.now() > deadline) throw new Error(`${lock}: another process has held it for too long`);
      await sleep(2000);
    }
  }
  try {
    if (existsSync(ready)) return dir;
    rmSync(dir, { recursive: true, force: true });
    if (suite === "sid") await sidFromTrixie(dir);
    else await debootstrap(suite, dir);
    if (!existsSync(join(dir, "usr/bin/ssh"))) throw new Error(`${dir}: debootstrap finished but there is no usr/bin/ssh`);
    writeFileSync(ready, new Date().toISOString() + "\n");
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The chroot's OpenSSH version line (ssh -V). */
export function chrootSshVersion(root: string): string {
  return execFileSync("chroot", [root, "sh", "-c", "ssh -V 2>&1"], { encoding: "utf8", timeout: 20_000 }).trim();
}

/** Copies a private key into the chroot (mode 0600) and returns its path as seen inside. */
export function keyIntoChroot(root: string, keyFile: string, name: string): string {
  const inside = `/tmp/${name}`;
  mkdirSync(join(root, "tmp"), { recursive: true });
  copyFileSync(keyFile, join(root, inside));
  chmodSync(join(root, inside), 0o600);
  return inside;
}
