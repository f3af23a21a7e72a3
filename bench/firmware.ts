// Firmware figures (issue [4/5]): what the QEMU firmware moves, beside what its emulated hardware
// allows, in one run:
// - flash: the raw write speed of the emulated NOR flash (a C loop in the flash image: erase, then
//   program 4 KiB pieces; bench/xs/flash-bench-entry.ts) beside the flash store's own upload path
//   (Files in 4 KiB writes, no SSH) and scp into the SSH image's store (SFTP and legacy `scp -O`);
//   the goal is scp >= 80% of the raw speed;
// - device output: bytes per second from the UART (QEMU's ns16550 on a TCP chardev this bench
//   writes into) to 1 and to 3 attached SSH sessions;
// - crypto: guest instructions per MiB of chacha20-poly1305 and AES-256-GCM through the native hooks
//   (exact, -icount shift=0; the image test/qemu-crypto-algs.test.ts boots).
// Wall-clock figures are the emulator's on this machine (scp's are slopes between a 64 KiB and a
// 1 MiB copy, so connection setup drops out); each is the median of ROUNDS.
//
//   npm run bench:firmware            -> a table, and bench/results/firmware.json
//   npm run bench:firmware -- --ssh-only   the SSH image's rows alone
//   npm run bench:firmware -- --flash-only --flash-split   the flash image alone, its store split printed
//   npm run bench:firmware -- --ssh-profile   guest instructions per MiB of scp, scp -O and sftp put
//                                             into the SSH image's store, end to end and by layer
//                                             (bench/results/firmware-ssh-profile.json)
//   npm run bench:firmware -- --ssh-pc        the same uploads on the plain image under a QEMU plugin
//                                             that counts guest instructions by address: cost per MiB
//                                             by C function (XS's garbage collector, interpreter,
//                                             memcpy, crypto, flash, lwIP) (bench/results/firmware-ssh-pc.json)

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { buildFirmware, buildSshFirmware, firmwareDir, outDir, repoRoot, sshFirmware } from "../hosts/qemu/build.js";
import { bundleForXs } from "../hosts/qemu/bundle.js";
import { bootSshServer, runFirmware } from "../hosts/qemu/run.js";
import { runAlgsImage } from "../test/helpers/qemu-crypto.js";
import { debianSource } from "../hosts/qemu/sources.js";
import { ensureTool, freePort, opensshOptions, run, tempDir } from "../test/helpers/tools.js";

const ROUNDS = 3;
const SMALL = 64 * 1024;
const BIG = 1024 * 1024;
/** Device output per measurement. */
const DEVICE_BYTES = 64 * 1024;
const STEP_MS = 120_000;
const TARGET = "console@127.0.0.1";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbs = (bytes: number, ms: number) => bytes / 1e3 / ms;

async function flashFigures(): Promise<{ rawMBs: number; storeMBs: number; rawInstrPerMiB: number; storeInstrPerMiB: number }> {
  const js = join(outDir, "test", "flash-bench.js");
  await bundleForXs(join(repoRoot, "bench/xs/flash-bench-entry.ts"), js);
  const built = await buildFirmware({
    bundle: js,
    out: "bench-flash.elf",
    components: [{ name: "flash", sources: ["pflash.c", "xs_flash.c", "flash_test_extras.c"].map((f) => join(firmwareDir, f)), cflags: ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare"] }],
    log: () => {},
  });
  const boot = async (icount: boolean) => {
    const data = tempDir("essh-bench-flash-");
    try {
      const r = await runFirmware({ elf: built.elf, data: data.path, stdio: "pipe", icount, timeoutMs: STEP_MS });
      const raw = r.output.match(/^bench raw (\d+) (\d+) (\d+)$/m);
      const line = (name: string) => r.output.match(new RegExp(`^bench ${name} (\\d+) ([\\d.]+) ([\\d.]+)$`, "m"));
      const store = line("store"), nul = line("store-null");
      if (process.argv.includes("--flash-split")) console.log(`${icount ? "icount" : "wall"}:\n${r.output.split("\n").filter((l) => l.startsWith("bench ")).join("\n")}`);
      if (r.code !== 0 || !raw || !store || !nul) throw new Error(`the flash bench image failed (exit ${r.code}):\n${r.output}\n${r.stderr}`);
      return { bytes: Number(raw[1]), rawNs: Number(raw[2]), rawInstr: Number(raw[3]), storeMs: Number(store[2]) };
    } finally {
      data.cleanup();
    }
  };
  const raws: number[] = [], stores: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const b = await boot(false);
    raws.push(mbs(b.bytes, b.rawNs / 1e6));
    stores.push(mbs(b.bytes, b.storeMs));
  }
  // Guest instructions (exact under -icount shift=0: the store's time in virtual ns is its count).
  const c = await boot(true);
  const perMiB = (n: number) => n / (c.bytes / (1 << 20));
  return { rawMBs: median(raws), storeMBs: median(stores), rawInstrPerMiB: perMiB(c.rawInstr), storeInstrPerMiB: perMiB(c.storeMs * 1e6) };
}

/** SSH sessions attached to the UART, and the bytes each received after a marker. */
class Sessions {
  readonly outs: Buffer[][] = [];
  readonly children: ReturnType<typeof spawn>[] = [];
  errs = "";
  /** Attaches one more session (no pty: the output comes through untouched; stdin stays open). */
  add(port: number, key: string): void {
    const chunks: Buffer[] = [];
    this.outs.push(chunks);
    const c = spawn("ssh", ["-T", "-p", String(port), ...opensshOptions(key, 30), TARGET], { stdio: ["pipe", "pipe", "pipe"] });
    c.stdout!.on("data", (d: Buffer) => chunks.push(d));
    c.stderr!.on("data", (d: Buffer) => (this.errs += d.toString()));
    this.children.push(c);
  }
  after(i: number, marker: Buffer): number {
    const all = Buffer.concat(this.outs[i]);
    const at = all.lastIndexOf(marker);
    return at < 0 ? -1 : all.length - at - marker.length;
  }
  close(): void {
    for (const c of this.children) c.kill("SIGTERM");
  }
}

/** Waits for ok() (checked on each turn of the event loop, or every `everyMs`), bounded by `ms`. */
async function until(what: string, ok: () => boolean, ms = STEP_MS, everyMs = 0): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => (everyMs ? setTimeout(r, everyMs) : setImmediate(r)));
  }
}

async function deviceOutput(uart: Socket, port: number, key: string, n: number): Promise<number> {
  const s = new Sessions();
  try {
    // One at a time: each is attached once it sees a marker printed after it connected.
    for (let i = 0; i < n; i++) {
      s.add(port, key);
      const hello = Buffer.from(`\r\n=== session ${i + 1} of ${n} ${randomBytes(4).toString("hex")} ===\r\n`);
      await until(`session ${i + 1} of ${n} attached (${s.errs.trim()})`, () => {
        uart.write(hello);
        return s.after(i, hello) >= 0;
      }, STEP_MS, 100);
    }
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const marker = Buffer.from(`\r\n=== bench ${n} ${round} ${randomBytes(4).toString("hex")} ===\r\n`);
      uart.write(marker);
      await until(`all ${n} session(s) attached and saw the marker`, () => s.outs.every((_, i) => s.after(i, marker) >= 0));
      // Printable bytes, no escape character: what a console prints.
      const payload = Buffer.alloc(DEVICE_BYTES);
      for (let i = 0; i < payload.length; i++) payload[i] = 0x20 + ((i * 7) % 95);
      const t0 = performance.now();
      uart.write(payload);
      await until(`${DEVICE_BYTES} bytes of device output reached ${n} session(s)`, () => s.outs.every((_, i) => s.after(i, marker) >= DEVICE_BYTES));
      rates.push(mbs(DEVICE_BYTES, performance.now() - t0) * 1e3); // KB/s
    }
    return median(rates);
  } finally {
    s.close();
  }
}

async function sshFigures(): Promise<{ sftpMBs: number; scpLegacyMBs: number; device1KBs: number; device3KBs: number }> {
  ensureTool("ssh", "openssh-client");
  ensureTool("scp", "openssh-client");
  await buildSshFirmware({ log: () => {} });
  const tmp = tempDir("essh-bench-fw-");
  const key = join(tmp.path, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 30_000 });
  execFileSync("cp", [`${key}.pub`, join(tmp.path, "authorized_keys")]);
  const port = await freePort(), uartPort = await freePort();
  const qemu = await bootSshServer({ listen: `127.0.0.1:${port}`, data: tmp.path, uart: `tcp:127.0.0.1:${uartPort}`, timeoutMs: 30 * 60_000 });
  const uart = connect(uartPort, "127.0.0.1");
  uart.on("data", () => {}); // what sessions type to the device: not read here
  try {
    await new Promise<void>((ok, fail) => { uart.once("connect", ok); uart.once("error", fail); });
    const files = { small: join(tmp.path, "small.bin"), big: join(tmp.path, "big.bin") };
    writeFileSync(files.small, randomBytes(SMALL));
    writeFileSync(files.big, randomBytes(BIG));
    const copy = async (legacy: boolean, file: string): Promise<number> => {
      const t0 = performance.now();
      const r = await run("scp", [...(legacy ? ["-O"] : []), "-P", String(port), ...opensshOptions(key, 30), file, `${TARGET}:bench.bin`], { timeoutMs: STEP_MS });
      if (r.code !== 0) throw new Error(`scp${legacy ? " -O" : ""}: ${r.stderr}`);
      return performance.now() - t0;
    };
    const slope = async (legacy: boolean) => {
      const rates: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const small = await copy(legacy, files.small), big = await copy(legacy, files.big);
        rates.push(mbs(BIG - SMALL, big - small));
      }
      return median(rates);
    };
    const sftpMBs = await slope(false), scpLegacyMBs = await slope(true);
    const device1KBs = await deviceOutput(uart, port, key, 1);
    const device3KBs = await deviceOutput(uart, port, key, 3);
    return { sftpMBs, scpLegacyMBs, device1KBs, device3KBs };
  } catch (e) {
    console.error(`the SSH image's log ends:\n${qemu.output().split("\n").slice(-25).join("\n")}`);
    throw e;
  } finally {
    uart.destroy();
    qemu.child.kill("SIGTERM");
    await qemu.done;
    tmp.cleanup();
  }
}

async function cryptoFigures(): Promise<{ chachaPerMiB: number; gcmPerMiB: number }> {
  const r = await runAlgsImage({}, "bench-fw-crypto.elf", 600_000);
  const get = (name: string) => {
    const v = r.figures[name]?.instructions;
    if (!(v > 0)) throw new Error(`no figure ${name} (exit ${r.code}):\n${r.output}`);
    return v;
  };
  return { chachaPerMiB: get("chacha20-poly1305-1MiB"), gcmPerMiB: get("aes256-gcm-1MiB") };
}

// ---- --ssh-profile: what an upload into the SSH image's store costs, in guest instructions ----

/** Ways into the store: scp (SFTP), legacy scp, interactive sftp's put. */
const UPLOADS = ["scp", "scp -O", "sftp put"] as const;
type UploadKind = (typeof UPLOADS)[number];
/** The profiling image's layers (hosts/qemu/profile.ts), innermost charged. */
const LAYERS = ["outside", "ssh", "timers", "program", "store", "crypto", "net"] as const;
interface ProfileLine {
  event: "accept" | "end";
  total: number;
  calls: Record<string, number>;
  nested: Record<string, number>;
  gc: [number, number];
  [layer: string]: unknown;
}
/** One connection's figures: the plain image's instructions since accept; the profiling image's
 * per-layer instructions (overhead taken out) and GC runs. */
interface Cost { total: number; layers: Record<string, number>; gcRuns: number }

/** The connections' costs in a log: the plain image's "... [N M instructions since accept" on the
 * line that ends a connection, or, with profile lines, the last "end" line after each "accept". */
function connectionCosts(log: string, profiled: boolean): Cost[] {
  const lines = log.split("\n");
  if (!profiled) {
    const out: Cost[] = [];
    for (const l of lines) {
      const m = l.match(/: (?:client disconnected|connection closed)[^[]*\[([\d.]+) M instructions since accept/);
      if (m) out.push({ total: Number(m[1]) * 1e6, layers: {}, gcRuns: 0 });
    }
    return out;
  }
  const overhead = lines.find((l) => l.startsWith("profile overhead "));
  if (!overhead) throw new Error("the profiling image printed no overhead line");
  const [inside, caller] = (JSON.parse(overhead.slice("profile overhead ".length)) as { fixed: [number, number] }).fixed;
  const parsed = lines.filter((l) => l.startsWith("profile {")).map((l) => JSON.parse(l.slice("profile ".length)) as ProfileLine);
  const out: Cost[] = [];
  for (let i = 0; i < parsed.length; i++) {
    if (parsed[i].event !== "accept") continue;
    let j = i + 1, end = -1;
    for (; j < parsed.length && parsed[j].event !== "accept"; j++) end = j;
    if (end < 0) continue;
    const a = parsed[i], b = parsed[end];
    const layers: Record<string, number> = {};
    for (const name of LAYERS) {
      const d = (f: (p: ProfileLine) => number) => f(b) - f(a);
      // The wrappers' own work: `inside` per call of the layer, `caller` per wrapped call it made.
      layers[name] = d((p) => p[name] as number) - inside * d((p) => p.calls[name]) - caller * d((p) => p.nested[name]);
    }
    out.push({ total: b.total - a.total, layers, gcRuns: b.gc[0] - a.gc[0] });
  }
  return out;
}

/** One upload of `file` into the store as bench.bin by `kind` (sftp's batch file goes in `dir`). */
async function uploadFile(port: number, kind: UploadKind, file: string, key: string, dir: string): Promise<void> {
  const opts = ["-P", String(port), ...opensshOptions(key, 30)];
  let r;
  if (kind === "sftp put") {
    const batch = join(dir, "batch");
    writeFileSync(batch, `put ${file} bench.bin\n`);
    r = await run("sftp", ["-b", batch, ...opts, TARGET], { timeoutMs: STEP_MS });
  } else r = await run("scp", [...(kind === "scp -O" ? ["-O"] : []), ...opts, file, `${TARGET}:bench.bin`], { timeoutMs: STEP_MS });
  if (r.code !== 0) throw new Error(`${kind}: ${r.stderr}`);
}

async function sshProfile(): Promise<void> {
  ensureTool("ssh", "openssh-client");
  ensureTool("scp", "openssh-client");
  ensureTool("sftp", "openssh-client");
  await buildSshFirmware({ log: () => {} });
  const profiling = await buildSshFirmware({ log: () => {}, profile: true });
  const tmp = tempDir("essh-bench-fwprof-");
  const key = join(tmp.path, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 30_000 });
  execFileSync("cp", [`${key}.pub`, join(tmp.path, "authorized_keys")]);
  const files = { small: join(tmp.path, "small.bin"), big: join(tmp.path, "big.bin") };
  writeFileSync(files.small, randomBytes(SMALL));
  writeFileSync(files.big, randomBytes(BIG));
  const perMiB = (BIG - SMALL) / (1 << 20);
  const results: Record<string, { plain: number; profiled: number; layers: Record<string, number>; gcRunsBig: number }> = {};
  const upload = (port: number, kind: UploadKind, file: string) => uploadFile(port, kind, file, key, tmp.path);
  // The plain image first (it makes the host keys in this data directory), then the profiling one.
  const costs: Record<string, Record<UploadKind, { small: Cost[]; big: Cost[] }>> = {};
  for (const [name, elf] of [["plain", sshFirmware], ["profiled", profiling.elf]] as const) {
    const port = await freePort();
    const qemu = await bootSshServer({ elf, listen: `127.0.0.1:${port}`, data: tmp.path, icount: true, timeoutMs: 30 * 60_000 });
    const ended = () => connectionCosts(qemu.output(), name === "profiled").length;
    const per = {} as Record<UploadKind, { small: Cost[]; big: Cost[] }>;
    try {
      let n = ended();
      for (const kind of UPLOADS) {
        per[kind] = { small: [], big: [] };
        for (let i = 0; i < ROUNDS; i++) {
          for (const size of ["small", "big"] as const) {
            await upload(port, kind, files[size]);
            await until(`the ${name} image logged the end of the ${kind} connection`, () => ended() > n, STEP_MS, 50);
            const all = connectionCosts(qemu.output(), name === "profiled");
            n = all.length;
            per[kind][size].push(all[n - 1]);
          }
        }
      }
    } catch (e) {
      console.error(`the ${name} image's log ends:\n${qemu.output().split("\n").slice(-25).join("\n")}`);
      throw e;
    } finally {
      qemu.child.kill("SIGTERM");
      await qemu.done;
    }
    costs[name] = per;
  }
  tmp.cleanup();
  const slope = (small: number[], big: number[]) => median(big.map((b, i) => (b - small[i]) / perMiB));
  for (const kind of UPLOADS) {
    const p = costs.plain[kind], q = costs.profiled[kind];
    const layers: Record<string, number> = {};
    for (const l of LAYERS) layers[l] = slope(q.small.map((c) => c.layers[l]), q.big.map((c) => c.layers[l]));
    results[kind] = {
      plain: slope(p.small.map((c) => c.total), p.big.map((c) => c.total)),
      profiled: slope(q.small.map((c) => c.total), q.big.map((c) => c.total)),
      layers,
      gcRunsBig: median(q.big.map((c) => c.gcRuns)),
    };
  }
  const M = (n: number) => (n / 1e6).toFixed(1);
  console.log(`SSH image, guest instructions per MiB into the flash store (slope ${SMALL / 1024} KiB -> ${BIG / 1024} KiB, median of ${ROUNDS}, -icount shift=0)`);
  console.log(`| layer | ${UPLOADS.join(" | ")} |\n|---|${UPLOADS.map(() => "--:").join("|")}|`);
  console.log(`| total, plain image (M) | ${UPLOADS.map((k) => M(results[k].plain)).join(" | ")} |`);
  console.log(`| total, profiling image (M) | ${UPLOADS.map((k) => M(results[k].profiled)).join(" | ")} |`);
  for (const l of LAYERS) console.log(`| ${l} (M, overhead out) | ${UPLOADS.map((k) => M(results[k].layers[l])).join(" | ")} |`);
  const sum = (k: UploadKind) => LAYERS.reduce((a, l) => a + results[k].layers[l], 0);
  console.log(`| sum of the layers (M) | ${UPLOADS.map((k) => M(sum(k))).join(" | ")} |`);
  console.log(`| GC runs in the 1 MiB upload | ${UPLOADS.map((k) => results[k].gcRunsBig).join(" | ")} |`);
  const out = join(repoRoot, "bench/results/firmware-ssh-profile.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, small: SMALL, big: BIG, results, costs }, null, 2)}\n`);
  console.log(`wrote ${out.slice(repoRoot.length + 1)}`);
}

// ---- --ssh-pc: the plain image's cost per MiB by C function (a QEMU TCG plugin) ----

/** Functions of the image, grouped for the table (first match wins). */
const PC_GROUPS: readonly (readonly [string, RegExp])[] = [
  ["XS garbage collector (mark, sweep, compact)", /^fx(Collect|Mark|Sweep|Compact|Free|Invalidate)/],
  ["XS interpreter loop (fxRunID: the bytecode itself)", /^fxRunID$/],
  ["XS built-ins and runtime (property access, typed arrays, ...)", /^(fx|_xs|xs)/],
  ["memcpy / memmove / memset", /^(memcpy|memmove|memset)$/],
  ["chacha20-poly1305 (libsodium)", /^(chacha20|poly1305|load32_le|store32_le|load64_le|store64_le|sodium|crypto_|_crypto|ROTL)/i],
  ["NOR flash (pflash.c, xs_flash.c)", /pflash|flash/],
  ["lwIP, virtio-net, event loop", /^(lwip|tcp|pbuf|ip4|ip_|inet|etharp|ethernet|netif|sys_|mem_|memp|virtio|net_|udp|raw_|dhcp|icmp|platform_|run_pollers|board_)/],
  ["soft-float and libgcc", /^__/],
];

/** Builds the plugin against QEMU's own qemu-plugin.h (from Debian's qemu source package). */
async function buildPcPlugin(): Promise<string> {
  const so = join(outDir, "plugin", "libtbcount.so");
  const source = join(repoRoot, "bench/qemu-plugin/tbcount.c");
  const qemuSource = await debianSource("qemu");
  mkdirSync(dirname(so), { recursive: true });
  execFileSync("gcc", ["-O2", "-shared", "-fPIC", "-Wall", `-I${join(qemuSource, "include/qemu")}`, "-o", so, source], { timeout: 120_000 });
  return so;
}

/** Sorted function starts of an ELF (text symbols). */
function functionTable(elf: string): { starts: number[]; names: string[] } {
  const out = execFileSync("riscv64-unknown-elf-nm", ["-n", "--defined-only", elf], { encoding: "utf8", maxBuffer: 64 << 20 });
  const rows: [number, string][] = [];
  for (const line of out.split("\n")) {
    const p = line.trim().split(/\s+/);
    if (p.length === 3 && /^[tTwW]$/.test(p[1])) rows.push([parseInt(p[0], 16), p[2]]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  return { starts: rows.map((r) => r[0]), names: rows.map((r) => r[1]) };
}

/** Instructions by function from a plugin dump. */
function byFunction(dump: string, table: { starts: number[]; names: string[] }): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(dump, "utf8").split("\n")) {
    if (!line) continue;
    const [a, n] = line.split(" ");
    const addr = parseInt(a, 16);
    let lo = 0, hi = table.starts.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (table.starts[mid] <= addr) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const name = at < 0 ? "?" : table.names[at];
    out.set(name, (out.get(name) ?? 0) + Number(n));
  }
  return out;
}

async function sshPc(): Promise<void> {
  ensureTool("scp", "openssh-client");
  ensureTool("sftp", "openssh-client");
  const plugin = await buildPcPlugin();
  await buildSshFirmware({ log: () => {} });
  const table = functionTable(sshFirmware);
  const tmp = tempDir("essh-bench-fwpc-");
  const key = join(tmp.path, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 30_000 });
  const pristine = join(tmp.path, "pristine");
  mkdirSync(pristine);
  execFileSync("cp", [`${key}.pub`, join(pristine, "authorized_keys")]);
  const files = { small: join(tmp.path, "small.bin"), big: join(tmp.path, "big.bin") };
  writeFileSync(files.small, randomBytes(SMALL));
  writeFileSync(files.big, randomBytes(BIG));
  // A first boot makes the host keys (RSA takes long): every measured run starts from a copy of
  // this flash, so the two sizes differ only by their upload.
  {
    const q = await bootSshServer({ listen: `127.0.0.1:${await freePort()}`, data: pristine, icount: true, timeoutMs: 10 * 60_000 });
    q.child.kill("SIGTERM");
    await q.done;
  }
  const perMiB = (BIG - SMALL) / (1 << 20);
  const results: Record<string, { total: number; groups: Record<string, number>; top: [string, number][]; sinceAccept: number }> = {};
  let runNo = 0;
  const measure = async (kind: UploadKind, file: string): Promise<{ fns: Map<string, number>; sinceAccept: number }> => {
    const data = join(tmp.path, `run${runNo++}`);
    cpSync(pristine, data, { recursive: true });
    const dump = join(data, "pc.txt");
    const port = await freePort();
    const q = await bootSshServer({ listen: `127.0.0.1:${port}`, data, icount: true, timeoutMs: 10 * 60_000, qemuExtra: ["-plugin", `${plugin},out=${dump}`] });
    let sinceAccept = NaN;
    try {
      await uploadFile(port, kind, file, key, tmp.path);
      await until(`the end of the ${kind} connection in the log`, () => connectionCosts(q.output(), false).length > 0, STEP_MS, 50);
      sinceAccept = connectionCosts(q.output(), false)[0].total;
    } finally {
      q.child.kill("SIGTERM");
      await q.done;
    }
    if (!existsSync(dump)) throw new Error(`the plugin wrote no ${dump}`);
    return { fns: byFunction(dump, table), sinceAccept };
  };
  for (const kind of UPLOADS) {
    const rounds: { total: number; groups: Record<string, number>; fns: Map<string, number>; sinceAccept: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const small = await measure(kind, files.small), big = await measure(kind, files.big);
      const fns = new Map<string, number>();
      for (const [name, n] of big.fns) fns.set(name, (n - (small.fns.get(name) ?? 0)) / perMiB);
      for (const [name, n] of small.fns) if (!big.fns.has(name)) fns.set(name, -n / perMiB);
      const groups: Record<string, number> = {};
      let total = 0;
      for (const [name, n] of fns) {
        total += n;
        const g = PC_GROUPS.find(([, re]) => re.test(name))?.[0] ?? "other";
        groups[g] = (groups[g] ?? 0) + n;
      }
      rounds.push({ total, groups, fns, sinceAccept: (big.sinceAccept - small.sinceAccept) / perMiB });
    }
    const mid = [...rounds].sort((a, b) => a.total - b.total)[Math.floor(rounds.length / 2)];
    const top = [...mid.fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
    results[kind] = { total: mid.total, groups: mid.groups, top, sinceAccept: mid.sinceAccept };
  }
  tmp.cleanup();
  const M = (n: number) => (n / 1e6).toFixed(1);
  const groupNames = [...PC_GROUPS.map(([g]) => g), "other"];
  console.log(`Plain SSH image, guest instructions per MiB into the flash store by C function (QEMU plugin; slope ${SMALL / 1024} KiB -> ${BIG / 1024} KiB; the round of median total of ${ROUNDS})`);
  console.log(`| | ${UPLOADS.join(" | ")} |\n|---|${UPLOADS.map(() => "--:").join("|")}|`);
  console.log(`| total, plugin (M) | ${UPLOADS.map((k) => M(results[k].total)).join(" | ")} |`);
  console.log(`| total, the image's own count since accept (M) | ${UPLOADS.map((k) => M(results[k].sinceAccept)).join(" | ")} |`);
  for (const g of groupNames) console.log(`| ${g} | ${UPLOADS.map((k) => `${M(results[k].groups[g] ?? 0)} (${(((results[k].groups[g] ?? 0) / results[k].total) * 100).toFixed(0)}%)`).join(" | ")} |`);
  for (const k of UPLOADS) console.log(`top functions, ${k}: ${results[k].top.slice(0, 12).map(([n, v]) => `${n} ${M(v)}`).join(", ")}`);
  const out = join(repoRoot, "bench/results/firmware-ssh-pc.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, small: SMALL, big: BIG, results }, null, 2)}\n`);
  console.log(`wrote ${out.slice(repoRoot.length + 1)}`);
}

if (process.argv.includes("--ssh-pc")) {
  await sshPc();
  process.exit(0);
}

if (process.argv.includes("--ssh-profile")) {
  await sshProfile();
  process.exit(0);
}

const only = process.argv.includes("--ssh-only");
const flash = only ? { rawMBs: NaN, storeMBs: NaN, rawInstrPerMiB: NaN, storeInstrPerMiB: NaN } : await flashFigures();
if (process.argv.includes("--flash-only")) {
  console.log(JSON.stringify(flash));
  process.exit(0);
}
const ssh = await sshFigures();
const crypto = only ? { chachaPerMiB: NaN, gcmPerMiB: NaN } : await cryptoFigures();
const f1 = (n: number) => n.toFixed(2);
const rows: [string, string][] = [
  ["raw NOR flash write (C loop: erase + program 4 KiB), MB/s", f1(flash.rawMBs)],
  ["  guest instructions per MiB: raw / through the store", `${(flash.rawInstrPerMiB / 1e6).toFixed(1)} M / ${(flash.storeInstrPerMiB / 1e6).toFixed(1)} M`],
  ["flash store upload (Files, 4 KiB writes, no SSH), MB/s", `${f1(flash.storeMBs)} (${((flash.storeMBs / flash.rawMBs) * 100).toFixed(0)}% of raw)`],
  ["scp (SFTP) into the store, MB/s", `${f1(ssh.sftpMBs)} (${((ssh.sftpMBs / flash.rawMBs) * 100).toFixed(0)}% of raw; goal 80%)`],
  ["scp -O into the store, MB/s", `${f1(ssh.scpLegacyMBs)} (${((ssh.scpLegacyMBs / flash.rawMBs) * 100).toFixed(0)}% of raw)`],
  ["device output to 1 session, KB/s", ssh.device1KBs.toFixed(0)],
  ["device output to 3 sessions, KB/s each", `${ssh.device3KBs.toFixed(0)} (${((ssh.device3KBs / ssh.device1KBs) * 100).toFixed(0)}% of one session's)`],
  ["chacha20-poly1305, guest instructions per MiB", `${(crypto.chachaPerMiB / 1e6).toFixed(1)} M`],
  ["AES-256-GCM, guest instructions per MiB", `${(crypto.gcmPerMiB / 1e6).toFixed(1)} M`],
];
console.log(`QEMU firmware figures (median of ${ROUNDS}; wall clock is the emulator's on this machine)`);
console.log("| measure | value |\n|---|--:|");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
const out = join(repoRoot, "bench/results/firmware.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, flash, ssh, crypto }, null, 2)}\n`);
console.log(`wrote ${out.slice(repoRoot.length + 1)}`);
