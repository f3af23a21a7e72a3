// Every cipher x MAC x kex x host-key combination the node host offers, against OpenSSH 9.2's ssh
// (Debian 12): each combination is one connection forced with -o Ciphers/MACs/KexAlgorithms/
// HostKeyAlgorithms, carries 1 MiB through `cat` byte-exact, and rekeys on the way (RekeyLimit). The
// server's own log line for that connection must name the same suite, and show a re-exchange.
// mlkem768x25519-sha256 needs OpenSSH 9.9+: test/openssh-pq.test.ts runs it with trixie's client.
//
// One server for all of them; connections run a few at a time (ssh mostly waits on the other side).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, run } from "./helpers/tools.js";

ensureTool("ssh", "openssh-client");

const TARGET = "console@127.0.0.1";
/** Bytes through `cat` per combination. */
const BULK = 1 << 20;
/** Client rekey limit: below BULK so that every connection re-keys, above half of it so that it
 * does so about once (each rekey of a non-interactive OpenSSH session costs ~80 ms of Nagle and
 * delayed-ACK waits on loopback). */
const REKEY_LIMIT = "768K";
/** Connections at once: each mostly waits (OpenSSH does not set TCP_NODELAY for a session without a
 * pty, so its rekeys wait on delayed ACKs), so many at once on 2 cores. */
const PARALLEL = 8;
const RUN_MS = 60_000;

/** OpenSSH 9.2 has every one of ours but mlkem768x25519-sha256. */
const KEX = ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521"];
const HOST_KEYS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"];
const AEAD = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];
const CTR = ["aes128-ctr", "aes192-ctr", "aes256-ctr"];
const MACS = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"];

interface Combo {
  kex: string;
  hostKey: string;
  cipher: string;
  /** null: an AEAD cipher (its MAC is implicit). */
  mac: string | null;
}

function combos(): Combo[] {
  const out: Combo[] = [];
  for (const kex of KEX) {
    for (const hostKey of HOST_KEYS) {
      for (const cipher of AEAD) out.push({ kex, hostKey, cipher, mac: null });
      for (const cipher of CTR) for (const mac of MACS) out.push({ kex, hostKey, cipher, mac });
    }
  }
  return out;
}

const name = (c: Combo) => `${c.kex} / ${c.hostKey} / ${c.cipher}${c.mac ? ` + ${c.mac}` : ""}`;

describe("OpenSSH 9.2: every cipher x MAC x kex x host key, 1 MiB through cat with rekeys", () => {
  let srv: TestServer;
  before(async () => {
    // Room for every parallel handshake (the default drops the oldest of 8 pending logins).
    srv = await startTestServer({ limits: { maxConnections: 2 * PARALLEL, maxUnauthenticated: 2 * PARALLEL } });
  });
  after(async () => {
    await srv?.close();
  });

  test(`${combos().length} combinations`, async () => {
    const input = randomBytes(BULK);
    const digest = createHash("sha256").update(input).digest("hex");
    const failures: string[] = [];
    const started = Date.now();
    const queue = combos();
    const one = async (c: Combo) => {
      const args = [
        ...srv.sshArgs,
        "-o", `KexAlgorithms=${c.kex}`,
        "-o", `HostKeyAlgorithms=${c.hostKey}`,
        "-o", `Ciphers=${c.cipher}`,
        // With an AEAD the MAC list is not used; OpenSSH still wants one.
        "-o", `MACs=${c.mac ?? MACS.join(",")}`,
        "-o", `RekeyLimit=${REKEY_LIMIT}`,
        TARGET, "cat",
      ];
      const r = await run("ssh", args, { input, timeoutMs: RUN_MS });
      const got = createHash("sha256").update(r.stdout).digest("hex");
      if (r.code !== 0 || got !== digest) failures.push(`${name(c)}: exit ${r.code}, ${r.stdout.length} bytes back${got === digest ? "" : " (differ)"}; ${r.stderr.trim().slice(0, 300)}`);
    };
    const workers = Array.from({ length: PARALLEL }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await one(c);
    });
    await Promise.all(workers);
    assert.deepEqual(failures, [], failures.join("\n"));

    // The server's log: one "kex" line per connection naming its suite, and a re-exchange on each
    // before that connection's end (remote ports may be reused later).
    const seen = new Set<string>();
    const open = new Map<string, { suite: string; rekeyed: boolean }>();
    const notRekeyed: string[] = [];
    for (const l of srv.logs) {
      const m = /^(\S+): kex (\S+), host key (\S+), cipher ([^,;]+)(?:, mac ([^,;]+))?, strict;/.exec(l);
      const remote = l.slice(0, l.indexOf(": "));
      if (m) {
        const suite = `${m[2]} / ${m[3]} / ${m[4]}${m[5] ? ` + ${m[5]}` : ""}`;
        seen.add(suite);
        open.set(remote, { suite, rekeyed: false });
      } else if (l.includes(": key re-exchange") && open.has(remote)) open.get(remote)!.rekeyed = true;
      else if (/: (client disconnected|connection closed|disconnect)/.test(l) && open.has(remote)) {
        if (!open.get(remote)!.rekeyed) notRekeyed.push(open.get(remote)!.suite);
        open.delete(remote);
      }
    }
    for (const c of combos()) assert.ok(seen.has(name(c)), `no server log line for ${name(c)}`);
    assert.deepEqual(notRekeyed, [], "connections without a re-exchange");
    console.log(`# ${combos().length} combinations in ${Date.now() - started} ms`);
  });

  test("a client that lists ECDSA before Ed25519 (as Go's x/crypto and OpenSSH before 8.5 do) still gets the Ed25519 host key", async () => {
    const r = await run("ssh", ["-v", ...srv.sshArgs, "-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256,rsa-sha2-512,ssh-ed25519", TARGET, "echo ed"], { timeoutMs: RUN_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /debug1: kex: host key algorithm: ssh-ed25519\r?\n/);
    const only = await run("ssh", ["-v", ...srv.sshArgs, "-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256,rsa-sha2-512", TARGET, "echo ec"], { timeoutMs: RUN_MS });
    assert.equal(only.code, 0, only.stderr);
    assert.match(only.stderr, /debug1: kex: host key algorithm: ecdsa-sha2-nistp256\r?\n/);
  });
});
