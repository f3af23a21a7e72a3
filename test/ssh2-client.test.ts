// The npm ssh2 client (1.17, pure JS) against the node host over real TCP, offering only
// curve25519-sha256 / ssh-ed25519 / chacha20-poly1305@openssh.com, so every connection that works
// proves that suite. Host key verification, public key and password login, exit status, a pty
// shell, and concurrent channels on one connection.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { connect, exec, fingerprintOfBlob, record, shell, type Client } from "./helpers/ssh2.js";

const PASSWORD = "ssh2 test password";

describe("ssh2 (npm) client", () => {
  let srv: TestServer;
  let privateKey = "";
  const open = new Set<Client>();

  /** Connects with the client key and a verifier pinned to the server's fingerprint. */
  async function keyConnection(): Promise<Client> {
    const conn = await connect({
      port: srv.port,
      privateKey,
      hostVerifier: (blob: Buffer) => fingerprintOfBlob(blob) === srv.server.fingerprint,
    });
    open.add(conn);
    return conn;
  }

  before(async () => {
    srv = await startTestServer({ password: PASSWORD });
    privateKey = readFileSync(srv.clientKey, "utf8");
  });
  after(async () => {
    for (const c of open) c.destroy();
    await srv?.close();
  });

  test("hostVerifier sees the server's ed25519 host key; exec echo with a private key", async () => {
    const seen: string[] = [];
    const conn = await connect({
      port: srv.port,
      privateKey,
      hostVerifier: (blob: Buffer) => {
        seen.push(fingerprintOfBlob(blob));
        return fingerprintOfBlob(blob) === srv.server.fingerprint;
      },
    });
    open.add(conn);
    assert.deepEqual(seen, [srv.server.fingerprint]);
    const r = await exec(conn, "echo hello from ssh2");
    assert.equal(r.stdout.toString(), "hello from ssh2\n");
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    conn.end();
    assert.ok(
      srv.logs.some((l) => /kex curve25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com.*client SSH-2\.0-ssh2js/.test(l)),
      srv.logs.join("\n"),
    );
  });

  test("a host verifier that rejects the key stops the connection", async () => {
    await assert.rejects(
      connect({ port: srv.port, privateKey, hostVerifier: (blob: Buffer) => fingerprintOfBlob(blob) === "SHA256:not-this-one" }),
      /verification failed|Host denied/i,
    );
  });

  test("unknown command: exit code 127 and a message on stderr", async () => {
    const conn = await keyConnection();
    const r = await exec(conn, "frobnicate now");
    assert.equal(r.code, 127);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /frobnicate: command not found/);
    conn.end();
  });

  test("password login", async () => {
    const conn = await connect({
      port: srv.port,
      password: PASSWORD,
      hostVerifier: (blob: Buffer) => fingerprintOfBlob(blob) === srv.server.fingerprint,
    });
    open.add(conn);
    const r = await exec(conn, "echo by password");
    assert.equal(r.stdout.toString(), "by password\n");
    assert.equal(r.code, 0);
    conn.end();
    assert.ok(srv.logs.some((l) => /logged in with password/.test(l)), srv.logs.join("\n"));
  });

  test("wrong password is refused", async () => {
    await assert.rejects(connect({ port: srv.port, password: "wrong" }), /authentication methods failed/i);
  });

  test("shell with a pty runs echo and exit", async () => {
    const conn = await keyConnection();
    const ch = await shell(conn, "xterm");
    const out = record(ch);
    let exitCode: number | null = null;
    ch.on("exit", (c: number | null) => (exitCode = c));
    const closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`shell did not close after exit; output: ${JSON.stringify(out.text())}`)), 10_000);
      ch.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    closed.catch(() => {}); // awaited below; keeps an early timeout from being an unhandled rejection
    await out.wait((t) => t.includes("esp> "));
    ch.write("echo x\r");
    // The pty echoes the typed line, then the command prints "x" on a line of its own.
    await out.wait((t) => /echo x\r\nx\r\nesp> /.test(t));
    ch.write("exit\r");
    await closed;
    assert.equal(exitCode, 0);
    conn.end();
  });

  test("4 concurrent exec channels on one connection", async () => {
    const conn = await keyConnection();
    const results = await Promise.all([1, 2, 3, 4].map((n) => exec(conn, n % 2 ? `echo channel ${n}` : "cat", n % 2 ? undefined : `input ${n}\n`.repeat(1000))));
    results.forEach((r, i) => {
      const n = i + 1;
      assert.equal(r.code, 0, `channel ${n}: ${r.stderr}`);
      assert.equal(r.stdout.toString(), n % 2 ? `channel ${n}\n` : `input ${n}\n`.repeat(1000));
    });
    // One more round on the same connection: channel numbers were released and reused.
    const again = await exec(conn, "echo again");
    assert.equal(again.stdout.toString(), "again\n");
    conn.end();
  });
});
