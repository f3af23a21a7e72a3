// `npm run bench [-- --quick]`: our node host against OpenSSH sshd, dropbear, tinysshd and an npm
// ssh2 server, all on 127.0.0.1 inside a private network namespace (quickack on loopback), measured
// with the same OpenSSH client and suite. Prints a markdown table and writes bench/results/latest.json.
// See bench/README.md for what each figure means.
//
// Two processes: this one (outer, root) installs what is missing, creates the namespace, a
// throwaway user for the peers and the temp dirs, runs itself with --inner inside the namespace, and
// always cleans up (namespace, its processes, user, dirs). The inner one starts each server in turn
// and drives the clients. Every wait is bounded; the run stops by itself.

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomFillSync } from "node:crypto";
import { opensshOptions } from "../test/helpers/tools.js";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT_DIR = dirname(BENCH_DIR);
const RESULTS_DIR = join(BENCH_DIR, "results");
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const INNER = argv.includes("--inner");

const SUITE = ["-o", "KexAlgorithms=curve25519-sha256", "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "Ciphers=chacha20-poly1305@openssh.com"];
const CONFIG = QUICK
  ? { latencyRuns: 5, handshakes: 20, parallel: 4, uploadRuns: 1, fileMiB: 64, idleSessions: 20, allocMiB: 16 }
  : { latencyRuns: 20, handshakes: 40, parallel: 4, uploadRuns: 3, fileMiB: 256, idleSessions: 20, allocMiB: 64 };
/** Ports inside the namespace (nothing else listens there). */
const PORTS = { ours: 2201, openssh: 2202, dropbear: 2203, tinysshd: 2204, ssh2: 2205 } as const;
const PEERS = ["ours", "openssh", "dropbear", "tinysshd", "ssh2"] as const;
type PeerName = (typeof PEERS)[number];
const SFTP_SERVER = "/usr/lib/openssh/sftp-server";
const CLK_TCK = 100;

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);

// ---------------------------------------------------------------------------------------------
// Outer: setup, run inner in the namespace, cleanup.

async function outer(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the bench needs root (network namespace, peer servers, a throwaway user)");
  const started = Date.now();
  ensurePackages();
  const id = `${process.pid}`;
  const ns = `esshbench${id}`;
  const work = `/dev/shm/essh-bench-${id}`;
  const homeBase = `/run/essh-bench-${id}`;
  const user = `esshb${id}`.slice(0, 31);
  const createdSshdDir = !existsSync("/run/sshd");
  let child: ChildProcess | null = null;
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    // Whatever still runs in our namespace was started by this bench.
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000 }).stdout ?? "";
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {}
    }
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore", timeout: 5000 });
    spawnSync("userdel", [user], { stdio: "ignore", timeout: 10000 });
    rmSync(work, { recursive: true, force: true });
    rmSync(homeBase, { recursive: true, force: true });
    if (createdSshdDir) rmSync("/run/sshd", { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: cleaning up`);
    cleanup();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    // Dirs: data on tmpfs; the peers' home outside world-writable dirs (tinysshd checks the chain).
    mkdirSync(work, { mode: 0o755 });
    chmodSync(work, 0o755);
    mkdirSync(homeBase, { mode: 0o755 });
    const home = join(homeBase, "home");
    if (createdSshdDir) mkdirSync("/run/sshd", { mode: 0o755 });
    execFileSync("useradd", ["-r", "-M", "-d", home, "-s", "/bin/sh", user], { stdio: "pipe", timeout: 20000 });
    execFileSync("usermod", ["-p", "*", user], { stdio: "pipe", timeout: 20000 }); // not "!": sshd without PAM refuses locked accounts
    const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    chownSync(home, uid, gid);
    chmodSync(home, 0o755);
    chownSync(join(home, ".ssh"), uid, gid);
    const peerUp = join(work, "peer-up");
    mkdirSync(peerUp, { mode: 0o755 });
    chownSync(peerUp, uid, gid);

    // Namespace with loopback up and quickack on the local routes (the /8 and the more specific /32).
    execFileSync("ip", ["netns", "add", ns], { timeout: 10000 });
    const inNs = (...a: string[]) => execFileSync("ip", ["netns", "exec", ns, ...a], { stdio: "pipe", timeout: 10000 });
    inNs("ip", "link", "set", "lo", "up");
    inNs("ip", "route", "change", "local", "127.0.0.0/8", "dev", "lo", "table", "local", "proto", "kernel", "scope", "host", "src", "127.0.0.1", "quickack", "1");
    inNs("ip", "route", "change", "local", "127.0.0.1", "dev", "lo", "table", "local", "proto", "kernel", "scope", "host", "src", "127.0.0.1", "quickack", "1");
    log(`namespace ${ns}: ${inNs("ip", "route", "show", "table", "local").toString().trim().replace(/\n/g, "; ")}`);

    const limitMs = QUICK ? 4 * 60_000 : 15 * 60_000;
    child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), "--inner", ...(QUICK ? ["--quick"] : [])], {
      stdio: "inherit",
      cwd: ROOT_DIR,
      env: { ...process.env, BENCH_WORK: work, BENCH_HOME: home, BENCH_USER: user, BENCH_UID: String(uid), BENCH_GID: String(gid) },
    });
    const timer = setTimeout(() => {
      log(`inner run exceeded ${limitMs / 1000} s: stopping it`);
      child?.kill("SIGKILL");
    }, limitMs);
    const code = await new Promise<number>((resolve) => child!.on("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
    clearTimeout(timer);
    if (code !== 0) process.exitCode = code;
  } finally {
    cleanup();
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

function ensurePackages(): void {
  const need: [string, string][] = [
    ["/usr/sbin/sshd", "openssh-server"],
    [SFTP_SERVER, "openssh-sftp-server"],
    ["/usr/bin/ssh", "openssh-client"],
    ["/usr/sbin/dropbear", "dropbear-bin"],
    ["/usr/bin/dropbearkey", "dropbear-bin"],
    ["/usr/sbin/tinysshd", "tinysshd"],
    ["/usr/bin/tcpserver", "ucspi-tcp"],
    ["/usr/bin/tini", "tini"],
    ["/usr/sbin/ip", "iproute2"],
  ];
  const missing = [...new Set(need.filter(([p]) => !existsSync(p)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  log(`installing ${missing.join(", ")}`);
  // policy-rc.d 101: the packages' scripts must not start system daemons (sshd on port 22).
  const policy = "/usr/sbin/policy-rc.d";
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-q"], { stdio: "ignore", timeout: 300_000, env });
    execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { stdio: "ignore", timeout: 600_000, env });
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
  const still = need.filter(([p]) => !existsSync(p)).map(([p]) => p);
  if (still.length) throw new Error(`still missing after apt-get install: ${still.join(", ")}`);
}

// ---------------------------------------------------------------------------------------------
// Inner: inside the namespace.

interface Target {
  name: PeerName;
  user: string;
  port: number;
  /** The remote command of the pipe upload; null: no command (ours: the console bridge). */
  pipeCommand: string | null;
  /** Upload destination (remote path) for scp/sftp, and the file downloaded. */
  uploadPath: string;
  downloadPath: string;
  /** Process-per-connection server (its children's CPU is counted). */
  forking: boolean;
  start(): ChildProcess;
  note?: string;
}

interface Result {
  latency_ms: number | null;
  handshakes_per_s: number | null;
  upload_mbps: number | null;
  /** The same pipe upload with aes128-gcm@openssh.com (ours: AES-GCM through node:crypto). */
  upload_gcm_mbps: number | null;
  upload_scp_legacy_mbps: number | null;
  upload_scp_mbps: number | null;
  upload_sftp_mbps: number | null;
  download_mbps: number | null;
  rss_kb_per_session: number | null;
  cpu_s_per_gib_server: number | null;
  cpu_s_per_gib_client: number | null;
  errors: Record<string, string>;
  [k: string]: unknown;
}

const children = new Set<ChildProcess>();
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.on("exit", () => children.delete(c));
  c.on("error", () => children.delete(c));
  c.stdin?.on("error", () => {});
  return c;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command with a hard timeout; stdin from a file (path) or closed. */
function run(cmd: string, args: string[], opts: { stdinFile?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const fd = opts.stdinFile ? openSync(opts.stdinFile, "r") : null;
    const t0 = performance.now();
    const c = track(spawn(cmd, args, { stdio: [fd ?? "ignore", "pipe", "pipe"] }));
    if (fd !== null) closeSync(fd);
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      c.kill("SIGKILL");
      reject(new Error(`${cmd} timed out after ${opts.timeoutMs ?? 30000} ms; stderr: ${err.slice(-300)}`));
    }, opts.timeoutMs ?? 30000);
    c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    c.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err, ms: performance.now() - t0 });
    });
  });
}

// /proc helpers ------------------------------------------------------------------------------

function procStat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // fields after the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17)
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return { ppid: Number(f[1]), ticks };
  } catch {
    return null;
  }
}

function treePids(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st) parent.set(Number(e), st.ppid);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid);
  return out.filter((p) => parent.has(p));
}

/** CPU seconds of a process tree: own + reaped children's, summed over live processes. */
function treeCpu(root: number): number {
  return treePids(root).reduce((a, p) => a + (procStat(p)?.ticks ?? 0), 0) / CLK_TCK;
}

function treeRssKb(root: number): number {
  let kb = 0;
  for (const p of treePids(root)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {}
  }
  return kb;
}

/** Waits (bounded) until the server tree is back to `count` processes (per-connection ones gone). */
async function settleTree(root: number, count: number): Promise<void> {
  for (let i = 0; i < 40 && treePids(root).length > count; i++) await sleep(50);
}

function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    const t = setTimeout(() => (s.destroy(), resolve(false)), 500);
    s.once("connect", () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once("error", () => (clearTimeout(t), resolve(false)));
  });
}

// The suite ----------------------------------------------------------------------------------

async function inner(): Promise<void> {
  const work = process.env.BENCH_WORK!;
  const home = process.env.BENCH_HOME!;
  const user = process.env.BENCH_USER!;
  const uid = Number(process.env.BENCH_UID);
  const gid = Number(process.env.BENCH_GID);
  const logsDir = join(RESULTS_DIR, "logs");
  mkdirSync(logsDir, { recursive: true });
  const t0 = Date.now();
  const timing: Record<string, number> = {};

  // Keys and data.
  const key = join(work, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-client", "-f", key]);
  const pub = readFileSync(key + ".pub", "utf8");
  const ak = join(home, ".ssh", "authorized_keys");
  writeFileSync(ak, pub, { mode: 0o600 });
  chownSync(ak, uid, gid);
  const hostKey = join(work, "ssh_host_ed25519_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  execFileSync("dropbearkey", ["-t", "ed25519", "-f", join(work, "dropbear_ed25519")], { stdio: "ignore" });
  const tinyKeys = join(work, "tinysshd-keys");
  execFileSync("tinysshd-makekey", [tinyKeys], { stdio: "ignore" });
  const fileBytes = CONFIG.fileMiB << 20;
  const dataFile = join(work, "data.bin");
  {
    const fd = openSync(dataFile, "w", 0o644);
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < CONFIG.fileMiB; i++) writeSync(fd, randomFillSync(chunk));
    closeSync(fd);
    chmodSync(dataFile, 0o644);
  }
  const oursData = join(work, "ours-data");
  mkdirSync(oursData);
  copyFileSync(key + ".pub", join(oursData, "authorized_keys"));
  const ssh2Root = join(work, "ssh2-root");
  mkdirSync(ssh2Root);
  copyFileSync(dataFile, join(ssh2Root, "data.bin"));
  const downFile = join(work, "down.bin");
  const batchFile = join(work, "sftp-batch");
  timing.setup = Date.now() - t0;

  const logTo = (name: string) => openSync(join(logsDir, `${name}.log`), "w");
  const spawnLogged = (name: string, cmd: string, args: string[]) => {
    const fd = logTo(name);
    const c = track(spawn(cmd, args, { stdio: ["ignore", fd, fd], cwd: ROOT_DIR, env: { ...process.env, BENCH_HEAP_PROBE: probeFile } }));
    closeSync(fd);
    return c;
  };

  // Our host: main.ts, as users run it.
  const flashSize = 4 * fileBytes + (8 << 20);
  const probeFile = join(work, "heap-probe.json");
  const nodeServer = [process.execPath, "--expose-gc", "--import", "tsx", "--import", join(BENCH_DIR, "heap-probe.ts")] as const;
  const oursArgs = ["--listen", `127.0.0.1:${PORTS.ours}`, "--data", oursData, "--uart", "null", "--flash-size", String(flashSize), "--crypto", "node", "--max-connections", String(CONFIG.idleSessions + 8)];

  const sshdConfig = join(work, "sshd_config");
  writeFileSync(
    sshdConfig,
    [
      `Port ${PORTS.openssh}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${ak}`,
      "StrictModes no",
      "UsePAM no",
      "PidFile none",
      `Subsystem sftp ${SFTP_SERVER}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      `AllowUsers ${user}`,
      "UseDNS no",
      "PrintMotd no",
      "PrintLastLog no",
      "MaxStartups 100:30:200",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );

  const targets: Target[] = [
    {
      name: "ours",
      user: "console",
      port: PORTS.ours,
      pipeCommand: null,
      uploadPath: "bench.bin",
      downloadPath: "bench.bin",
      forking: false,
      note: "main.ts",
      start: () => spawnLogged("ours", nodeServer[0], [...nodeServer.slice(1), join(ROOT_DIR, "main.ts"), ...oursArgs]),
    },
    {
      name: "openssh",
      user,
      port: PORTS.openssh,
      pipeCommand: "cat > /dev/null",
      uploadPath: join(work, "peer-up", "up.bin"),
      downloadPath: dataFile,
      forking: true,
      start: () => spawnLogged("openssh", "tini", ["-s", "--", "/usr/sbin/sshd", "-D", "-e", "-f", sshdConfig]),
    },
    {
      name: "dropbear",
      user,
      port: PORTS.dropbear,
      pipeCommand: "cat > /dev/null",
      uploadPath: join(work, "peer-up", "up.bin"),
      downloadPath: dataFile,
      forking: true,
      start: () => spawnLogged("dropbear", "dropbear", ["-F", "-E", "-s", "-w", "-p", `127.0.0.1:${PORTS.dropbear}`, "-r", join(work, "dropbear_ed25519")]),
    },
    {
      name: "tinysshd",
      user,
      port: PORTS.tinysshd,
      pipeCommand: "cat > /dev/null",
      uploadPath: join(work, "peer-up", "up.bin"),
      downloadPath: dataFile,
      forking: true,
      start: () => spawnLogged("tinysshd", "tcpserver", ["-HRDl0", "127.0.0.1", String(PORTS.tinysshd), "tinysshd", "-v", "-x", `sftp=${SFTP_SERVER}`, tinyKeys]),
    },
    {
      name: "ssh2",
      user: "console",
      port: PORTS.ssh2,
      pipeCommand: "cat > /dev/null",
      uploadPath: "up.bin",
      downloadPath: "data.bin",
      forking: false,
      start: () => spawnLogged("ssh2", nodeServer[0], [...nodeServer.slice(1), join(BENCH_DIR, "ssh2-server.ts"), String(PORTS.ssh2), hostKey, key + ".pub", ssh2Root]),
    },
  ];

  const common = [...opensshOptions(key), ...SUITE];
  const sshArgs = (t: Target) => [...common, "-p", String(t.port), `${t.user}@127.0.0.1`];
  /** MB/s of one transfer: the client command's wall time minus this server's connect+auth+command
   * median (latency_ms), so that the figure is the transfer's, not the handshake's. */
  let setupMs = 0;
  const mbps = (ms: number) => fileBytes / 1e6 / ((ms - Math.min(setupMs, ms / 2)) / 1000);

  const results: Partial<Record<PeerName, Result>> = {};
  for (const t of targets) {
    const ts = Date.now();
    const r: Result = {
      latency_ms: null,
      handshakes_per_s: null,
      upload_mbps: null,
      upload_gcm_mbps: null,
      upload_scp_legacy_mbps: null,
      upload_scp_mbps: null,
      upload_sftp_mbps: null,
      download_mbps: null,
      rss_kb_per_session: null,
      cpu_s_per_gib_server: null,
      cpu_s_per_gib_client: null,
      errors: {},
    };
    if (t.note) r.server = t.note;
    const wall: Record<string, number[]> = {};
    r.transfer_wall_ms = wall;
    setupMs = 0;
    results[t.name] = r;
    log(`${t.name}: starting on 127.0.0.1:${t.port}`);
    const server = t.start();
    const root = server.pid!;
    const attempt = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        r.errors[what] = (e as Error).message.slice(0, 300);
        log(`${t.name}: ${what} failed: ${r.errors[what]}`);
      }
    };
    const echo = async () => {
      const x = await run("ssh", [...sshArgs(t), "echo x"], { timeoutMs: 20000 });
      if (x.code !== 0 || x.stdout !== "x\n") throw new Error(`ssh echo x: exit ${x.code}, stdout ${JSON.stringify(x.stdout.slice(0, 80))}, stderr ${x.stderr.slice(0, 200)}`);
      return x.ms;
    };
    try {
      let up = false;
      for (let i = 0; i < 80 && !up && server.exitCode === null; i++) {
        up = await tcpReady(t.port);
        if (!up) await sleep(100);
      }
      if (!up) throw new Error(`${t.name} did not start listening (see bench/results/logs/${t.name}.log)`);
      await echo(); // warm-up (and proof that login works)
      await echo();
      const baseProcs = (await settleTree(root, 1), treePids(root).length);

      await attempt("latency", async () => {
        const ms: number[] = [];
        for (let i = 0; i < CONFIG.latencyRuns; i++) ms.push(await echo());
        r.latency_ms = round(median(ms), 1);
        setupMs = median(ms) ?? 0;
      });

      await attempt("handshakes", async () => {
        let next = 0;
        const begin = performance.now();
        await Promise.all(
          Array.from({ length: CONFIG.parallel }, async () => {
            while (next < CONFIG.handshakes) {
              next++;
              await echo();
            }
          }),
        );
        r.handshakes_per_s = round((CONFIG.handshakes * 1000) / (performance.now() - begin), 1);
      });
      await settleTree(root, baseProcs);

      await attempt("upload_pipe", async () => {
        const speeds: number[] = [];
        let serverCpu = 0;
        let clientCpu = 0;
        for (let i = 0; i < CONFIG.uploadRuns; i++) {
          const c0 = treeCpu(root);
          const cmd = [...sshArgs(t), ...(t.pipeCommand === null ? [] : [t.pipeCommand])];
          // bash's `times` gives the client's CPU (its reaped child, ssh).
          const x = await run("bash", ["-c", 'ssh "$@" </dev/stdin; rc=$?; times >&2; exit $rc', "bench", ...cmd], { stdinFile: dataFile, timeoutMs: 120000 });
          if (x.code !== 0) throw new Error(`exit ${x.code}: ${x.stderr.slice(0, 200)}`);
          await settleTree(root, baseProcs);
          serverCpu += treeCpu(root) - c0;
          const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(x.stderr.trim());
          if (m) clientCpu += Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
          speeds.push(mbps(x.ms));
          wall.upload_pipe = [...(wall.upload_pipe ?? []), Math.round(x.ms)];
        }
        const gib = (CONFIG.uploadRuns * fileBytes) / 2 ** 30;
        r.upload_mbps = round(median(speeds));
        r.cpu_s_per_gib_server = round(serverCpu / gib, 2);
        r.cpu_s_per_gib_client = round(clientCpu / gib, 2);
      });

      // The same with AES-GCM instead of the clients' default chacha20-poly1305 (tinysshd has no AES).
      await attempt("upload_pipe_aes128gcm", async () => {
        const speeds: number[] = [];
        for (let i = 0; i < CONFIG.uploadRuns; i++) {
          const cmd = ["-o", "Ciphers=aes128-gcm@openssh.com", ...sshArgs(t), ...(t.pipeCommand === null ? [] : [t.pipeCommand])];
          const x = await run("ssh", cmd, { stdinFile: dataFile, timeoutMs: 120000 });
          if (x.code !== 0) throw new Error(`exit ${x.code}: ${x.stderr.slice(0, 200)}`);
          await settleTree(root, baseProcs);
          speeds.push(mbps(x.ms));
          wall.upload_pipe_aes128gcm = [...(wall.upload_pipe_aes128gcm ?? []), Math.round(x.ms)];
        }
        r.upload_gcm_mbps = round(median(speeds));
      });

      const transfer = async (what: string, field: keyof Result, cmd: string, args: string[], check: () => void) => {
        await attempt(what, async () => {
          const speeds: number[] = [];
          for (let i = 0; i < CONFIG.uploadRuns; i++) {
            const x = await run(cmd, args, { timeoutMs: 120000 });
            if (x.code !== 0) throw new Error(`exit ${x.code}: ${(x.stderr || x.stdout).slice(0, 200)}`);
            check();
            speeds.push(mbps(x.ms));
            wall[what] = [...(wall[what] ?? []), Math.round(x.ms)];
          }
          (r as Record<string, unknown>)[field] = round(median(speeds));
        });
        await settleTree(root, baseProcs);
      };
      const scpBase = [...common, "-P", String(t.port)];
      const remote = (p: string) => `${t.user}@127.0.0.1:${p}`;
      const uploaded = () => {
        const p = t.name === "ours" ? join(oursData, "flash", t.uploadPath) : t.name === "ssh2" ? join(ssh2Root, t.uploadPath) : t.uploadPath;
        if (existsSync(p) && statSync(p).size !== fileBytes) throw new Error(`${p} has ${statSync(p).size} bytes, not ${fileBytes}`);
      };
      await transfer("upload_scp_legacy", "upload_scp_legacy_mbps", "scp", ["-O", ...scpBase, dataFile, remote(t.uploadPath)], uploaded);
      await transfer("upload_scp", "upload_scp_mbps", "scp", [...scpBase, dataFile, remote(t.uploadPath)], uploaded);
      writeFileSync(batchFile, `put ${dataFile} ${t.uploadPath}\n`);
      await transfer("upload_sftp", "upload_sftp_mbps", "sftp", [...scpBase, "-b", batchFile, `${t.user}@127.0.0.1`], uploaded);
      if (t.name === "ours" && r.upload_scp_mbps === null && r.upload_scp_legacy_mbps === null && r.upload_sftp_mbps === null) {
        r.errors.download = "nothing uploaded to download";
      } else {
        rmSync(downFile, { force: true });
        await transfer("download", "download_mbps", "scp", [...scpBase, remote(t.downloadPath), downFile], () => {
          const n = statSync(downFile).size;
          if (n !== fileBytes) throw new Error(`downloaded ${n} bytes, not ${fileBytes}`);
          rmSync(downFile, { force: true });
        });
      }
      rmSync(join(work, "peer-up", "up.bin"), { force: true });

      await attempt("memory", async () => {
        await settleTree(root, baseProcs);
        await sleep(300);
        const probe = async () => {
          if (t.forking) return null;
          rmSync(probeFile, { force: true });
          process.kill(root, "SIGUSR2");
          for (let i = 0; i < 40; i++) {
            await sleep(50);
            try {
              const m = JSON.parse(readFileSync(probeFile, "utf8")) as { gc: boolean; heapUsed: number; external: number };
              if (m.gc) return m.heapUsed + m.external;
            } catch {}
          }
          return null;
        };
        const heapBefore = await probe();
        const before = treeRssKb(root);
        const idle: ChildProcess[] = [];
        try {
          // -N: no session; LocalCommand prints "ready" once the connection is authenticated.
          const args = [...sshArgs(t), "-N", "-o", "PermitLocalCommand=yes", "-o", "LocalCommand=echo ready"];
          for (let i = 0; i < CONFIG.idleSessions; i++) {
            const c = track(spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] }));
            idle.push(c);
            await new Promise<void>((resolve, reject) => {
              let out = "";
              const timer = setTimeout(() => reject(new Error(`idle session ${i} not ready in 15 s`)), 15000);
              c.stdout!.on("data", (d: Buffer) => {
                out += d.toString();
                if (out.includes("ready")) (clearTimeout(timer), resolve());
              });
              c.on("exit", (code) => (clearTimeout(timer), reject(new Error(`idle session ${i} exited (${code})`))));
            });
          }
          await sleep(500);
          const during = treeRssKb(root);
          const heapDuring = await probe();
          if (heapBefore !== null && heapDuring !== null) r.heap_kb_per_session = round((heapDuring - heapBefore) / 1024 / CONFIG.idleSessions, 1);
          r.rss_kb_per_session = round((during - before) / CONFIG.idleSessions, 1);
          r.rss_kb_server_idle = before;
          r.idle_sessions = CONFIG.idleSessions;
        } finally {
          for (const c of idle) if (c.exitCode === null) c.kill("SIGTERM");
          await Promise.all(idle.map((c) => (c.exitCode !== null ? null : new Promise((res) => (c.once("exit", res), setTimeout(res, 3000))))));
        }
      });
    } catch (e) {
      r.errors.server = (e as Error).message.slice(0, 300);
      log(`${t.name}: ${r.errors.server}`);
    } finally {
      const tree = treePids(root);
      server.kill("SIGTERM");
      await Promise.race([new Promise((res) => server.once("exit", res)), sleep(3000)]);
      for (const p of tree) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
    }
    timing[t.name] = Date.now() - ts;
    log(`${t.name}: ${((Date.now() - ts) / 1000).toFixed(1)} s`);
  }

  // Allocation per MiB through our packet path, in-process, per provider.
  const ta = Date.now();
  const alloc: Record<string, unknown> = {};
  for (const provider of ["node", "noble"]) {
    for (const mode of ["upload", "echo"]) {
      try {
        const x = await run(process.execPath, ["--expose-gc", "--single-threaded-gc", "--import", "tsx", join(BENCH_DIR, "alloc.ts"), "--crypto", provider, "--mode", mode, "--mib", String(CONFIG.allocMiB)], {
          timeoutMs: 180000,
        });
        if (x.code !== 0) throw new Error(x.stderr.slice(-300));
        alloc[`${provider}_${mode}`] = JSON.parse(x.stdout.trim().split("\n").pop()!);
      } catch (e) {
        alloc[`${provider}_${mode}`] = { error: (e as Error).message.slice(0, 300) };
        log(`alloc ${provider} ${mode} failed: ${(e as Error).message.slice(0, 300)}`);
      }
    }
  }
  timing.alloc = Date.now() - ta;
  const a = (k: string) => (alloc[k] as { bytes_per_mib?: number } | undefined)?.bytes_per_mib ?? null;
  const ours = results.ours!;
  ours.alloc_bytes_per_mib_upload_node = a("node_upload");
  ours.alloc_bytes_per_mib_upload_noble = a("noble_upload");
  ours.alloc_bytes_per_mib_echo_node = a("node_echo");
  ours.alloc_bytes_per_mib_echo_noble = a("noble_echo");
  ours.alloc_detail = alloc;

  // Output.
  const out: Record<string, unknown> = {};
  for (const p of PEERS) out[p] = results[p];
  (out.ours as Record<string, unknown>).bench = {
    mode: QUICK ? "quick" : "full",
    date: new Date().toISOString(),
    file_mib: CONFIG.fileMiB,
    latency_runs: CONFIG.latencyRuns,
    handshakes: CONFIG.handshakes,
    parallel_clients: CONFIG.parallel,
    upload_runs: CONFIG.uploadRuns,
    idle_sessions: CONFIG.idleSessions,
    units: "latency ms (median); *_mbps MB/s (10^6 bytes/s) = file size / (client command wall time - latency_ms of that server), raw wall times in transfer_wall_ms; rss/heap KB; cpu s per GiB moved; alloc bytes per MiB",
    seconds: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, round(v / 1000, 1)])),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(out, null, 2) + "\n";
  writeFileSync(join(RESULTS_DIR, "latest.json"), json);
  writeFileSync(join(RESULTS_DIR, `${QUICK ? "quick" : "full"}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), json);
  process.stdout.write(report(results as Record<PeerName, Result>, alloc) + "\n");
  process.stdout.write(`\nwrote bench/results/latest.json (${((Date.now() - t0) / 1000).toFixed(1)} s inside the namespace: ${Object.entries(timing).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")})\n`);

  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}

function report(r: Record<PeerName, Result>, alloc: Record<string, unknown>): string {
  const rows: [string, keyof Result, boolean][] = [
    // label, field, higher is better
    ["latency ms (connect+auth+echo, median)", "latency_ms", false],
    ["handshakes/s (4 parallel)", "handshakes_per_s", true],
    ["upload MB/s, pipe, chacha20-poly1305 (ours: console -> null UART)", "upload_mbps", true],
    ["upload MB/s, pipe, aes128-gcm@openssh.com (ours: node:crypto AES-GCM)", "upload_gcm_mbps", true],
    ["upload MB/s, scp -O", "upload_scp_legacy_mbps", true],
    ["upload MB/s, scp (SFTP)", "upload_scp_mbps", true],
    ["upload MB/s, sftp put", "upload_sftp_mbps", true],
    ["download MB/s, scp (SFTP)", "download_mbps", true],
    ["RSS KB per idle session (sum over server processes)", "rss_kb_per_session", false],
    ["live JS heap KB per idle session (node servers, after GC)", "heap_kb_per_session", false],
    ["server CPU s/GiB (pipe upload)", "cpu_s_per_gib_server", false],
    ["client CPU s/GiB (pipe upload)", "cpu_s_per_gib_client", false],
  ];
  const fmt = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 2 }) : "n/a");
  const ratio = (a: unknown, b: unknown) => (typeof a === "number" && typeof b === "number" && b !== 0 ? `${(a / b).toFixed(2)}x` : "n/a");
  const peers = PEERS.filter((p) => p !== "ours");
  const lines = [
    `## esp-ssh-console bench (${QUICK ? "quick" : "full"}: ${CONFIG.fileMiB} MiB files, ${CONFIG.uploadRuns} run(s) per transfer, latency median of ${CONFIG.latencyRuns})`,
    "",
    `| measure | ours | ${peers.join(" | ")} | ${peers.map((p) => `ours/${p}`).join(" | ")} |`,
    `|---|--:|${peers.map(() => "--:").join("|")}|${peers.map(() => "--:").join("|")}|`,
  ];
  for (const [label, f] of rows) lines.push(`| ${label} | ${fmt(r.ours[f])} | ${peers.map((p) => fmt(r[p][f])).join(" | ")} | ${peers.map((p) => ratio(r.ours[f], r[p][f])).join(" | ")} |`);
  lines.push("", "Allocation in our packet path (in-process, bytes per MiB of channel data; V8 heap + ArrayBuffer backing stores):", "");
  lines.push("| provider | upload (console -> null UART) | echo (`cat`: in + out) | in-process MB/s upload / echo |", "|---|--:|--:|--:|");
  for (const p of ["node", "noble"]) {
    const u = alloc[`${p}_upload`] as Record<string, number> | undefined;
    const e = alloc[`${p}_echo`] as Record<string, number> | undefined;
    const cell = (x?: Record<string, number>) => (x && typeof x.bytes_per_mib === "number" ? `${fmt(x.bytes_per_mib)} (heap ${fmt(x.heap_bytes_per_mib)} + ext ${fmt(x.external_bytes_per_mib)})` : "n/a");
    lines.push(`| ${p} | ${cell(u)} | ${cell(e)} | ${fmt(u?.inprocess_mbps)} / ${fmt(e?.inprocess_mbps)} |`);
  }
  const errs = PEERS.flatMap((p) => Object.entries(r[p].errors).map(([k, v]) => `- ${p} ${k}: ${v}`));
  if (errs.length) lines.push("", "Not measured:", ...errs);
  const goal = (text: string, a: unknown, b: unknown, ok: (a: number, b: number) => boolean) =>
    `- ${text}: ${typeof a === "number" && typeof b === "number" ? `${ok(a, b) ? "met" : "not met"} (${fmt(a)} vs ${fmt(b)})` : "not measured"}`;
  lines.push(
    "",
    "Goals (reported, not asserted):",
    goal("upload >= 1.0x node ssh2's", r.ours.upload_mbps, r.ssh2.upload_mbps, (a, b) => a >= b),
    goal("upload >= 1.25x OpenSSH's", r.ours.upload_mbps, r.openssh.upload_mbps, (a, b) => a >= 1.25 * b),
    goal("latency <= ssh2's", r.ours.latency_ms, r.ssh2.latency_ms, (a, b) => a <= b),
    goal("memory per idle session <= ssh2's (RSS)", r.ours.rss_kb_per_session, r.ssh2.rss_kb_per_session, (a, b) => a <= b),
    goal("memory per idle session <= ssh2's (live JS heap after GC, the finer measure for two node servers)", r.ours.heap_kb_per_session, r.ssh2.heap_kb_per_session, (a, b) => a <= b),
  );
  return lines.join("\n");
}

if (INNER) {
  const kill = () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  };
  process.on("SIGTERM", () => (kill(), process.exit(143)));
  process.on("SIGINT", () => (kill(), process.exit(130)));
  inner()
    .catch((e: Error) => {
      process.stderr.write(`bench (inner): ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      kill();
      setTimeout(() => process.exit(), 200).unref();
    });
} else {
  outer().catch((e: Error) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(1);
  });
}
