// Linux-only: the ESP32 firmware on the Moddable SDK's Linux port, driven by real OpenSSH.
//
//   MODDABLE=/path/to/moddable npm run check:moddable:lin
//   (or: import { checkLin } from "./hosts/esp32/lin/check.ts"; await checkLin(moddable))
//
// Builds it (build.ts: mcconfig -m -i -p lin hosts/esp32/lin/manifest.json), starts the launcher on
// the SDK's mc.so with a fresh store folder and a fresh ed25519 key among the added keys (the SDK's
// Linux Preference file in that folder, what `keys add` writes on a board), and runs the client
// side with OpenSSH's ssh, sftp and scp over 127.0.0.1: login, exec of a device command, 256 KiB up
// and down byte-exact through SFTP and through legacy scp (-O), the XS heap figures after login;
// then stops the process, starts it again and checks the host key (fingerprint) and the uploaded
// files are kept. Every wait is bounded; nothing waits by sleeping.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePackages } from "../../qemu/sources.js";
import { buildLin, type LinBuild } from "./build.js";

/** The store folder and port of hosts/esp32/lin/manifest.json ("config"). */
const STORE_DIR = "/tmp/esp-ssh-console-lin";
const PORT = 2222;
/** The Preference domain and key of the added keys (hosts/esp32/keystore.ts). */
const PREF_DOMAIN = "sshconsole";
const PREF_ADDED_KEYS = "addedkeys";
const UPLOAD_BYTES = 256 * 1024;
/** Bounds: start-up (host key generation included), one client command, the process's exit. */
const START_TIMEOUT_MS = 60_000;
const CLIENT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runClient(cmd: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: CLIENT_TIMEOUT_MS, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code, signal) => resolvePromise({ code: signal ? -1 : code, stdout, stderr: signal ? `${stderr}\n(${cmd} killed by ${signal}: over ${CLIENT_TIMEOUT_MS} ms)` : stderr }));
    p.stdin.end(input ?? "");
  });
}

/** Bytes sent through the UART's echo device (hosts/esp32/lin/serial.js) in one attached session. */
const ECHO_BYTES = 32 * 1024;

/** `ssh -T console@...` (no command, no pty: attached to the UART, binary passes untouched): sends
 * ECHO_BYTES random bytes and waits, bounded, until they all came back in order. */
function attachEcho(common: string[], whileAttached: () => Promise<void>): Promise<string> {
  const payload = randomBytes(ECHO_BYTES);
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const p = spawn("ssh", [...common, "-o", "StrictHostKeyChecking=yes", "-T", "-p", String(PORT), "console@127.0.0.1"], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    let done = false;
    const finish = (e: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const ms = Date.now() - started;
      const end = () => p.kill("SIGKILL");
      if (e) {
        end();
        reject(e);
        return;
      }
      whileAttached().then(
        () => {
          end();
          resolvePromise(`${ECHO_BYTES} bytes through an attached ssh -T session came back byte-exact in ${ms} ms`);
        },
        (err: Error) => {
          end();
          reject(err);
        },
      );
    };
    const timer = setTimeout(() => finish(new Error(`uart echo: ${Buffer.concat(out).length} bytes back within ${CLIENT_TIMEOUT_MS} ms, want ${ECHO_BYTES} (stderr: ${stderr})`)), CLIENT_TIMEOUT_MS);
    p.stdout.on("data", (d: Buffer) => {
      out.push(d);
      if (Buffer.concat(out).includes(payload)) finish(null);
    });
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", (e) => finish(e));
    p.on("close", (code) => finish(new Error(`uart echo: ssh -T ended (exit ${code}) after ${Buffer.concat(out).length} bytes back: ${stderr}`)));
    p.stdin.write(payload);
  });
}

/** essh_lin_heap_report's figures (hosts/esp32/lin/lin_host.c): chunk bytes, slots (slotBytes each),
 * stack slots. peak* are since the process started; live* after a full collection. */
export interface HeapFigures {
  line: string;
  chunks: number;
  peakChunks: number;
  maxChunks: number;
  slots: number;
  peakSlots: number;
  maxSlots: number;
  liveChunks: number;
  liveSlots: number;
  slotBytes: number;
  stackPeak: number;
  stackTotal: number;
  keys: number;
}

const num = (n: number) => n.toLocaleString("en-US");

/** One line for a person: live chunks and slots (after a GC), the peaks so far, the stack peak. */
export function heapLine(h: HeapFigures): string {
  return `XS chunks ${num(h.liveChunks)} B live (peak ${num(h.peakChunks)} of ${num(h.maxChunks)}), slots ${num(h.liveSlots)} live = ${num(h.liveSlots * h.slotBytes)} B (peak ${num(h.peakSlots)} of ${num(h.maxSlots)}, ${h.slotBytes} B each), stack peak ${h.stackPeak} of ${h.stackTotal} slots, ${h.keys} keys made at run time`;
}

/** The running firmware: its output and a way to wait for a line. */
class Firmware {
  private readonly proc: ChildProcessWithoutNullStreams;
  output = "";
  private waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  private exited: Promise<number | null>;

  constructor(launcher: string, mcSo: string) {
    this.proc = spawn(launcher, [mcSo], { stdio: ["pipe", "pipe", "pipe"] });
    const take = (d: Buffer) => {
      this.output += d.toString();
      this.waiters = this.waiters.filter((w) => {
        const m = w.pattern.exec(this.output);
        if (m) w.resolve(m);
        return !m;
      });
    };
    this.proc.stdout.on("data", take);
    this.proc.stderr.on("data", take);
    this.exited = new Promise((r) => this.proc.on("exit", (code, signal) => r(signal ? -1 : code)));
  }

  wait(pattern: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
    const m = pattern.exec(this.output);
    if (m) return Promise.resolve(m);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not seen within ${ms} ms; output:\n${this.output.slice(-3000)}`)), ms);
      const done = (x: RegExpExecArray) => {
        clearTimeout(timer);
        resolvePromise(x);
      };
      this.waiters.push({ pattern, resolve: done });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${what}: the firmware exited (${code}) first; output:\n${this.output.slice(-3000)}`));
      });
    });
  }

  /** The XS heap figures: lin_host.c's essh_lin_heap_report, asked for on stdin (it runs a full
   * garbage collection for the live figures). */
  async heap(): Promise<HeapFigures> {
    const from = this.output.length;
    this.proc.stdin.write("heap\n");
    const m = await this.wait(new RegExp(`^[\\s\\S]{${from}}[\\s\\S]*?(xs-heap [^\\n]*)`), 10_000, "heap report");
    const f = /chunks=(\d+)\/(\d+)\/(\d+) slots=(\d+)\/(\d+)\/(\d+) live-chunks=(\d+) live-slots=(\d+) slot-bytes=(\d+) stack=(-?\d+)\/(\d+) keys=(\d+)/.exec(m[1]);
    if (!f) throw new Error(`heap report not understood: ${m[1]}`);
    const n = f.slice(1).map(Number);
    return { line: m[1], chunks: n[0], peakChunks: n[1], maxChunks: n[2], slots: n[3], peakSlots: n[4], maxSlots: n[5], liveChunks: n[6], liveSlots: n[7], slotBytes: n[8], stackPeak: n[9], stackTotal: n[10], keys: n[11] };
  }

  async stop(): Promise<number | null> {
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export interface LinResult {
  ok: boolean;
  /** Everything the run said, in order (FAIL ... last when it failed). */
  lines: string[];
  /** One line: what passed, and the XS heap figures after login. */
  summary: string;
  /** The build (for xsl's statistics and warnings), when it got that far. */
  build?: LinBuild;
}

export async function checkLin(moddable: string): Promise<LinResult> {
  const lines: string[] = [];
  const passed: string[] = [];
  let build: LinBuild | undefined;
  const say = (l: string) => {
    lines.push(l);
    if (process.env.ESSH_LIN_VERBOSE) console.log(l);
  };
  let fw: Firmware | null = null;
  const work = mkdtempSync(join(tmpdir(), "essh-lin-"));
  try {
    await ensurePackages(["openssh-client"]);
    build = await buildLin(moddable);
    for (const l of build.lines) say(`build: ${l}`);

    // A fresh store and key.
    rmSync(STORE_DIR, { recursive: true, force: true });
    mkdirSync(STORE_DIR, { recursive: true });
    const key = join(work, "id_ed25519");
    const kg = await runClient("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lin-check", "-f", key]);
    if (kg.code !== 0) throw new Error(`ssh-keygen: ${kg.stderr}`);
    const pub = readFileSync(`${key}.pub`, "utf8").trim();
    writeFileSync(join(STORE_DIR, "modpreferences.json"), JSON.stringify({ [PREF_DOMAIN]: { [PREF_ADDED_KEYS]: `${pub}\n` } }));
    const knownHosts = join(work, "known_hosts");
    const common = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key, "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR"];
    const ssh = (strict: string, ...args: string[]) => runClient("ssh", [...common, "-o", `StrictHostKeyChecking=${strict}`, "-p", String(PORT), "console@127.0.0.1", ...args]);

    const start = async (what: string) => {
      fw = new Firmware(build!.launcher, build!.mcSo);
      const m = await fw.wait(/host key (SHA256:\S+) \(ED25519\)/, START_TIMEOUT_MS, `${what}: host key line`);
      await fw.wait(/ssh: listening on/, START_TIMEOUT_MS, `${what}: listening`);
      return m[1];
    };

    const hostKey1 = await start("first start");
    say(`start: host key ${hostKey1.slice(0, 40)}...`);

    // Login and exec.
    const info = await ssh("accept-new", "info");
    if (info.code !== 0 || !/esp32|uptime|heap|firmware/i.test(info.stdout)) throw new Error(`ssh info: exit ${info.code}\n${info.stdout}\n${info.stderr}\n${fw!.output.slice(-2000)}`);
    say(`ssh exec info: exit 0, ${info.stdout.split("\n").length} lines (${info.stdout.split("\n")[0].trim()})`);
    const fp1 = await runClient("ssh-keygen", ["-l", "-F", `[127.0.0.1]:${PORT}`, "-f", knownHosts]);
    const fingerprint1 = /SHA256:\S+/.exec(fp1.stdout)?.[0];
    if (!fingerprint1) throw new Error(`no host key fingerprint in known_hosts: ${fp1.stdout}${fp1.stderr}`);
    say(`host key fingerprint ${fingerprint1}`);
    passed.push("login (ed25519 key from the Preference file) + exec info");
    const afterExec = await fw!.heap();
    say(`after login + exec (session closed): ${heapLine(afterExec)}`);

    // The UART: an attached session's bytes go through the stand-in's echo device and come back; the
    // heap figures are taken while that session is still logged in and attached.
    let loggedIn: HeapFigures | undefined;
    const echoed = await attachEcho(common, async () => {
      loggedIn = await fw!.heap();
    });
    say(`uart (Linux-only echo device): ${echoed}`);
    passed.push(`uart echo ${ECHO_BYTES / 1024} KiB`);
    say(`after login, one session attached: ${heapLine(loggedIn!)}`);
    say(`  (${loggedIn!.line})`);

    // 256 KiB through SFTP and through legacy scp, both ways.
    const data1 = randomBytes(UPLOAD_BYTES);
    const data2 = randomBytes(UPLOAD_BYTES);
    const up1 = join(work, "up1.bin");
    const up2 = join(work, "up2.bin");
    writeFileSync(up1, data1);
    writeFileSync(up2, data2);
    const sftpArgs = [...common, "-o", "StrictHostKeyChecking=yes", "-P", String(PORT)];
    const down1 = join(work, "down1.bin");
    const sftp = await runClient("sftp", [...sftpArgs, "-b", "-", "console@127.0.0.1"], `put ${up1} sftp.bin\nget sftp.bin ${down1}\n`);
    if (sftp.code !== 0) throw new Error(`sftp: exit ${sftp.code}\n${sftp.stderr}\n${fw!.output.slice(-2000)}`);
    if (!readFileSync(down1).equals(data1)) throw new Error("sftp: the downloaded file differs from the upload");
    say(`sftp put + get ${UPLOAD_BYTES} bytes: byte-exact`);
    const down2 = join(work, "down2.bin");
    const scpUp = await runClient("scp", ["-O", ...sftpArgs, up2, "console@127.0.0.1:scp.bin"]);
    if (scpUp.code !== 0) throw new Error(`scp -O upload: exit ${scpUp.code}\n${scpUp.stderr}\n${fw!.output.slice(-2000)}`);
    const scpDown = await runClient("scp", ["-O", ...sftpArgs, "console@127.0.0.1:scp.bin", down2]);
    if (scpDown.code !== 0) throw new Error(`scp -O download: exit ${scpDown.code}\n${scpDown.stderr}`);
    if (!readFileSync(down2).equals(data2)) throw new Error("scp -O: the downloaded file differs from the upload");
    say(`scp -O up + down ${UPLOAD_BYTES} bytes: byte-exact`);
    // Plain scp: OpenSSH 9 speaks SFTP under it.
    const data3 = randomBytes(UPLOAD_BYTES);
    const up3 = join(work, "up3.bin");
    const down5 = join(work, "down5.bin");
    writeFileSync(up3, data3);
    const scpSftpUp = await runClient("scp", [...sftpArgs, up3, "console@127.0.0.1:scp-sftp.bin"]);
    if (scpSftpUp.code !== 0) throw new Error(`scp (SFTP) upload: exit ${scpSftpUp.code}\n${scpSftpUp.stderr}\n${fw!.output.slice(-2000)}`);
    const scpSftpDown = await runClient("scp", [...sftpArgs, "console@127.0.0.1:scp-sftp.bin", down5]);
    if (scpSftpDown.code !== 0) throw new Error(`scp (SFTP) download: exit ${scpSftpDown.code}\n${scpSftpDown.stderr}`);
    if (!readFileSync(down5).equals(data3)) throw new Error("scp (SFTP): the downloaded file differs from the upload");
    say(`scp (SFTP) up + down ${UPLOAD_BYTES} bytes: byte-exact`);
    passed.push(`${UPLOAD_BYTES / 1024} KiB up + down byte-exact via sftp, scp -O, scp`);
    if (!readFileSync(join(STORE_DIR, "sftp.bin")).equals(data1) || !readFileSync(join(STORE_DIR, "scp.bin")).equals(data2) || !readFileSync(join(STORE_DIR, "scp-sftp.bin")).equals(data3)) throw new Error("the store folder does not hold the uploads byte-exact");
    const afterTransfers = await fw!.heap();
    say(`after transfers: ${heapLine(afterTransfers)}`);
    passed.push(`XS 17 (64-bit, ${loggedIn!.slotBytes} B slots) with a session logged in: ${num(loggedIn!.liveChunks)} B chunks + ${num(loggedIn!.liveSlots)} slots live, peak over the run ${num(afterTransfers.peakChunks)} B + ${num(afterTransfers.peakSlots)} slots, stack peak ${afterTransfers.stackPeak} of ${afterTransfers.stackTotal}`);

    // Stop, start again: same host key, files kept.
    const code = await fw!.stop();
    fw = null;
    say(`stopped (exit ${code})`);
    const hostKey2 = await start("second start");
    if (hostKey2 !== hostKey1) throw new Error(`host key changed across the restart: ${hostKey1} -> ${hostKey2}`);
    const again = await ssh("yes", "info");
    if (again.code !== 0) throw new Error(`ssh after restart (StrictHostKeyChecking=yes, same known_hosts): exit ${again.code}\n${again.stderr}`);
    const down3 = join(work, "down3.bin");
    const down4 = join(work, "down4.bin");
    const down6 = join(work, "down6.bin");
    const kept = await runClient("sftp", [...sftpArgs, "-b", "-", "console@127.0.0.1"], `get sftp.bin ${down3}\nget scp.bin ${down4}\nget scp-sftp.bin ${down6}\n`);
    if (kept.code !== 0) throw new Error(`sftp after restart: exit ${kept.code}\n${kept.stderr}`);
    if (!readFileSync(down3).equals(data1) || !readFileSync(down4).equals(data2) || !readFileSync(down6).equals(data3)) throw new Error("after the restart the files differ");
    passed.push("restart kept the host key and the files");
    say(`restart: host key ${fingerprint1} kept (StrictHostKeyChecking=yes), the added key still logs in, the 3 files kept byte-exact`);
    return { ok: true, lines, summary: passed.join("; "), build };
  } catch (e) {
    say(`FAIL ${(e as Error).message}`);
    return { ok: false, lines, summary: `${passed.length > 0 ? `${passed.join("; ")}; ` : ""}FAILED: ${(e as Error).message.split("\n")[0]}`, build };
  } finally {
    if (fw) await (fw as Firmware).stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const moddable = process.env.MODDABLE;
  if (!moddable) {
    console.error("check:moddable:lin: set MODDABLE to a Moddable SDK 8.2.3 checkout");
    process.exit(2);
  }
  const r = await checkLin(resolve(moddable));
  for (const l of r.lines) console.log(l);
  console.log(r.ok ? "check:moddable:lin: passed" : "check:moddable:lin: FAILED");
  process.exit(r.ok ? 0 : 1);
}
