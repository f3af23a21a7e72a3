// Clients that the first suite (curve25519 + ed25519 + chacha20-poly1305) locked out, with their own
// defaults, against the node host:
// - paramiko 2.12 (Debian 12's python3-paramiko; under Ansible, Netmiko, Fabric): AES-CTR + HMAC only,
//   exec and SFTP up and down;
// - libssh2 1.10 through Debian's curl (sftp://): AES-CTR + HMAC-SHA2 (no EtM), upload and download;
// - PuTTY's plink pinned to the ECDSA host key (-hostkey with its fingerprint): against a server
//   started with ECDSA and RSA host keys only, since a client that knows Ed25519 (plink does) is
//   always given the Ed25519 key when the server has one.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOARD_TRANSFER_LENGTH } from "../modules/files/files.js";
import { PYTHON, curlSftpRoundTrip, paramikoRoundTrip } from "./helpers/peers.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensurePythonModule, ensureTool, run, tempDir } from "./helpers/tools.js";

const RUN_MS = 30_000;

/** The suite the server logged for the last connection of a client whose version line matches. */
function suiteOf(srv: TestServer, client: RegExp): string {
  const line = [...srv.logs].reverse().find((l) => /: kex /.test(l) && client.test(l));
  assert.ok(line, srv.logs.join("\n"));
  return line;
}

describe("paramiko 2.12 (python3-paramiko)", () => {
  let srv: TestServer;
  before(async () => {
    ensurePythonModule(PYTHON, "paramiko", "python3-paramiko");
    srv = await startTestServer();
  });
  after(async () => {
    await srv?.close();
  });

  test("exec and SFTP with its defaults: AES-CTR + HMAC-SHA2", async () => {
    const data = randomBytes(300 * 1024);
    const local = join(srv.dir, "paramiko.bin");
    writeFileSync(local, data);
    const got = await paramikoRoundTrip(srv.port, srv.clientKey, local, RUN_MS);
    assert.match(got.version, /^2\./);
    assert.equal(got.out, "from paramiko\n");
    assert.equal(got.status, 0);
    assert.match(got.cipher, /^aes(128|192|256)-ctr$/);
    assert.match(got.mac, /^hmac-sha2-(256|512)/);
    assert.equal(got.hostkey, "ssh-ed25519");
    assert.ok(got.names.includes("paramiko.bin"), JSON.stringify(got.names));
    assert.deepEqual(readFileSync(local + ".back"), data);
    assert.match(suiteOf(srv, /client SSH-2\.0-paramiko/), /cipher aes\d+-ctr, mac hmac-sha2-/);
  });
});

describe("libssh2 1.10 through curl sftp://", () => {
  let srv: TestServer;
  before(async () => {
    ensureTool("curl", "curl");
    srv = await startTestServer();
  });
  after(async () => {
    await srv?.close();
  });

  test("upload and download byte-exact with its defaults (AES-CTR + HMAC-SHA2, no EtM)", async () => {
    const version = execFileSync("curl", ["-V"], { encoding: "utf8" });
    assert.match(version, /libssh2\/1\./, version);
    const data = randomBytes(200 * 1024);
    const local = join(srv.dir, "curl.bin");
    writeFileSync(local, data);
    assert.deepEqual(await curlSftpRoundTrip(srv.port, srv.clientKey, local, "curl.bin", RUN_MS), data);
    assert.match(suiteOf(srv, /client SSH-2\.0-libssh2/), /cipher aes\d+-ctr, mac hmac-sha2-(256|512)[,;]/);
  });

  test("a board's 4 KiB transfer length: libssh2's 30,000-byte READs still come back whole", async () => {
    // libssh2 1.10 takes a short READ answer for a regular file as "Read Packet At Unexpected
    // Offset" (curl: transfer closed with bytes remaining): the server streams whole answers.
    const board = await startTestServer({ transferLength: BOARD_TRANSFER_LENGTH });
    try {
      const data = randomBytes(100 * 1024 + 123);
      const local = join(board.dir, "board.bin");
      writeFileSync(local, data);
      assert.deepEqual(await curlSftpRoundTrip(board.port, board.clientKey, local, "board.bin", RUN_MS), data);
    } finally {
      await board.close();
    }
  });
});

describe("PuTTY plink pinned to the ECDSA host key", () => {
  let srv: TestServer;
  const home = tempDir("essh-putty-ecdsa-");
  let ppk = "";

  before(async () => {
    ensureTool("plink", "putty-tools");
    ensureTool("puttygen", "putty-tools");
    srv = await startTestServer({ hostKeyTypes: ["ecdsa-sha2-nistp256", "ssh-rsa"] });
    ppk = join(home.path, "key.ppk");
    execFileSync("puttygen", [srv.clientKey, "-O", "private", "-o", ppk], { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    mkdirSync(join(home.path, ".putty"), { recursive: true });
  });
  after(async () => {
    await srv?.close();
    home.cleanup();
  });

  test("-hostkey with the ECDSA fingerprint: logs in with ecdsa-sha2-nistp256; a wrong one is refused", async () => {
    const ecdsa = srv.server.ssh.hostKeys.byType("ecdsa-sha2-nistp256");
    assert.ok(ecdsa, "the node host has an ECDSA host key");
    const env = { ...process.env, HOME: home.path };
    const base = ["-batch", "-ssh", "-P", String(srv.port), "-i", ppk];
    const r = await run("plink", [...base, "-hostkey", ecdsa.fingerprint, "console@127.0.0.1", "echo pinned"], { timeoutMs: RUN_MS, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "pinned\n");
    assert.match(suiteOf(srv, /client SSH-2\.0-PuTTY/), /host key ecdsa-sha2-nistp256,/);
    // The RSA key's fingerprint does not match the key this session gets.
    const rsa = srv.server.ssh.hostKeys.byType("ssh-rsa")!;
    const wrong = await run("plink", [...base, "-hostkey", rsa.fingerprint, "console@127.0.0.1", "echo pinned"], { timeoutMs: RUN_MS, env });
    assert.notEqual(wrong.code, 0);
  });
});
