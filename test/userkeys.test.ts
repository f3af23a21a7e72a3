// User keys of every type people already have, against the node host:
// - OpenSSH 9.2 logs in with RSA-2048, RSA-4096, ECDSA-256/384/521 and Ed25519 keys from ssh-keygen,
//   with no extra client flags (server-sig-algs makes it sign RSA with SHA-2); an RSA-1024 key is
//   refused with a log line saying why, and so is a SHA-1 ssh-rsa signature;
// - a FIPS-like client profile (ECDH P-256, AES-GCM/CTR, HMAC-SHA2-256, ECDSA/RSA host keys) logs in
//   and copies a file with scp;
// - FIDO security keys (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com): no
//   authenticator here, so the test makes the key blobs and signatures itself from PROTOCOL.u2f, and
//   checks the user-presence rule and its no-touch-required / verify-required options.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, sign as nodeSign } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import { MSG } from "../modules/ssh/messages.js";
import { SshWriter } from "../modules/ssh/wire.js";
import { tcpClient } from "./helpers/client.js";
import { UP, UV, skEcdsa, skEd25519, type SkKey } from "./helpers/sk.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, opensshOptions, run } from "./helpers/tools.js";

ensureTool("ssh", "openssh-client");
ensureTool("scp", "openssh-client");

const TARGET = "console@127.0.0.1";
const RUN_MS = 30_000;
const node = createNodeProvider();

/** ssh-keygen with only type and size (and no passphrase): the keys people already have. */
function keygen(dir: string, name: string, type: string, bits?: number): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", name, "-f", file], { timeout: 60_000 });
  return file;
}

/** ssh options for one key (the helper's options carry the server's own test key). */
const keyArgs = (srv: TestServer, key: string): string[] => ["-p", String(srv.port), ...opensshOptions(key)];
/** scp's, likewise (-P for the port). */
const scpArgs = (srv: TestServer, key: string): string[] => ["-P", String(srv.port), ...opensshOptions(key)];

describe("OpenSSH 9.2 user keys from ssh-keygen", () => {
  let srv: TestServer;
  const keys: Record<string, string> = {};

  before(async () => {
    srv = await startTestServer();
    for (const [name, type, bits] of [
      ["rsa2048", "rsa", 2048], ["rsa4096", "rsa", 4096], ["rsa1024", "rsa", 1024],
      ["ecdsa256", "ecdsa", 256], ["ecdsa384", "ecdsa", 384], ["ecdsa521", "ecdsa", 521], ["ed25519", "ed25519", 0],
    ] as const) keys[name] = keygen(srv.dir, `user_${name}`, type, bits || undefined);
    const lines = Object.values(keys).map((k) => readFileSync(k + ".pub", "utf8").trim());
    writeFileSync(join(srv.dir, "authorized_keys"), lines.join("\n") + "\n");
  });
  after(async () => {
    await srv?.close();
  });

  for (const [name, algorithm] of [
    ["rsa2048", "rsa-sha2-512"], ["rsa4096", "rsa-sha2-512"], ["ecdsa256", "ecdsa-sha2-nistp256"],
    ["ecdsa384", "ecdsa-sha2-nistp384"], ["ecdsa521", "ecdsa-sha2-nistp521"], ["ed25519", "ssh-ed25519"],
  ] as const) {
    test(`${name}: logs in (${algorithm})`, async () => {
      const r = await run("ssh", [...keyArgs(srv, keys[name]), TARGET, "echo in"], { timeoutMs: RUN_MS });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), "in\n");
      assert.ok(srv.logs.some((l) => l.includes(`logged in with publickey (${algorithm} `)), srv.logs.slice(-5).join("\n"));
    });
  }

  test("the authorized_keys load notes the RSA-1024 key it will refuse", () => {
    assert.ok(srv.logs.some((l) => /an RSA key of 1024 bits will be refused/.test(l)), srv.logs.join("\n"));
  });

  test("rsa1024: refused, and the log says why", async () => {
    const r = await run("ssh", [...keyArgs(srv, keys.rsa1024), TARGET, "echo in"], { timeoutMs: RUN_MS });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.ok(srv.logs.some((l) => /RSA key of 1024 bits refused: at least 2048 bits are required/.test(l)), srv.logs.join("\n"));
  });

  test("an RSA key offered with SHA-1 (ssh-rsa) is refused, and the log says why", async () => {
    // OpenSSH 9.2 only signs with ssh-rsa when told to and when the server does not list rsa-sha2-*:
    // so the scripted client signs the request itself.
    const { client, socket } = await tcpClient(srv.port);
    try {
      await client.handshake();
      await client.requestUserauth();
      const pem = readFileSync(keys.rsa2048, "utf8");
      const { key, blob } = await rsaFromOpenSsh(pem);
      const reply = await client.authSigned("console", "ssh-rsa", blob, (data) => new SshWriter().text("ssh-rsa").string(nodeSign("sha1", data, key)).bytes());
      assert.equal(reply, MSG.USERAUTH_FAILURE);
      assert.ok(srv.logs.some((l) => /ssh-rsa signatures use SHA-1, which is broken/.test(l)), srv.logs.join("\n"));
    } finally {
      socket.destroy();
    }
  });

  test("server-sig-algs lists every user-key algorithm the node provider verifies", async () => {
    const r = await run("ssh", ["-vv", ...keyArgs(srv, keys.ed25519), TARGET, "echo in"], { timeoutMs: RUN_MS });
    assert.equal(r.code, 0, r.stderr);
    const m = /server-sig-algs=<([^>]*)>/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.deepEqual(m[1].split(","), [
      "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
      "sk-ecdsa-sha2-nistp256@openssh.com", "rsa-sha2-512", "rsa-sha2-256",
    ]);
  });

  test("a FIPS-like profile (ECDH P-256, AES-GCM/CTR, HMAC-SHA2-256, ECDSA/RSA host keys, RSA user key) logs in and copies with scp", async () => {
    const fips = [
      "-o", "KexAlgorithms=ecdh-sha2-nistp256",
      "-o", "Ciphers=aes256-gcm@openssh.com,aes256-ctr",
      "-o", "MACs=hmac-sha2-256",
      "-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256,rsa-sha2-256",
      "-o", "PubkeyAcceptedAlgorithms=rsa-sha2-256,ecdsa-sha2-nistp256",
    ];
    const r = await run("ssh", ["-v", ...keyArgs(srv, keys.rsa2048), ...fips, TARGET, "echo fips"], { timeoutMs: RUN_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "fips\n");
    assert.match(r.stderr, /kex: algorithm: ecdh-sha2-nistp256/);
    assert.match(r.stderr, /kex: host key algorithm: ecdsa-sha2-nistp256/);
    assert.match(r.stderr, /kex: server->client cipher: aes256-gcm@openssh\.com MAC: <implicit>/);
    assert.ok(srv.logs.some((l) => l.includes("logged in with publickey (rsa-sha2-256 ")), srv.logs.slice(-5).join("\n"));

    const local = join(srv.dir, "fips.bin");
    const data = randomBytes(200 * 1024);
    writeFileSync(local, data);
    // The legacy protocol (-O) and the SFTP one, with the CTR cipher this time.
    for (const extra of [["-O"], ["-o", "Ciphers=aes256-ctr"]]) {
      const up = await run("scp", [...scpArgs(srv, keys.rsa2048), ...fips, ...extra, local, `${TARGET}:fips.bin`], { timeoutMs: RUN_MS });
      assert.equal(up.code, 0, up.stderr);
      const back = join(srv.dir, "fips.back");
      const down = await run("scp", [...scpArgs(srv, keys.rsa2048), ...fips, ...extra, `${TARGET}:fips.bin`, back], { timeoutMs: RUN_MS });
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(readFileSync(back), data);
    }
  });
});

/** An RSA private key from an OpenSSH key file (via ssh-keygen -e to PKCS#8), and its public blob. */
async function rsaFromOpenSsh(pem: string) {
  const { decodeOpenSshPrivateKeyAny, publicKeyBlob } = await import("../modules/ssh/keys.js");
  const { createPrivateKey } = await import("node:crypto");
  const { key } = decodeOpenSshPrivateKeyAny(pem);
  if (key.type !== "ssh-rsa") throw new Error("not RSA");
  const b = (x: Uint8Array) => Buffer.from(x).toString("base64url");
  const r = key.rsa;
  const k = createPrivateKey({ key: { kty: "RSA", n: b(r.n), e: b(r.e), d: b(r.d), p: b(r.p), q: b(r.q), dp: b(r.dp), dq: b(r.dq), qi: b(r.qi) }, format: "jwk" });
  return { key: k, blob: publicKeyBlob(key) };
}

// ---------------------------------------------------------------------------------------------
// FIDO security keys, made here from the key format (OpenSSH PROTOCOL.u2f)

// (test/helpers/sk.ts)

describe("FIDO security keys (sk-*), signatures made from PROTOCOL.u2f", () => {
  let srv: TestServer;
  const touch = { ed: skEd25519(), ec: skEcdsa() };
  const noTouch = { ed: skEd25519(), ec: skEcdsa() };
  const verify = { ed: skEd25519(), ec: skEcdsa() };
  const line = (k: SkKey, options = "") => `${options ? options + " " : ""}${k.type} ${Buffer.from(k.blob).toString("base64")} sk-test`;

  before(async () => {
    srv = await startTestServer();
    writeFileSync(join(srv.dir, "authorized_keys"), [
      line(touch.ed), line(touch.ec),
      line(noTouch.ed, "no-touch-required"), line(noTouch.ec, "no-touch-required"),
      line(verify.ed, "verify-required"), line(verify.ec, "verify-required"),
    ].join("\n") + "\n");
  });
  after(async () => {
    await srv?.close();
  });

  async function attempt(k: SkKey, flags: number, tamper?: (sig: Uint8Array) => void): Promise<number> {
    const { client, socket } = await tcpClient(srv.port);
    try {
      await client.handshake();
      await client.requestUserauth();
      return await client.authSigned("console", k.type, k.blob, (data) => {
        const s = k.sign(data, flags, 7);
        tamper?.(s);
        return s;
      });
    } finally {
      socket.destroy();
    }
  }

  for (const kind of ["ed", "ec"] as const) {
    const label = kind === "ed" ? "sk-ssh-ed25519" : "sk-ecdsa-sha2-nistp256";
    test(`${label}: a touched signature logs in; an untouched one is refused and the log says why`, async () => {
      assert.equal(await attempt(touch[kind], UP), MSG.USERAUTH_SUCCESS);
      assert.equal(await attempt(touch[kind], 0), MSG.USERAUTH_FAILURE);
      assert.ok(srv.logs.some((l) => /without user presence \(touch\)/.test(l)), srv.logs.join("\n"));
    });
    test(`${label}: no-touch-required lets an untouched signature in`, async () => {
      assert.equal(await attempt(noTouch[kind], 0), MSG.USERAUTH_SUCCESS);
    });
    test(`${label}: verify-required needs the user-verified flag`, async () => {
      assert.equal(await attempt(verify[kind], UP), MSG.USERAUTH_FAILURE);
      assert.ok(srv.logs.some((l) => /without user verification/.test(l)), srv.logs.join("\n"));
      assert.equal(await attempt(verify[kind], UP | UV), MSG.USERAUTH_SUCCESS);
    });
    test(`${label}: a changed counter (outside the signed bytes' copy) fails the signature`, async () => {
      // The counter is the last 4 bytes of the blob: change it, and the signed message differs.
      assert.equal(await attempt(touch[kind], UP, (s) => (s[s.length - 1] ^= 1)), MSG.USERAUTH_FAILURE);
      assert.ok(srv.logs.some((l) => /signature does not verify/.test(l)), srv.logs.join("\n"));
    });
  }
});

describe("FIDO security key certificates (sk-*-cert-v01), the certificate made by ssh-keygen -s", () => {
  let srv: TestServer;
  let ca = "", caNoTouch = "";
  const keys = { ed: skEd25519(), ec: skEcdsa() };
  /** A certificate of `k` signed by `caKey` with ssh-keygen -s; its blob. */
  const certify = (k: SkKey, name: string, caKey: string, args: string[]) => {
    const file = join(srv.dir, name);
    writeFileSync(file + ".pub", `${k.type} ${Buffer.from(k.blob).toString("base64")} ${name}\n`);
    execFileSync("ssh-keygen", ["-q", "-s", caKey, "-I", `id-${name}`, "-n", "console", "-V", "-5m:+1h", ...args, file + ".pub"], { timeout: 30_000 });
    const [type, b64] = readFileSync(file + "-cert.pub", "utf8").split(" ");
    return { type, blob: new Uint8Array(Buffer.from(b64, "base64")) };
  };
  const certs: Record<string, { type: string; blob: Uint8Array; key: SkKey }> = {};

  before(async () => {
    srv = await startTestServer();
    ca = join(srv.dir, "ca");
    caNoTouch = join(srv.dir, "ca_notouch");
    for (const f of [ca, caNoTouch]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", f], { timeout: 30_000 });
    writeFileSync(join(srv.dir, "authorized_keys"), [`cert-authority ${readFileSync(ca + ".pub", "utf8").trim()}`, `cert-authority,no-touch-required ${readFileSync(caNoTouch + ".pub", "utf8").trim()}`].join("\n") + "\n");
    const add = (name: string, k: SkKey, caKey: string, args: string[] = []) => (certs[name] = { ...certify(k, name, caKey, args), key: k });
    add("ed", keys.ed, ca);
    add("ec", keys.ec, ca);
    add("edNoTouchCertOnly", keys.ed, ca, ["-O", "no-touch-required"]);
    add("edNoTouchBoth", keys.ed, caNoTouch, ["-O", "no-touch-required"]);
    add("edNoTouchLineOnly", keys.ed, caNoTouch);
    add("edVerify", keys.ed, ca, ["-O", "verify-required"]);
  });
  after(async () => {
    await srv?.close();
  });

  async function attempt(name: string, flags: number): Promise<number> {
    const c = certs[name];
    const { client, socket } = await tcpClient(srv.port);
    try {
      await client.handshake();
      await client.requestUserauth();
      return await client.authSigned("console", c.type, c.blob, (data) => c.key.sign(data, flags, 9));
    } finally {
      socket.destroy();
    }
  }
  const logged = (re: RegExp) => assert.ok(srv.logs.some((l) => re.test(l)), srv.logs.slice(-6).join("\n"));

  test("sk-ssh-ed25519 and sk-ecdsa-sha2-nistp256 certificates: a touched signature logs in, an untouched one is refused", async () => {
    assert.equal(certs.ed.type, "sk-ssh-ed25519-cert-v01@openssh.com");
    assert.equal(certs.ec.type, "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com");
    for (const name of ["ed", "ec"]) {
      assert.equal(await attempt(name, UP), MSG.USERAUTH_SUCCESS, name);
      logged(new RegExp(`publickey \\(${certs[name].type.replace(/[.]/g, "\\.")} SHA256:\\S+, certificate "id-${name}"`));
      assert.equal(await attempt(name, 0), MSG.USERAUTH_FAILURE, name);
      logged(new RegExp(`security key signature without user presence \\(touch\\) for certificate "id-${name}"`));
    }
  });

  test("no touch only when both the certificate (no-touch-required extension) and the CA line say so", async () => {
    assert.equal(await attempt("edNoTouchBoth", 0), MSG.USERAUTH_SUCCESS);
    assert.equal(await attempt("edNoTouchCertOnly", 0), MSG.USERAUTH_FAILURE);
    assert.equal(await attempt("edNoTouchLineOnly", 0), MSG.USERAUTH_FAILURE);
    assert.equal(await attempt("edNoTouchLineOnly", UP), MSG.USERAUTH_SUCCESS);
  });

  test("a verify-required certificate needs the user-verified flag", async () => {
    assert.equal(await attempt("edVerify", UP), MSG.USERAUTH_FAILURE);
    logged(/without user verification for certificate "id-edVerify"/);
    assert.equal(await attempt("edVerify", UP | UV), MSG.USERAUTH_SUCCESS);
  });

  test("a certificate that does not verify (a flipped byte of the CA's signature) is refused", async () => {
    const c = certs.ed;
    const bad = new Uint8Array(c.blob);
    bad[bad.length - 5] ^= 1;
    certs.edBad = { ...c, blob: bad };
    assert.equal(await attempt("edBad", UP), MSG.USERAUTH_FAILURE);
    logged(/the CA's signature on certificate "id-ed" does not verify/);
  });
});
