// Bytes allocated per MiB moved through our packet path, in-process (one provider, one direction per
// run; run.ts starts a fresh process for each). Method (see bench/README.md):
//   node --expose-gc --single-threaded-gc --import tsx bench/alloc.ts --crypto node|noble --mode upload|echo --mib N [--cipher NAME] [--split BYTES]
// The real node host (startNodeServer, `--uart null`) is driven through SshServer.accept() with an
// in-memory host. The scripted test client (test/helpers/client.ts) does the handshake, auth and opens
// the session; then, before measuring, it encrypts every client packet of the transfer in advance, so
// during the measured window only the server's code runs: the harness only hands it the prepared
// packets and copies what it writes into one preallocated buffer. Allocation is counted with
// v8.GCProfiler: between two GCs the V8 heap's used size and its external (ArrayBuffer backing store)
// memory only grow by allocation, so allocated = sum over GCs of (before - after previous) plus the
// growth since the last GC. --single-threaded-gc keeps frees in the GC pauses (concurrent sweeping of
// ArrayBuffers would otherwise hide some external bytes).

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { startNodeServer } from "../hosts/node/server.js";
import { MAX_CHANNEL_PACKET } from "../modules/ssh/channel.js";
import { ed25519PublicKeyBlob, formatPublicKeyLine } from "../modules/ssh/keys.js";
import { MSG } from "../modules/ssh/messages.js";
import { SshReader } from "../modules/ssh/wire.js";
import { ScriptedClient, crypto as clientCrypto } from "../test/helpers/client.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const provider = opt("--crypto", "node") === "noble" ? "noble" : "node";
const mode = opt("--mode", "upload") === "echo" ? "echo" : "upload";
const mib = Number(opt("--mib", "16"));
/** --cipher NAME: the suite's cipher (default: the scripted client's, chacha20-poly1305@openssh.com). */
const cipher = opt("--cipher", "");
/** --split N: the prepared packets handed over in N-byte pieces, as a socket delivers them (node reads
 * 64 KiB at a time), not one packet per call; packets then straddle the pieces. 0: one per packet. */
const split = Number(opt("--split", "0"));
const total = mib << 20;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "essh-alloc-"));
try {
  const seed = randomBytes(32);
  writeFileSync(join(dir, "authorized_keys"), formatPublicKeyLine(ed25519PublicKeyBlob(clientCrypto.ed25519Public(seed))) + "\n");
  const running = await startNodeServer({ listen: "127.0.0.1:0", dataDir: dir, uarts: ["null"], crypto: provider, log: () => {}, announce: () => {} });
  const uart = running.uarts[0] as unknown as { received: number };

  let phase: "setup" | "prepare" | "measure" = "setup";
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const capture = new Uint8Array(mode === "echo" ? total + (total >> 4) + (1 << 20) : 4 << 20);
  let captured = 0;
  const prepared: Uint8Array[] = [];
  let client!: ScriptedClient;
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      while (toServer.length > 0 || toClient.length > 0) {
        const b = toServer.shift();
        if (b) conn.receive(b);
        const c = toClient.shift();
        if (c) client.feed(c);
      }
    } finally {
      pumping = false;
    }
  };
  const conn = running.ssh.accept(
    {
      write: (b) => {
        if (phase === "setup") {
          toClient.push(b.slice());
          queueMicrotask(pump);
        } else {
          if (captured + b.length > capture.length) throw new Error("capture buffer too small");
          capture.set(b, captured);
          captured += b.length;
        }
        return true;
      },
      close: () => client.markClosed(),
    },
    "bench-inprocess",
  )!;
  client = new ScriptedClient((bytes) => {
    if (phase === "prepare") prepared.push(bytes);
    else {
      toServer.push(bytes);
      queueMicrotask(pump);
    }
  }, cipher ? { ciphers: [cipher] } : {});

  pump();
  await client.handshake();
  await client.requestUserauth();
  if ((await client.authPublickey("console", seed)) !== MSG.USERAUTH_SUCCESS) throw new Error("login failed");
  const ch = await client.openSession(mode === "echo" ? 0xffffffff : 1 << 20);
  client.send(MSG.CHANNEL_REQUEST, (w) => (mode === "echo" ? w.uint32(ch.remote).text("exec").boolean(true).text("cat") : w.uint32(ch.remote).text("shell").boolean(true)));
  await client.expect(MSG.CHANNEL_SUCCESS);
  await new Promise((r) => setTimeout(r, 50));
  while (toClient.length > 0 || toServer.length > 0) pump();

  // Prepare: every client packet of the transfer, encrypted now (not measured).
  phase = "prepare";
  const chunk = randomBytes(MAX_CHANNEL_PACKET);
  for (let off = 0; off < total; off += MAX_CHANNEL_PACKET) {
    client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(chunk.subarray(0, Math.min(MAX_CHANNEL_PACKET, total - off))));
  }
  const uartBefore = uart.received;
  if (split > 0) {
    const all = new Uint8Array(prepared.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of prepared) {
      all.set(p, at);
      at += p.length;
    }
    prepared.length = 0;
    for (let off = 0; off < all.length; off += split) prepared.push(all.subarray(off, Math.min(off + split, all.length)));
  }

  // Measure: only the server runs.
  phase = "measure";
  gc();
  gc();
  const profiler = new v8.GCProfiler();
  const h0 = v8.getHeapStatistics();
  profiler.start();
  const t0 = performance.now();
  for (let i = 0; i < prepared.length; i++) conn.receive(prepared[i]);
  const t1 = performance.now();
  await new Promise((r) => setImmediate(r)); // anything the server deferred
  const h1 = v8.getHeapStatistics();
  const stats = profiler.stop();
  let heap = 0;
  let external = 0;
  let prevUsed = h0.used_heap_size;
  let prevExt = h0.external_memory;
  for (const s of stats.statistics) {
    heap += s.beforeGC.heapStatistics.usedHeapSize - prevUsed;
    external += s.beforeGC.heapStatistics.externalMemory - prevExt;
    prevUsed = s.afterGC.heapStatistics.usedHeapSize;
    prevExt = s.afterGC.heapStatistics.externalMemory;
  }
  heap += h1.used_heap_size - prevUsed;
  external += h1.external_memory - prevExt;

  // Verify (not measured): the bytes really went through.
  phase = "setup";
  let moved = 0;
  if (mode === "upload") moved = uart.received - uartBefore;
  else {
    client.feed(capture.subarray(0, captured));
    for (;;) {
      let p: Uint8Array;
      try {
        p = await client.next(20);
      } catch {
        break;
      }
      if (p[0] === MSG.CHANNEL_DATA) {
        const r = new SshReader(p, 1);
        r.uint32();
        moved += r.string().length;
      }
    }
  }
  if (moved !== total) throw new Error(`only ${moved} of ${total} bytes went through (${mode}, ${provider})`);
  const perMiB = (n: number) => Math.round(n / mib);
  process.stdout.write(
    JSON.stringify({
      provider,
      mode,
      cipher: cipher || "default",
      split,
      mib,
      gcs: stats.statistics.length,
      heap_bytes_per_mib: perMiB(heap),
      external_bytes_per_mib: perMiB(external),
      bytes_per_mib: perMiB(heap + external),
      inprocess_mbps: Math.round((total / 1e6 / ((t1 - t0) / 1000)) * 10) / 10,
    }) + "\n",
  );
  conn.socketClosed?.();
  await Promise.race([running.close(), new Promise((r) => setTimeout(r, 3000))]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
