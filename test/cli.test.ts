// The real command line (`node --import tsx main.ts`) as a child process: start-up announcements,
// the generated password, the persisted host key, restart with the same data dir, SIGTERM with a
// session open, and a bad --listen.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, exec, record, shell, type Client } from "./helpers/ssh2.js";
import { ensureTool, run, tempDir } from "./helpers/tools.js";
import { Procs, collect, waitExit } from "./helpers/procs.js";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const START_MS = 20_000;

ensureTool("ssh-keygen", "openssh-client");

interface Started {
  child: ChildProcess;
  port: number;
  fingerprint: string;
  /** stdout so far (the announcements). */
  stdout(): string;
  stderr(): string;
}

describe("CLI (main.ts)", () => {
  const procs = new Procs();
  const data = tempDir("essh-cli-");
  const clients = new Set<Client>();
  let first: Started;
  let password = "";

  /** Starts main.ts on an ephemeral port with the data dir, and waits for its announcements. */
  async function startCli(): Promise<Started> {
    const child = procs.spawn(process.execPath, ["--import", "tsx", "main.ts", "--listen", "127.0.0.1:0", "--data", data.path], { cwd: ROOT });
    const out = collect(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no announcements within ${START_MS} ms; stdout: ${out.stdout()} stderr: ${out.stderr()}`)), START_MS);
      const check = () => {
        if (/host key SHA256:\S+/.test(out.stdout().toString())) {
          clearTimeout(timer);
          child.stdout!.off("data", check);
          resolve();
        }
      };
      child.stdout!.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`main.ts exited (${code}) before listening; stderr: ${out.stderr()}`));
      });
    });
    const text = out.stdout().toString();
    const listen = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(text);
    const key = /^host key (SHA256:[A-Za-z0-9+/]{43}) \(ED25519\)$/m.exec(text);
    assert.ok(listen, `no "listening on" line in: ${text}`);
    assert.ok(key, `no "host key" line in: ${text}`);
    const port = Number(listen[1]);
    assert.ok(port > 0 && port < 65536);
    return { child, port, fingerprint: key[1], stdout: () => out.stdout().toString(), stderr: out.stderr };
  }

  async function login(port: number, pw: string): Promise<Client> {
    const conn = await connect({ port, password: pw });
    clients.add(conn);
    return conn;
  }

  before(async () => {
    first = await startCli();
  });
  after(() => {
    for (const c of clients) c.destroy();
    procs.killAll();
    data.cleanup();
  });

  test("first start: announces port and host key, generates a password once, and it works", async () => {
    const lines = first.stdout().split("\n").filter((l) => l.includes("generated a password"));
    assert.equal(lines.length, 1, first.stdout());
    const m = /\(shown once\): (\S+)$/.exec(lines[0]);
    assert.ok(m, lines[0]);
    password = m[1];
    assert.ok(password.length >= 16, `generated password too short: ${password}`);
    const conn = await login(first.port, password);
    const r = await exec(conn, "info");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^esp-ssh-console \d+\.\d+\.\d+$/m);
    // The node host's clock is the system's, always set.
    assert.match(r.stdout.toString(), /^clock: set \(system\) 20\d\d-\d\d-\d\d \d\d:\d\d UTC$/m);
    const shown = /^host key: (SHA256:\S+) \(ED25519\)$/m.exec(r.stdout.toString());
    assert.ok(shown, r.stdout.toString());
    assert.equal(shown[1], first.fingerprint);
    conn.end();
    await assert.rejects(connect({ port: first.port, password: password + "x" }), /authentication methods failed/i);
  });

  test("host key files (Ed25519, ECDSA P-256, RSA 3072): mode 0600, and ssh-keygen -lf gives the announced fingerprints", async () => {
    for (const [name, bits, label] of [["ed25519", 256, "ED25519"], ["ecdsa", 256, "ECDSA"], ["rsa", 3072, "RSA"]] as const) {
      const file = join(data.path, `ssh_host_${name}_key`);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const announced = new RegExp(`^host key (SHA256:\\S+) \\(${label}\\)$`, "m").exec(first.stdout());
      assert.ok(announced, first.stdout());
      const r = await run("ssh-keygen", ["-lf", file], { timeoutMs: 10_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.toString(), new RegExp(`^${bits} ${announced[1].replace(/[+/]/g, "\\$&")} .*\\(${label}\\)\\n$`));
      if (label === "ED25519") assert.equal(announced[1], first.fingerprint);
    }
  });

  test("SIGTERM with an open shell session: the client is disconnected and the process exits 0", async () => {
    const conn = await login(first.port, password);
    const ch = await shell(conn, "xterm");
    const out = record(ch);
    await out.wait((t) => t.includes("sim> "));
    const connClosed = new Promise<void>((resolve) => conn.once("close", () => resolve()));
    const chClosed = new Promise<void>((resolve) => ch.once("close", () => resolve()));
    const exited = waitExit(first.child, 10_000, "main.ts after SIGTERM");
    assert.ok(first.child.kill("SIGTERM"));
    const e = await exited;
    assert.equal(e.signal, null, first.stderr());
    assert.equal(e.code, 0, first.stderr());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([connClosed, chClosed]),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("ssh2 client not closed after the server stopped")), 5000))),
    ]).finally(() => clearTimeout(timer));
    assert.match(first.stderr(), /SIGTERM: closing sessions/);
    assert.match(first.stderr(), /disconnect \(by application\): server shutting down/);
  });

  test("restart with the same data dir: same host key, no new password, old password still works", async () => {
    assert.ok(password, "needs the first test's password");
    const second = await startCli();
    try {
      assert.equal(second.fingerprint, first.fingerprint);
      assert.doesNotMatch(second.stdout(), /generated a password/);
      const conn = await login(second.port, password);
      const r = await exec(conn, "echo again");
      assert.equal(r.stdout.toString(), "again\n");
      conn.end();
    } finally {
      const exited = waitExit(second.child, 10_000, "second main.ts after SIGTERM");
      second.child.kill("SIGTERM");
      const e = await exited;
      assert.equal(e.code, 0, second.stderr());
    }
  });

  test("--listen with a bad value: exit code 2 with a message, nothing created", async () => {
    const empty = tempDir("essh-cli-bad-");
    try {
      const dir = join(empty.path, "data");
      const child = procs.spawn(process.execPath, ["--import", "tsx", "main.ts", "--listen", "nowhere:notaport", "--data", dir], { cwd: ROOT });
      const out = collect(child);
      const e = await waitExit(child, START_MS, "main.ts --listen nowhere:notaport");
      assert.equal(e.code, 2, `stdout: ${out.stdout()} stderr: ${out.stderr()}`);
      assert.match(out.stderr(), /bad --listen "nowhere:notaport"/);
      // A usage error must not generate (and print, "once") a password nor a host key.
      assert.doesNotMatch(out.stdout().toString(), /generated a password/);
      assert.throws(() => statSync(dir), /ENOENT/);
    } finally {
      empty.cleanup();
    }
  });
});
