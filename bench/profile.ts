// Server CPU time per GiB of pipe upload, and where it goes: our node host against npm ssh2, each
// pushed through by OpenSSH's `ssh` from /dev/zero, per cipher. Unlike bench/run.ts this measures no
// wall clock at all, only the server process's own CPU time (utime + stime from /proc/PID/stat), so
// it means something on a loaded machine. With --prof DIR each server runs under `node --cpu-prof`
// and the profiles' self time is summed per function.
//
//   node --import tsx bench/profile.ts [--mib 512] [--rounds 2] [--servers ours,ssh2]
//        [--ciphers chacha,gcm,ctr] [--prof DIR] [--top 25] [--pin]   (servers: ours, ours-js, base, ssh2)
//   node --import tsx bench/profile.ts --summary FILE.cpuprofile [--top 25]
//
// ours: startNodeServer with a `null` UART and the node provider, as `main.ts --uart null` runs it
// (node+openssl: the packet crypto addon); ours-js: the same without the addon
// (ESP_SSH_NATIVE_CRYPTO=0: node:crypto + libsodium WebAssembly), for before/after in one run;
// `ssh host < data` goes to the console bridge. ssh2: a sink that swallows an exec channel's data
// (`cat > /dev/null`, as bench/ssh2-server.ts does), offering the same three suites. Needs OpenSSH's
// ssh and ssh-keygen. Not a test: prints figures, asserts nothing.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { onePublicKey } from "./ssh2-auth.js";

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};

/** The suites measured: OpenSSH client options for each. */
const SUITES: Record<string, string[]> = {
  chacha: ["-o", "Ciphers=chacha20-poly1305@openssh.com"],
  gcm: ["-o", "Ciphers=aes128-gcm@openssh.com"],
  ctr: ["-o", "Ciphers=aes256-ctr", "-o", "MACs=hmac-sha2-256-etm@openssh.com"],
};
/** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK; 100 on Linux everywhere). */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
/** Bound on one transfer, so a stuck server cannot hang the script. */
const TRANSFER_TIMEOUT_MS = 600_000;
/** --pin: servers on core 0, the client (head | ssh) on core 1, as bench/run.ts pins them (taskset
 * execs, so the server's pid stays the one whose /proc/PID/stat is read). */
const PIN = args.includes("--pin");
const PIN_SERVER = PIN ? ["taskset", "-c", "0"] : [];
const PIN_CLIENT = PIN ? ["taskset", "-c", "1"] : [];
/** Bound on a server's start-up. */
const START_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Profile summary: self time per function.

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export function summarize(file: string, top: number): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const f = n.callFrame;
    const where = f.url ? `${basename(f.url.replace(/\?.*$/, ""))}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = self.get("(idle)") ?? 0;
  const busy = total - idle;
  const rows = [...self.entries()].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`${basename(file)}: ${(busy / 1e6).toFixed(2)} s busy of ${(total / 1e6).toFixed(2)} s sampled`];
  for (const [k, us] of rows) lines.push(`  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${k}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Server modes (run as children of the driver).

async function serveOurs(port: number, dataDir: string, tree: string | null): Promise<void> {
  // `base`: the same server from another checkout (--base DIR), to compare two commits side by side.
  const from = tree ? pathToFileURL(join(tree, "hosts/node/server.ts")).href : "../hosts/node/server.js";
  const { startNodeServer } = (await import(from)) as typeof import("../hosts/node/server.js");
  const s = await startNodeServer({ listen: `127.0.0.1:${port}`, dataDir, uarts: ["null"], crypto: "node", log: () => {}, announce: () => {} });
  process.stdout.write(`ready ${s.port}\n`);
}

async function serveSsh2(port: number, hostKey: string, pubKey: string): Promise<void> {
  const { default: ssh2 } = await import("ssh2");
  const { Server } = ssh2;
  const authenticate = onePublicKey(pubKey);
  const server = new Server(
    {
      hostKeys: [readFileSync(hostKey)],
      algorithms: {
        kex: ["curve25519-sha256"],
        serverHostKey: ["ssh-ed25519"],
        cipher: ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr"],
        hmac: ["hmac-sha2-256-etm@openssh.com"],
      },
    },
    (client) => {
      client.on("error", () => {});
      client.on("authentication", authenticate);
      client.on("ready", () => {
        client.on("session", (acceptSession) => {
          const session = acceptSession();
          session.on("exec", (accept) => {
            const ch = accept();
            ch.on("data", () => {});
            ch.on("end", () => {
              ch.exit(0);
              ch.end();
            });
          });
        });
      });
    },
  );
  server.listen(port, "127.0.0.1", () => process.stdout.write(`ready ${port}\n`));
}

// ---------------------------------------------------------------------------------------------
// Driver.

/** [utime, stime] of a process in seconds (fields 14 and 15 of /proc/PID/stat). */
function cpuTimes(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]) / CLK_TCK, Number(f[12]) / CLK_TCK];
}

function startServer(kind: string, port: number, work: string, profDir: string | null): Promise<ChildProcess> {
  const nodeArgs = ["--import", "tsx"];
  // One file per thread (tsx runs its loader in a worker): the summary takes the busiest.
  if (profDir) nodeArgs.unshift("--cpu-prof", "--cpu-prof-dir", join(profDir, kind));
  const modeArgs = kind.startsWith("ours") || kind === "base"
    ? ["--serve-ours", String(port), join(work, kind), ...(kind === "base" ? [opt("--base", "")] : [])]
    : ["--serve-ssh2", String(port), join(work, "host"), join(work, "client.pub")];
  const env = kind === "ours-js" ? { ...process.env, ESP_SSH_NATIVE_CRYPTO: "0" } : process.env;
  const argv = [...PIN_SERVER, process.execPath, ...nodeArgs, SELF, ...modeArgs];
  const c = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"], env });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind}: not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    let out = "";
    c.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) {
        clearTimeout(t);
        resolve(c);
      }
    });
    c.on("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`${kind} exited (${code}) before it was ready`));
    });
  });
}

function transfer(kind: string, port: number, work: string, suite: string, mib: number, dataFile: string | null): Promise<void> {
  const ssh = ["ssh", "-T", "-F", "/dev/null", "-i", join(work, "client"), "-p", String(port), "-o", "StrictHostKeyChecking=no",
    "-o", `UserKnownHostsFile=/dev/null`, "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "KexAlgorithms=curve25519-sha256",
    "-o", "HostKeyAlgorithms=ssh-ed25519", ...SUITES[suite], "console@127.0.0.1", ...(kind === "ssh2" ? ["'cat > /dev/null'"] : [])];
  // --file: from a file in the work dir (`ssh host < file`, as bench/run.ts), so no `head` shares the client's core.
  const cmd = dataFile ? `${ssh.join(" ")} < ${dataFile}` : `head -c ${mib}M /dev/zero | ${ssh.join(" ")}`;
  return new Promise((resolve, reject) => {
    const argv = [...PIN_CLIENT, "sh", "-c", cmd];
    const c = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => c.kill("SIGKILL"), TRANSFER_TIMEOUT_MS);
    c.on("exit", (code) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`${kind}/${suite}: ssh exited ${code}: ${err.trim()}`));
    });
  });
}

async function drive(): Promise<void> {
  const mib = Number(opt("--mib", "512"));
  const rounds = Number(opt("--rounds", "2"));
  const servers = opt("--servers", "ours,ssh2").split(",");
  const suites = opt("--ciphers", "chacha,gcm,ctr").split(",");
  const profDir = args.includes("--prof") ? opt("--prof", "") : null;
  const top = Number(opt("--top", "25"));
  for (const s of suites) if (!SUITES[s]) throw new Error(`unknown cipher ${s} (${Object.keys(SUITES).join(", ")})`);
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "essh-profile-"));
  const children: ChildProcess[] = [];
  try {
    for (const [name, type] of [["client", "ed25519"], ["host", "ed25519"]]) {
      const r = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", join(work, name)]);
      if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
    }
    for (const d of ["ours", "ours-js", "base"]) {
      mkdirSync(join(work, d));
      copyFileSync(join(work, "client.pub"), join(work, d, "authorized_keys"));
    }
    let dataFile: string | null = null;
    if (args.includes("--file")) {
      dataFile = join(work, "data.bin");
      writeFileSync(dataFile, new Uint8Array(mib * 1048576));
    }
    if (profDir) mkdirSync(profDir, { recursive: true });
    const first = 22400 + (process.pid % 500) * 4;
    const ports: Record<string, number> = { ours: first, ssh2: first + 1, base: first + 2, "ours-js": first + 3 };
    for (const s of servers) if (!(s in ports)) throw new Error(`unknown server ${s} (${Object.keys(ports).join(", ")})`);
    const pids: Record<string, ChildProcess> = {};
    for (const s of servers) {
      pids[s] = await startServer(s, ports[s], work, profDir);
      children.push(pids[s]);
    }
    // cpu[server][suite] = CPU seconds per round
    const cpu: Record<string, Record<string, number[]>> = {};
    // rate[server][suite] = MB/s per round (wall clock, connection set-up included: a lower bound)
    const rate: Record<string, Record<string, number[]>> = {};
    for (let r = 0; r < rounds; r++) {
      for (const suite of suites) {
        for (const s of servers) {
          const [u0, s0] = cpuTimes(pids[s].pid!);
          const t0 = performance.now();
          await transfer(s, ports[s], work, suite, mib, dataFile);
          const wall = (performance.now() - t0) / 1000;
          const [u1, s1] = cpuTimes(pids[s].pid!);
          const perGiB = (x: number) => (x * 1024) / mib;
          ((cpu[s] ??= {})[suite] ??= []).push(perGiB(u1 - u0 + s1 - s0));
          ((rate[s] ??= {})[suite] ??= []).push((mib * 1048576) / 1e6 / wall);
          // Wall time includes the connection set-up (tens of ms), so busy share is a lower bound.
          process.stderr.write(`round ${r + 1} ${suite} ${s}: ${perGiB(u1 - u0 + s1 - s0).toFixed(2)} CPU s/GiB (user ${perGiB(u1 - u0).toFixed(2)}, system ${perGiB(s1 - s0).toFixed(2)}); wall ${wall.toFixed(2)} s, ${((mib * 1048576) / 1e6 / wall).toFixed(0)} MB/s, server busy ${((100 * (u1 - u0 + s1 - s0)) / wall).toFixed(0)}% of a core\n`);
        }
      }
    }
    const median = (v: number[]) => {
      const s = [...v].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    console.log(`server CPU s/GiB, pipe upload of ${mib} MiB from /dev/zero by OpenSSH ssh, median of ${rounds} (all rounds)`);
    // A ratio to ssh2 for each of ours and ours-js that ran, the median of the per-round ratios.
    const mine = servers.includes("ssh2") ? servers.filter((s) => s.startsWith("ours")) : [];
    console.log(`| cipher | ${servers.join(" | ")} |${mine.map((s) => ` ${s}/ssh2 |`).join("")}`);
    for (const suite of suites) {
      const cells = servers.map((s) => `${median(cpu[s][suite]).toFixed(2)} (${cpu[s][suite].map((x) => x.toFixed(2)).join(", ")})`);
      const ratios = mine.map((s) => ` ${median(cpu[s][suite].map((x, i) => x / cpu.ssh2[suite][i])).toFixed(2)}x |`).join("");
      console.log(`| ${suite} | ${cells.join(" | ")} |${ratios}`);
    }
    // Throughput: only meaningful with a quiet machine (or --pin); the ratio within a round moves least.
    for (const suite of suites) {
      const line = servers.map((s) => `${s} ${median(rate[s][suite]).toFixed(0)} MB/s`).join(", ");
      const ratios = servers.filter((s) => s !== "ours" && servers.includes("ours")).map((s) => {
        const per = rate.ours[suite].map((x, i) => x / rate[s][suite][i]);
        return `ours/${s} ${median(per).toFixed(2)}x (${Math.min(...per).toFixed(2)}-${Math.max(...per).toFixed(2)})`;
      });
      console.log(`${suite} wall: ${line}${ratios.length ? "; " + ratios.join(", ") : ""}`);
    }
    if (profDir) {
      const exits = children.map((c) => new Promise((r) => c.on("exit", r)));
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(exits);
      children.length = 0;
      for (const s of servers) {
        const dir = join(profDir, s);
        const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(dir, f));
        const busiest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
        console.log(`${s}: ${summarize(busiest, top)}`);
      }
    }
  } finally {
    for (const c of children) c.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  }
}

if (args[0] === "--summary") {
  console.log(summarize(args[1], Number(opt("--top", "25"))));
} else if (args[0] === "--serve-ours" || args[0] === "--serve-ssh2") {
  // A profiled child must exit normally for --cpu-prof to write its file.
  process.on("SIGTERM", () => process.exit(0));
  if (args[0] === "--serve-ours") await serveOurs(Number(args[1]), args[2], args[3] ?? null);
  else await serveSsh2(Number(args[1]), args[2], args[3]);
} else {
  await drive();
}
