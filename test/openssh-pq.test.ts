// Post-quantum key exchange against real OpenSSH clients newer than Debian 12's: trixie's 10.0 and
// sid's 10.x, from chroots made by test/helpers/chroot.ts. With their defaults they negotiate
// mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex), log in, carry data through a rekey, and
// print no WARNING (10.1+ warns on every connection whose kex is not post-quantum; the test checks it
// would, against a server whose provider lists no ML-KEM and so offers no post-quantum kex).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { chrootSshVersion, ensureChroot, keyIntoChroot, type Suite } from "./helpers/chroot.js";
import { run } from "./helpers/tools.js";
import { loadNodeProvider } from "../hosts/node/crypto_node.js";

const TARGET = "console@127.0.0.1";
const RUN_MS = 30_000;
/** Bytes through cat: past RekeyLimit, so the hybrid kex runs again mid-session. */
const BULK = 512 * 1024;

function sshOptions(port: number, key: string): string[] {
  return [
    "-p", String(port), "-i", key,
    "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-F", "/dev/null",
  ];
}

for (const suite of ["trixie", "sid"] as Suite[]) {
  describe(`OpenSSH from Debian ${suite} (chroot): mlkem768x25519-sha256 with its defaults`, () => {
    let srv: TestServer;
    let root = "";
    let key = "";
    let version = "";

    before(async () => {
      root = await ensureChroot(suite);
      version = chrootSshVersion(root);
      srv = await startTestServer();
      key = keyIntoChroot(root, srv.clientKey, `esp-ssh-console-pq-${process.pid}`);
    });
    after(async () => {
      await srv?.close();
    });

    test("is OpenSSH 9.9 or later", () => {
      const m = /OpenSSH_(\d+)\.(\d+)/.exec(version);
      assert.ok(m, version);
      assert.ok(Number(m[1]) * 100 + Number(m[2]) >= 909, version);
      console.log(`# ${suite}: ${version}`);
    });

    test("negotiates mlkem768x25519-sha256, logs in, prints no WARNING, and rekeys with it", async () => {
      const input = randomBytes(BULK);
      const r = await run("chroot", [root, "ssh", "-v", ...sshOptions(srv.port, key), "-o", "RekeyLimit=128K", TARGET, "cat"], { input, timeoutMs: RUN_MS });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(createHash("sha256").update(r.stdout).digest("hex"), createHash("sha256").update(input).digest("hex"));
      assert.match(r.stderr, /debug1: kex: algorithm: mlkem768x25519-sha256\r?\n/);
      assert.doesNotMatch(r.stderr, /WARNING/);
      const mine = srv.logs.filter((l) => /: kex mlkem768x25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com, strict;/.test(l));
      assert.equal(mine.length, 1, srv.logs.join("\n"));
      const remote = mine[0].slice(0, mine[0].indexOf(": "));
      assert.ok(srv.logs.some((l) => l.startsWith(`${remote}: key re-exchange`)), srv.logs.join("\n"));
    });

    test("a server whose provider has no ML-KEM offers no post-quantum kex, and 10.1+ warns (the check above can fail)", async () => {
      const base = await loadNodeProvider();
      const classic = await startTestServer({ cryptoProvider: { ...base, features: base.features.filter((f) => f !== "mlkem768") } });
      try {
        const k = keyIntoChroot(root, classic.clientKey, `esp-ssh-console-classic-${process.pid}`);
        const r = await run("chroot", [root, "ssh", "-v", ...sshOptions(classic.port, k), TARGET, "echo classic"], { timeoutMs: RUN_MS });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /debug1: kex: algorithm: curve25519-sha256\r?\n/);
        const m = /OpenSSH_(\d+)\.(\d+)/.exec(version)!;
        if (Number(m[1]) * 100 + Number(m[2]) >= 1001) assert.match(r.stderr, /WARNING: connection is not using a post-quantum key exchange algorithm/);
        else assert.doesNotMatch(r.stderr, /WARNING/);
      } finally {
        await classic.close();
      }
    });
  });
}
