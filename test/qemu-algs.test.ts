// The algorithms beyond the first suite inside the QEMU firmware (issue [2/5]), in one boot of the
// SSH image (native hooks: libsodium, PSA Crypto over Mbed TLS 3.6, libcrux ML-KEM-768):
// - OpenSSH 9.2 logs in with an RSA-3072 user key and no extra flags (rsa-sha2-512, verified by PSA);
// - a FIPS-like profile (ECDH P-256, AES-256-GCM or AES-256-CTR + HMAC-SHA2-256, ECDSA/RSA host
//   keys, the RSA user key) logs in and copies a file up and down with scp, byte-exact;
// - the RSA-3072 host key made after boot signs the exchange for a client that asks for rsa-sha2-512;
// - OpenSSH 10.0 from a Debian trixie chroot (test/helpers/chroot.ts) negotiates
//   mlkem768x25519-sha256 with its defaults and prints no WARNING;
// - bad input for the new algorithms: an AES-GCM packet with a flipped tag bit (MAC_ERROR) and an
//   ML-KEM client key of the wrong length (KEY_EXCHANGE_FAILED) each end that connection, and the
//   server goes on serving.
// - OpenSSH 9.2 with ECDSA-256/384/521 user keys, no extra flags;
// - the clients outside OpenSSH with their own defaults, as on the node host (clients-algs): paramiko
//   2.12 (AES-CTR + HMAC) exec and SFTP, libssh2 1.10 through curl sftp:// up and down, PuTTY's plink
//   pinned to the image's Ed25519 host key (-hostkey).
// The server's log (one line per kex with its algorithms) is checked beside each client's `-v` view.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSshFirmware } from "../hosts/qemu/build.js";
import { bootSshServer, type Boot } from "../hosts/qemu/run.js";
import { DISCONNECT, MSG } from "../modules/ssh/messages.js";
import { chrootSshVersion, ensureChroot, keyIntoChroot } from "./helpers/chroot.js";
import { tcpClient, type ClientOptions } from "./helpers/client.js";
import { sha256 } from "./helpers/procs.js";
import { PYTHON, curlSftpRoundTrip, paramikoRoundTrip } from "./helpers/peers.js";
import { ensurePythonModule, ensureTool, freePort, opensshOptions, run, tempDir } from "./helpers/tools.js";

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");
ensureTool("curl", "curl");
ensureTool("plink", "putty-tools");
ensureTool("puttygen", "putty-tools");
ensurePythonModule(PYTHON, "paramiko", "python3-paramiko");

const TARGET = "console@127.0.0.1";
const RUN_MS = 60_000;
/** scp up and down in the FIPS-like profile: a few of the board's 4 KiB SFTP pieces. */
const SCP_BYTES = 24 * 1024;
const FIPS = [
  "-o", "KexAlgorithms=ecdh-sha2-nistp256",
  "-o", "Ciphers=aes256-gcm@openssh.com,aes256-ctr",
  "-o", "MACs=hmac-sha2-256",
  "-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256,rsa-sha2-256",
];

function keygen(dir: string, name: string, type: string, bits?: number): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", name, "-f", file], { timeout: 60_000 });
  return file;
}

describe("the new algorithms in the QEMU firmware (native PSA and ML-KEM hooks, real clients)", () => {
  const tmp = tempDir("essh-qemu-algs-");
  let qemu: Boot;
  let port = 0;
  let rsaKey = "";
  let edKey = "";
  const ecdsaKeys: string[] = [];
  let chroot = "";
  const t0 = Date.now();
  const kexLines = (re: RegExp) => qemu.output().split("\n").filter((l) => re.test(l));

  before(async () => {
    // The chroot first: debootstrap (minutes, once per build/ directory) before QEMU runs.
    chroot = await ensureChroot("trixie");
    await buildSshFirmware({ log: () => {} });
    rsaKey = keygen(tmp.path, "id_rsa", "rsa", 3072);
    edKey = keygen(tmp.path, "id_ed25519", "ed25519");
    for (const bits of [256, 384, 521]) ecdsaKeys.push(keygen(tmp.path, `id_ecdsa${bits}`, "ecdsa", bits));
    const pubs = [rsaKey, edKey, ...ecdsaKeys].map((k) => readFileSync(`${k}.pub`, "utf8"));
    writeFileSync(join(tmp.path, "authorized_keys"), pubs.join(""));
    port = await freePort();
    qemu = await bootSshServer({ listen: `127.0.0.1:${port}`, data: tmp.path });
  });

  after(async () => {
    if (qemu) {
      qemu.child.kill("SIGTERM");
      await qemu.done;
      console.log(`# QEMU algorithms suite: ${Date.now() - t0} ms with the boot`);
      const log = qemu.output();
      assert.doesNotMatch(log, /uncaught exception|exception in a|fatal/, `the firmware log shows an error:\n${log}`);
    }
    tmp.cleanup();
  });

  const ssh = (key: string, args: string[], extra: string[] = [], input?: Uint8Array) =>
    run("ssh", ["-v", "-p", String(port), ...extra, ...opensshOptions(key, 30), TARGET, ...args], { input, timeoutMs: RUN_MS });

  test("the image offers the PSA and ML-KEM algorithms, with all three host keys", () => {
    const log = qemu.output();
    assert.match(log, /^host key SHA256:\S+ \(ECDSA\)$/m);
    assert.match(log, /^host key SHA256:\S+ \(RSA\)$/m);
    assert.match(log, /^authorized_keys: 5 key\(s\)$/m);
  });

  test("OpenSSH 9.2 logs in with an RSA-3072 user key, no extra flags (rsa-sha2-512)", async () => {
    const r = await ssh(rsaKey, ["echo", "rsa", "user", "key"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "rsa user key\n");
    assert.match(r.stderr, /Server accepts key: \S+ RSA SHA256:/);
    assert.ok(kexLines(/logged in with publickey \(rsa-sha2-512 SHA256:/).length >= 1, qemu.output());
  });

  test("OpenSSH 9.2 logs in with ECDSA-256/384/521 user keys, no extra flags", async () => {
    for (const [i, bits] of [256, 384, 521].entries()) {
      const r = await ssh(ecdsaKeys[i], ["echo", "ecdsa", String(bits)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), `ecdsa ${bits}\n`);
      assert.ok(kexLines(new RegExp(`logged in with publickey \\(ecdsa-sha2-nistp${bits} SHA256:`)).length >= 1, qemu.output());
    }
  });

  test("paramiko 2.12 with its defaults (AES-CTR + HMAC-SHA2): exec and SFTP up and down", async () => {
    const data = randomBytes(SCP_BYTES);
    const local = join(tmp.path, "paramiko.bin");
    writeFileSync(local, data);
    const got = await paramikoRoundTrip(port, edKey, local, RUN_MS);
    assert.match(got.version, /^2\./);
    assert.equal(got.out, "from paramiko\n");
    assert.equal(got.status, 0);
    assert.match(got.cipher, /^aes(128|192|256)-ctr$/);
    assert.match(got.mac, /^hmac-sha2-(256|512)/);
    assert.equal(sha256(readFileSync(local + ".back")), sha256(data));
    assert.ok(kexLines(/cipher aes\d+-ctr, mac hmac-sha2-.*client SSH-2\.0-paramiko/).length >= 1, qemu.output());
  });

  test("libssh2 1.10 through curl sftp:// with its defaults: upload and download byte-exact", async () => {
    const data = randomBytes(SCP_BYTES);
    const local = join(tmp.path, "curl.bin");
    writeFileSync(local, data);
    const down = await curlSftpRoundTrip(port, edKey, local, "curl.bin", RUN_MS);
    assert.equal(sha256(down), sha256(data));
    assert.ok(kexLines(/cipher aes\d+-ctr, mac hmac-sha2-(256|512)[,;].*client SSH-2\.0-libssh2/).length >= 1, qemu.output());
  });

  test("PuTTY plink pinned to the image's Ed25519 host key (-hostkey); a wrong pin is refused", async () => {
    const home = join(tmp.path, "putty-home");
    execFileSync("mkdir", ["-p", join(home, ".putty")]);
    const ppk = join(tmp.path, "key.ppk");
    execFileSync("puttygen", [edKey, "-O", "private", "-o", ppk], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    const fp = (type: string) => {
      const m = qemu.output().match(new RegExp(`^host key (SHA256:\\S+) \\(${type}\\)$`, "m"));
      assert.ok(m, `the boot log names the ${type} host key:\n${qemu.output()}`);
      return m[1];
    };
    const env = { ...process.env, HOME: home };
    const base = ["-batch", "-ssh", "-P", String(port), "-i", ppk];
    const r = await run("plink", [...base, "-hostkey", fp("ED25519"), TARGET, "echo pinned"], { timeoutMs: RUN_MS, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "pinned\n");
    assert.ok(kexLines(/host key ssh-ed25519, .*client SSH-2\.0-PuTTY/).length >= 1, qemu.output());
    const wrong = await run("plink", [...base, "-hostkey", fp("ECDSA"), TARGET, "echo pinned"], { timeoutMs: RUN_MS, env });
    assert.notEqual(wrong.code, 0);
  });

  test("a FIPS-like profile (ECDH P-256, AES-256-GCM / AES-256-CTR + HMAC-SHA2-256, ECDSA host key, RSA user key) logs in and copies with scp", async () => {
    const r = await ssh(rsaKey, ["echo", "fips"], FIPS);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "fips\n");
    assert.match(r.stderr, /kex: algorithm: ecdh-sha2-nistp256\r?\n/);
    assert.match(r.stderr, /kex: host key algorithm: ecdsa-sha2-nistp256\r?\n/);
    assert.match(r.stderr, /kex: server->client cipher: aes256-gcm@openssh\.com MAC: <implicit>/);
    assert.ok(kexLines(/: kex ecdh-sha2-nistp256, host key ecdsa-sha2-nistp256, cipher aes256-gcm@openssh\.com, strict;/).length >= 1, qemu.output());

    const ctr = await ssh(rsaKey, ["echo", "ctr"], ["-o", "Ciphers=aes256-ctr", ...FIPS] /* the first value given wins */);
    assert.equal(ctr.code, 0, ctr.stderr);
    assert.equal(ctr.stdout.toString(), "ctr\n");
    assert.match(ctr.stderr, /kex: server->client cipher: aes256-ctr MAC: hmac-sha2-256 /);

    const data = randomBytes(SCP_BYTES);
    const local = join(tmp.path, "fips.bin"), back = join(tmp.path, "fips.back");
    writeFileSync(local, data);
    const scpArgs = ["-P", String(port), ...FIPS, ...opensshOptions(rsaKey, 30)];
    const up = await run("scp", [...scpArgs, local, `${TARGET}:fips.bin`], { timeoutMs: RUN_MS });
    assert.equal(up.code, 0, up.stderr);
    const down = await run("scp", [...scpArgs, `${TARGET}:fips.bin`, back], { timeoutMs: RUN_MS });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(back)), sha256(data));
    assert.equal((await ssh(rsaKey, ["rm", "fips.bin"], FIPS)).code, 0);
  });

  test("the RSA-3072 host key signs the exchange for a client that asks for rsa-sha2-512", async () => {
    const r = await ssh(edKey, ["echo", "rsa", "host", "key"], ["-o", "HostKeyAlgorithms=rsa-sha2-512"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "rsa host key\n");
    assert.match(r.stderr, /kex: host key algorithm: rsa-sha2-512\r?\n/);
    assert.match(r.stderr, /Server host key: ssh-rsa SHA256:/);
    assert.ok(kexLines(/: kex \S+, host key rsa-sha2-512, /).length >= 1, qemu.output());
  });

  test("OpenSSH 10.0 (Debian trixie chroot) negotiates mlkem768x25519-sha256 with its defaults, no WARNING", async () => {
    const version = chrootSshVersion(chroot);
    const key = keyIntoChroot(chroot, edKey, `esp-ssh-console-qemu-${process.pid}`);
    const r = await run("chroot", [chroot, "ssh", "-v", "-p", String(port), ...opensshOptions(key, 30), TARGET, "echo", "post-quantum"], { timeoutMs: RUN_MS });
    assert.equal(r.code, 0, `${version}: ${r.stderr}`);
    assert.equal(r.stdout.toString(), "post-quantum\n");
    assert.match(r.stderr, /kex: algorithm: mlkem768x25519-sha256\r?\n/);
    assert.doesNotMatch(r.stderr, /WARNING/);
    const lines = kexLines(/: kex mlkem768x25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com, strict; client SSH-2\.0-OpenSSH_10/);
    assert.equal(lines.length, 1, qemu.output());
    console.log(`# ${version}: ${lines[0].replace(/^.*?: kex /, "kex ")}`);
  });

  test("bad input for the new algorithms: a flipped GCM tag bit, an ML-KEM key of the wrong length; the server keeps serving", async () => {
    const expect = async (options: ClientOptions, setup: (c: Awaited<ReturnType<typeof tcpClient>>) => Promise<void>, reason: number, text?: RegExp) => {
      const c = await tcpClient(port, options);
      try {
        await setup(c);
        const d = await c.client.waitClosed(30_000);
        assert.ok(d, "the server sent SSH_MSG_DISCONNECT");
        assert.equal(d.reason, reason, `reason ${d.reason}: ${d.message}`);
        if (text) assert.match(d.message, text);
      } finally {
        c.socket.destroy();
      }
    };
    await expect({ ciphers: ["aes256-gcm@openssh.com"] }, async ({ client }) => {
      await client.handshake();
      assert.equal(client.negotiated?.cipherCS, "aes256-gcm@openssh.com");
      client.mutateOutput = (p) => (p[p.length - 1] ^= 0x10); // the last byte of the tag
      client.send(MSG.SERVICE_REQUEST, (w) => w.text("ssh-userauth"));
    }, DISCONNECT.MAC_ERROR);
    await expect({ kex: ["mlkem768x25519-sha256"] }, async ({ client }) => {
      await client.exchangeKexInits();
      client.sendEcdhInit(randomBytes(1184 + 32 - 1));
    }, DISCONNECT.KEY_EXCHANGE_FAILED, /mlkem768x25519: client key of 1215 bytes \(want 1216\)/);
    const r = await ssh(edKey, ["echo", "still", "serving"]);
    assert.equal(r.stdout.toString(), "still serving\n", r.stderr);
  });
});
