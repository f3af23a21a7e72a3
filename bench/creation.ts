// Sizes the XS machine of the ESP32 build (`creation` in hosts/esp32/manifest_app.json) from the
// QEMU firmware, which runs the same core with the same limits (BOARD_LIMITS) on XS 13.3:
//
//   npm run bench:creation            finds the smallest fixed machine the board scenario runs in,
//                                     then the login figures below
//   npm run bench:creation -- --logins  only the login figures: guest instructions (-icount shift=0)
//                                     for a full login per algorithm suite (LOGIN_SUITES; OpenSSH
//                                     10.0 from a trixie chroot), what XS allocates for each key
//                                     exchange, and an mlkem768x25519 login on the manifest's creation
//
// A board scenario: `info`; an scp (SFTP) upload of 256 KiB into the flash store while a second
// connection loops 32 KiB through `cat`; the file back down (sha256 compared); a legacy `scp -O`
// upload; `info` again (XS stack peak and keys). It passes when every client exits 0 with the right
// bytes and the firmware is still up.
//
// The firmware boots with `--creation CHUNKS,SLOTS` (a machine that never grows, as a Moddable
// `creation` with incremental sizes of 0), and a bisection finds the fewest slots the scenario
// passes with at the manifest's chunks, and the fewest chunk bytes at the manifest's slots (each
// plus the modules' share). Everything in the QEMU machine is in RAM; on a board the
// SDK's XS linker puts XS's built-ins and the preloaded modules (manifest "preload") in flash. So
// what the board needs in RAM is the smallest machine less what the QEMU firmware holds live once
// its modules have run (its log line "memory after modules"). The test test/qemu-creation.test.ts
// checks the manifest's creation against this: that machine, plus the modules' share, runs the
// scenario. Results: bench/results/creation.json.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSshFirmware } from "../hosts/qemu/build.js";
import { bootSshServer, type Creation } from "../hosts/qemu/run.js";
import { sha256 } from "../test/helpers/procs.js";
import { ensureTool, freePort, opensshOptions, run, tempDir } from "../test/helpers/tools.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = "console@127.0.0.1";
const STEP_MS = 60_000;
export const SCENARIO = { uploadBytes: 256 * 1024, catBytes: 32 * 1024, legacyBytes: 64 * 1024 };

/** What the firmware logs at boot: XS's built-ins (machine created), the program's modules. */
export interface BootFigures {
  builtins: { chunks: number; slots: number };
  modules: { chunks: number; slots: number; keys: number; stackSlots: number };
}

export interface ScenarioResult {
  ok: boolean;
  why?: string;
  boot?: BootFigures;
  /** From the last `info`: the XS stack's deepest use and the keys made. */
  stackPeak?: number;
  keys?: number;
  /** The last `info` output. */
  info?: string;
  log: string;
  ms: number;
}

function bootFigures(log: string): BootFigures | undefined {
  const b = log.match(/^mem machine created: xs chunks (\d+) B .*?slots (\d+) /m);
  const m = log.match(/^memory after modules: XS chunks (\d+) B, slots (\d+) \(live\), keys (\d+), XS stack (\d+) slots/m);
  if (!b || !m) return undefined;
  return {
    builtins: { chunks: Number(b[1]), slots: Number(b[2]) },
    modules: { chunks: Number(m[1]), slots: Number(m[2]), keys: Number(m[3]), stackSlots: Number(m[4]) },
  };
}

/** One boot of the SSH firmware (with `creation`, fixed; without, the firmware's growing machine)
 * through the board scenario. Never throws for a failure of the firmware: ok is false, with why. */
export async function runScenario(creation?: Creation, elf?: string): Promise<ScenarioResult> {
  ensureTool("ssh", "openssh-client");
  ensureTool("scp", "openssh-client");
  const tmp = tempDir("essh-creation-");
  const started = Date.now();
  const key = join(tmp.path, "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 20_000 });
  const data = join(tmp.path, "data");
  mkdirSync(data);
  writeFileSync(join(data, "authorized_keys"), readFileSync(`${key}.pub`));
  const port = await freePort();
  const opts = opensshOptions(key, 20);
  const ssh = (args: string[], input?: Buffer) => run("ssh", ["-p", String(port), ...opts, TARGET, ...args], { input, timeoutMs: STEP_MS });
  const scp = (args: string[]) => run("scp", ["-P", String(port), ...opts, ...args], { timeoutMs: STEP_MS });
  let qemu: Awaited<ReturnType<typeof bootSshServer>> | undefined;
  const result = (ok: boolean, why?: string, extra: Partial<ScenarioResult> = {}): ScenarioResult => {
    const log = qemu?.output() ?? "";
    return { ok, why, boot: bootFigures(log), log, ms: Date.now() - started, ...extra };
  };
  try {
    try {
      qemu = await bootSshServer({ elf, listen: `127.0.0.1:${port}`, data, creation, timeoutMs: 10 * 60_000 });
    } catch (e) {
      return result(false, `boot: ${(e as Error).message.split("\n")[0]}`);
    }
    const alive = () => qemu!.child.exitCode === null && qemu!.child.signalCode === null;
    const step = async (what: string, f: () => Promise<string | undefined>): Promise<string | undefined> => {
      const failed = await f().catch((e: Error) => e.message);
      if (failed) return `${what}: ${failed.trim().split("\n").slice(-2).join(" ")}`;
      if (!alive()) return `${what}: the firmware stopped`;
      return undefined;
    };
    const exitOk = (r: { code: number | null; stderr: string }) => (r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr}`);

    const up = randomBytes(SCENARIO.uploadBytes);
    const loop = randomBytes(SCENARIO.catBytes);
    const legacy = randomBytes(SCENARIO.legacyBytes);
    writeFileSync(join(tmp.path, "up.bin"), up);
    writeFileSync(join(tmp.path, "legacy.bin"), legacy);
    const failure =
      (await step("info", async () => exitOk(await ssh(["info"])))) ??
      (await step("scp upload with a cat loopback alongside", async () => {
        const [u, c] = await Promise.all([scp([join(tmp.path, "up.bin"), `${TARGET}:up.bin`]), ssh(["cat"], loop)]);
        if (u.code !== 0) return `scp: ${exitOk(u)}`;
        if (c.code !== 0) return `cat: ${exitOk(c)}`;
        return sha256(c.stdout) === sha256(loop) ? undefined : "cat: other bytes came back";
      })) ??
      (await step("scp download", async () => {
        const d = await scp([`${TARGET}:up.bin`, join(tmp.path, "down.bin")]);
        if (d.code !== 0) return exitOk(d);
        return sha256(readFileSync(join(tmp.path, "down.bin"))) === sha256(up) ? undefined : "other bytes came down";
      })) ??
      (await step("scp -O upload", async () => exitOk(await scp(["-O", join(tmp.path, "legacy.bin"), `${TARGET}:legacy.bin`]))));
    if (failure) {
      if (!alive()) await qemu.done;
      const fatal = qemu.output().match(/^fatal .*$/m)?.[0];
      return result(false, fatal ? `${failure} (${fatal})` : failure);
    }
    const info = await ssh(["info"]);
    const text = info.stdout.toString();
    const m = text.match(/^memory: XS stack peak (\d+) of \d+ slots, keys (\d+)/m);
    if (info.code !== 0 || !m) return result(false, `last info: ${exitOk(info) ?? "no XS stack line"}`);
    return result(true, undefined, { stackPeak: Number(m[1]), keys: Number(m[2]), info: text });
  } finally {
    qemu?.child.kill("SIGKILL");
    if (qemu) await qemu.done.catch(() => undefined);
    tmp.cleanup();
  }
}

/** The creation in a Moddable manifest (chunk.initial bytes, heap.initial slots, stack slots). */
export function manifestCreation(file = join(root, "hosts/esp32/manifest_app.json")): Creation & { keys?: number } {
  const m = JSON.parse(readFileSync(file, "utf8")) as {
    creation: { chunk: { initial: number }; heap: { initial: number }; stack: number; keys?: { available?: number } };
  };
  return { chunks: m.creation.chunk.initial, slots: m.creation.heap.initial, stack: m.creation.stack, keys: m.creation.keys?.available };
}

/** Smallest value in [lo, hi] (multiples of step) for which pass(value) holds; pass(hi) must hold. */
async function bisect(lo: number, hi: number, step: number, pass: (v: number) => Promise<boolean>): Promise<number> {
  lo = Math.floor(lo / step);
  hi = Math.ceil(hi / step);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await pass(mid * step)) hi = mid;
    else lo = mid + 1;
  }
  return hi * step;
}

/** The C heap of the measuring image: room for machines larger than the 320 KiB image allows, so
 * that the bisection is bounded by XS, not by malloc. */
export const MEASURE_HEAP_BYTES = 640 * 1024;

export async function buildMeasuringFirmware(): Promise<string> {
  return (await buildSshFirmware({ log: () => {}, out: `ssh-heap${MEASURE_HEAP_BYTES >> 10}k.elf`, heapBytes: MEASURE_HEAP_BYTES })).elf;
}

/** One login per algorithm suite, counted exactly (`-icount shift=0`), in one boot of the SSH image. */
export interface LoginSuite {
  name: string;
  /** OpenSSH options that pick the suite (the first value given wins in OpenSSH). */
  options: string[];
  /** The user key: "ed25519" or "rsa3072". */
  key: "ed25519" | "rsa3072";
  /** What the server's kex line must say (kex, host key, cipher). */
  expect: string;
}

export const LOGIN_SUITES: LoginSuite[] = [
  { name: "curve25519 + ed25519 + chacha20 (the first suite)", options: ["-o", "KexAlgorithms=curve25519-sha256"], key: "ed25519", expect: "kex curve25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh.com" },
  { name: "mlkem768x25519 + ed25519 + chacha20 (OpenSSH 10 default)", options: [], key: "ed25519", expect: "kex mlkem768x25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh.com" },
  {
    name: "ecdh-p256 + ecdsa-p256 + aes256-gcm (FIPS-like)",
    options: ["-o", "KexAlgorithms=ecdh-sha2-nistp256", "-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256", "-o", "Ciphers=aes256-gcm@openssh.com"],
    key: "ed25519",
    expect: "kex ecdh-sha2-nistp256, host key ecdsa-sha2-nistp256, cipher aes256-gcm@openssh.com",
  },
  { name: "RSA-3072 host key signature (curve25519 + rsa-sha2-512 + chacha20)", options: ["-o", "KexAlgorithms=curve25519-sha256", "-o", "HostKeyAlgorithms=rsa-sha2-512"], key: "ed25519", expect: "kex curve25519-sha256, host key rsa-sha2-512, cipher chacha20-poly1305@openssh.com" },
  { name: "RSA-3072 user key verify (curve25519 + ed25519 + chacha20, rsa-sha2-512 user key)", options: ["-o", "KexAlgorithms=curve25519-sha256"], key: "rsa3072", expect: "kex curve25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh.com" },
];
/** Logins per suite: the median is reported (RSA blinding and ECDSA nonces vary a little). */
const LOGIN_REPEATS = 3;

export interface LoginFigures {
  name: string;
  /** Guest instructions from accept, idle time excluded: key exchange done, logged in (medians). */
  kexM: number;
  loginM: number;
  /** XS chunks (bytes) and slots allocated from accept to the end of the kex (median), garbage included. */
  kexChunks: number;
  kexSlots: number;
  runs: { kexM: number; loginM: number; kexChunks: number; kexSlots: number }[];
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Full logins (`ssh ... echo ok`) per suite with OpenSSH 10.0 from a trixie chroot (the one client that
 * has every suite, mlkem768x25519 included), one at a time, so each kex line has XS's peaks. */
export async function measureLogins(say: (line: string) => void, elf?: string): Promise<{ client: string; suites: LoginFigures[]; mlkemVsCurve25519: number; bootModules?: BootFigures }> {
  const { ensureChroot, chrootSshVersion, keyIntoChroot } = await import("../test/helpers/chroot.js");
  const root = await ensureChroot("trixie");
  const client = chrootSshVersion(root);
  const tmp = tempDir("essh-logins-");
  const keys: Record<LoginSuite["key"], string> = { ed25519: join(tmp.path, "id_ed25519"), rsa3072: join(tmp.path, "id_rsa") };
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keys.ed25519], { timeout: 20_000 });
  execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", keys.rsa3072], { timeout: 60_000 });
  const data = join(tmp.path, "data");
  mkdirSync(data);
  writeFileSync(join(data, "authorized_keys"), readFileSync(`${keys.ed25519}.pub`, "utf8") + readFileSync(`${keys.rsa3072}.pub`, "utf8"));
  const inside = { ed25519: keyIntoChroot(root, keys.ed25519, `essh-logins-ed-${process.pid}`), rsa3072: keyIntoChroot(root, keys.rsa3072, `essh-logins-rsa-${process.pid}`) };
  const port = await freePort();
  const qemu = await bootSshServer({ elf, listen: `127.0.0.1:${port}`, data, icount: true, timeoutMs: 30 * 60_000 });
  try {
    const suites: LoginFigures[] = [];
    let runsSoFar = 0;
    for (const suite of LOGIN_SUITES) {
      const runs: LoginFigures["runs"] = [];
      for (let i = 0; i < LOGIN_REPEATS; i++) {
        const before = qemu.output().length;
        const r = await run("chroot", [root, "ssh", "-p", String(port), ...suite.options, ...opensshOptions(inside[suite.key], 60), TARGET, "echo", "ok"], { timeoutMs: STEP_MS * 2 });
        if (r.code !== 0) throw new Error(`${suite.name}: ssh exit ${r.code}: ${r.stderr}`);
        // This login's line (the n-th) may still be on its way through the pipe.
        const n = runsSoFar++;
        await qemu.waitFor(new RegExp(`(?:[\\s\\S]*?logged in with publickey[^\\n]*M instructions since accept){${n + 1}}`), STEP_MS);
        const text = qemu.output().slice(before);
        const kex = text.match(/: (kex [^;]*), strict; client [^[\n]*\[([\d.]+) M instructions since accept, [\d.]+ M with idle time; XS peak since accept \+(\d+) B of chunks, \+(\d+) slots\]/);
        const login = text.match(/logged in with publickey[^[\n]*\[([\d.]+) M instructions since accept/);
        if (!kex || !login) throw new Error(`${suite.name}: no kex/login lines with figures in the log:\n${text}`);
        if (kex[1] !== suite.expect) throw new Error(`${suite.name}: negotiated "${kex[1]}", expected "${suite.expect}"`);
        runs.push({ kexM: Number(kex[2]), loginM: Number(login[1]), kexChunks: Number(kex[3]), kexSlots: Number(kex[4]) });
      }
      const f: LoginFigures = {
        name: suite.name,
        kexM: median(runs.map((x) => x.kexM)),
        loginM: median(runs.map((x) => x.loginM)),
        kexChunks: median(runs.map((x) => x.kexChunks)),
        kexSlots: median(runs.map((x) => x.kexSlots)),
        runs,
      };
      say(`  ${f.name}: kex ${f.kexM} M, login ${f.loginM} M guest instructions; XS for the kex +${f.kexChunks} B of chunks, +${f.kexSlots} slots`);
      suites.push(f);
    }
    const ratio = suites[1].loginM / suites[0].loginM;
    say(`  mlkem768x25519 login / curve25519 login: ${ratio.toFixed(2)}x (goal: within 1.3x)`);
    return { client, suites, mlkemVsCurve25519: ratio, bootModules: bootFigures(qemu.output()) };
  } finally {
    qemu.child.kill("SIGTERM");
    await qemu.done.catch(() => undefined);
    tmp.cleanup();
  }
}

/** An mlkem768x25519 login (OpenSSH 10.0, trixie chroot) and `info` on a fixed machine: the ESP32
 * manifest's creation plus the modules' share (as test/qemu-creation.test.ts does for the board
 * scenario). Passes when both exit 0. */
export async function mlkemOnBoardCreation(share: { chunks: number; slots: number }, elf: string): Promise<{ ok: boolean; why?: string; info?: string }> {
  const { ensureChroot, keyIntoChroot } = await import("../test/helpers/chroot.js");
  const root = await ensureChroot("trixie");
  const tmp = tempDir("essh-mlkem-board-");
  const key = join(tmp.path, "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 20_000 });
  const data = join(tmp.path, "data");
  mkdirSync(data);
  writeFileSync(join(data, "authorized_keys"), readFileSync(`${key}.pub`));
  const inside = keyIntoChroot(root, key, `essh-mlkem-board-${process.pid}`);
  const manifest = manifestCreation();
  const port = await freePort();
  let qemu: Awaited<ReturnType<typeof bootSshServer>> | undefined;
  try {
    qemu = await bootSshServer({ elf, listen: `127.0.0.1:${port}`, data, creation: { chunks: manifest.chunks + share.chunks, slots: manifest.slots + share.slots }, timeoutMs: 10 * 60_000 });
    const r = await run("chroot", [root, "ssh", "-p", String(port), ...opensshOptions(inside, 60), TARGET, "info"], { timeoutMs: STEP_MS });
    const kexOk = /: kex mlkem768x25519-sha256, /.test(qemu.output());
    if (r.code !== 0 || !kexOk) return { ok: false, why: `exit ${r.code}, mlkem kex ${kexOk}: ${r.stderr.trim().split("\n").slice(-2).join(" ")} ${qemu.output().match(/^fatal .*$/m)?.[0] ?? ""}` };
    return { ok: true, info: r.stdout.toString() };
  } catch (e) {
    return { ok: false, why: (e as Error).message.split("\n")[0] };
  } finally {
    qemu?.child.kill("SIGKILL");
    if (qemu) await qemu.done.catch(() => undefined);
    tmp.cleanup();
  }
}

async function mainLogins(say: (line: string) => void): Promise<void> {
  say("logins: guest instructions per suite (-icount shift=0), OpenSSH 10.0 (trixie chroot) against the SSH image");
  const logins = await measureLogins(say);
  const share = logins.bootModules?.modules;
  if (!share) throw new Error("no module figures in the boot log");
  const board = await mlkemOnBoardCreation(share, await buildMeasuringFirmware());
  say(`  mlkem768x25519 login + info on the ESP32 manifest's creation (+ the modules' share): ${board.ok ? "passes" : `FAILS (${board.why})`}`);
  const file = join(root, "bench/results/creation.json");
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // first run
  }
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...previous, logins: { date: new Date().toISOString(), client: logins.client, suites: logins.suites, mlkemVsCurve25519: logins.mlkemVsCurve25519, mlkemOnBoardCreation: board.ok } }, null, 2)}\n`);
}

async function main(): Promise<void> {
  const say = (line: string) => console.log(line);
  if (process.argv.includes("--logins")) return mainLogins(say);
  const elf = await buildMeasuringFirmware();
  say(`creation: the board scenario on the QEMU firmware's growing machine (reference; ${elf})`);
  const ref = await runScenario(undefined, elf);
  if (!ref.ok || !ref.boot) throw new Error(`the reference run failed: ${ref.why}\n${ref.log.slice(-3000)}`);
  const mods = ref.boot.modules;
  say(`  passed in ${ref.ms} ms; after modules: ${mods.chunks} B of chunks, ${mods.slots} slots live; XS stack peak ${ref.stackPeak}, keys ${ref.keys}`);
  // Bounds: the machine must at least hold what is live after the modules; the upper ones fit the
  // measuring image's heap with room for everything else that mallocs.
  const trial = async (c: Creation) => {
    const r = await runScenario(c, elf);
    say(`  chunks ${c.chunks} B, slots ${c.slots}: ${r.ok ? "passes" : `fails (${r.why})`} [${r.ms} ms]`);
    return r.ok;
  };
  // Each figure is bisected with the other at the manifest's (plus the modules' share): how far the
  // manifest's chunks could shrink with its slots, and its slots with its chunks. (The two trade:
  // at the fewest slots a machine needs more chunk bytes than at the manifest's, so one corner of
  // the frontier would misstate the headroom the board has.) When the manifest's point itself
  // fails, the other figure is at the measuring image's maximum instead, and the headroom is < 1.
  const maxChunks = 256 * 1024;
  const maxSlots = 16384;
  const manifest = manifestCreation();
  const atManifest = { chunks: manifest.chunks + mods.chunks, slots: manifest.slots + mods.slots };
  say(`creation: the manifest's creation plus the modules' share (${atManifest.chunks} B, ${atManifest.slots} slots)`);
  const manifestFits = await trial(atManifest);
  const otherChunks = manifestFits ? atManifest.chunks : maxChunks;
  const otherSlots = manifestFits ? atManifest.slots : maxSlots;
  say(`creation: fewest slots (chunks at ${otherChunks} B)`);
  const slots = await bisect(mods.slots, otherSlots, 128, (s) => trial({ chunks: otherChunks, slots: s }));
  say(`creation: fewest chunk bytes (slots at ${otherSlots})`);
  const chunks = await bisect(mods.chunks, otherChunks, 2048, (c) => trial({ chunks: c, slots: otherSlots }));
  const board = { chunks: chunks - mods.chunks, slots: slots - mods.slots };
  const result = {
    date: new Date().toISOString(),
    scenario: SCENARIO,
    manifestFits,
    qemu: { smallest: { chunks: { bytes: chunks, atSlots: otherSlots }, slots: { count: slots, atChunks: otherChunks } }, builtins: ref.boot.builtins, afterModules: mods, stackPeak: ref.stackPeak, keys: ref.keys },
    board: { ...board, stackBeyondTopLevel: (ref.stackPeak ?? 0) - mods.stackSlots, keysAtRunTime: (ref.keys ?? 0) - mods.keys },
    manifest,
    headroom: { chunks: manifest.chunks / board.chunks, slots: manifest.slots / board.slots },
  };
  say(`creation: fewest chunk bytes ${chunks} B (at ${otherSlots} slots), fewest slots ${slots} (at ${otherChunks} B); less the modules' share: a board needs ${board.chunks} B, ${board.slots} slots`);
  say(`creation: manifest ${manifest.chunks} B, ${manifest.slots} slots, stack ${manifest.stack}: ${result.headroom.chunks.toFixed(2)}x and ${result.headroom.slots.toFixed(2)}x what the scenario needs`);
  say(`creation: XS stack beyond the bundle's top level ${result.board.stackBeyondTopLevel} slots; keys made at run time ${result.board.keysAtRunTime}`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/creation.json"), `${JSON.stringify(result, null, 2)}\n`);
  await mainLogins(say);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: Error) => {
    console.error(`bench:creation: ${e.message}`);
    process.exit(1);
  });
}
