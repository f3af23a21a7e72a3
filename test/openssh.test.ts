// The OpenSSH client (ssh, 9.2 on Debian 12) against the node host over real TCP on 127.0.0.1:
// exec, exit status, the negotiated suite, keepalives, rekey both ways, connection multiplexing and
// an interactive pty shell. Password login is not tested here: OpenSSH will not take a password in
// batch mode (plink and ssh2 cover it).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, run, tempDir, waitForOutput } from "./helpers/tools.js";
import { Procs, collect, pollUntil, sha256, waitExit } from "./helpers/procs.js";

const TARGET = "console@127.0.0.1";
const EXEC_MS = 20_000;
const BULK_MS = 60_000;

ensureTool("ssh", "openssh-client");

/** sshArgs without "-o LogLevel=ERROR", so that -v output is shown. */
function verbose(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-o" && args[i + 1]?.startsWith("LogLevel=")) i++;
    else out.push(args[i]);
  }
  return ["-v", ...out];
}

describe("OpenSSH ssh client", () => {
  let srv: TestServer;
  const procs = new Procs();

  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    procs.killAll();
    await srv?.close();
  });

  test("exec echo prints its arguments and exits 0", async () => {
    const r = await run("ssh", [...srv.sshArgs, TARGET, "echo hello world"], { timeoutMs: EXEC_MS });
    assert.equal(r.stdout.toString(), "hello world\n", `stderr: ${r.stderr}`);
    assert.equal(r.code, 0, `stderr: ${r.stderr}`);
  });

  test("unknown command exits 127 with its message on stderr", async () => {
    const r = await run("ssh", [...srv.sshArgs, TARGET, "no-such-command x"], { timeoutMs: EXEC_MS });
    assert.equal(r.code, 127, `stderr: ${r.stderr}`);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /no-such-command: command not found/);
  });

  test("negotiates curve25519-sha256, ssh-ed25519 and chacha20-poly1305@openssh.com", async () => {
    const args = verbose(srv.sshArgs);
    const r = await run("ssh", [...args, TARGET, "echo suite"], { timeoutMs: EXEC_MS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "suite\n");
    assert.match(r.stderr, /debug1: kex: algorithm: curve25519-sha256\r?\n/);
    assert.match(r.stderr, /debug1: kex: host key algorithm: ssh-ed25519\r?\n/);
    assert.match(r.stderr, /debug1: kex: server->client cipher: chacha20-poly1305@openssh\.com MAC: <implicit> compression: none/);
    assert.match(r.stderr, /debug1: kex: client->server cipher: chacha20-poly1305@openssh\.com MAC: <implicit> compression: none/);
    // The server's own log line agrees.
    assert.ok(
      srv.logs.some((l) => /kex curve25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com/.test(l)),
      srv.logs.join("\n"),
    );
  });

  test("the packet crypto addon (node+openssl) carries each cipher family, 8 MiB through cat byte-exact", async () => {
    // The default provider is the addon over node's OpenSSL (hosts/node/crypto_native.ts): it must
    // have built and loaded here, not fallen back.
    const info = await run("ssh", [...srv.sshArgs, TARGET, "info"], { timeoutMs: EXEC_MS });
    assert.equal(info.code, 0, info.stderr.toString());
    assert.match(info.stdout.toString(), /^crypto: node\+openssl$/m);
    assert.ok(!srv.logs.some((l) => l.includes("native addon not available")), srv.logs.join("\n"));
    const data = randomBytes(8 << 20);
    const suites = [
      ["chacha20-poly1305@openssh.com"],
      ["aes128-gcm@openssh.com"],
      ["aes256-gcm@openssh.com"],
      ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
      ["aes256-ctr", "hmac-sha2-512-etm@openssh.com"],
    ];
    for (const [cipher, mac] of suites) {
      const r = await run("ssh", [...srv.sshArgs, "-o", `Ciphers=${cipher}`, ...(mac ? ["-o", `MACs=${mac}`] : []), TARGET, "cat"], { input: data, timeoutMs: BULK_MS });
      assert.equal(r.code, 0, `${cipher}: ${r.stderr.slice(-2000)}`);
      assert.equal(r.stdout.length, data.length, cipher);
      assert.equal(sha256(r.stdout), sha256(data), cipher);
    }
  });

  test("keepalives (ServerAliveInterval=1, CountMax=1) are answered over 3.5 s idle", async () => {
    const child = procs.spawn("ssh", [...srv.sshArgs, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=1", TARGET, "cat"]);
    const out = collect(child);
    const exited = waitExit(child, 20_000, "ssh cat (keepalive)");
    child.stdin!.write("still here\n");
    await waitForOutput(child, (t) => t.includes("still here\n"), 15_000);
    // The scenario: stay idle for 3.5 s (3 keepalive rounds), then end the input.
    await new Promise((r) => setTimeout(r, 3500));
    child.stdin!.end();
    const e = await exited;
    assert.equal(out.stdout().toString(), "still here\n", `stderr: ${out.stderr()}`);
    assert.doesNotMatch(out.stderr(), /Timeout, server .* not responding/);
    assert.equal(e.code, 0, `stderr: ${out.stderr()}`);
  });

  test("client-started rekey (RekeyLimit=256K): 4 MiB through cat, byte-exact", async () => {
    const data = randomBytes(4 << 20);
    const args = verbose(srv.sshArgs);
    const r = await run("ssh", [...args, "-o", "RekeyLimit=256K", TARGET, "cat"], { input: data, timeoutMs: BULK_MS });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha256(r.stdout), sha256(data));
    // OpenSSH logs every KEXINIT it sends; 8 MiB of traffic at 256K should rekey many times.
    const kexinits = (r.stderr.match(/SSH2_MSG_KEXINIT sent/g) ?? []).length;
    assert.ok(kexinits >= 4, `expected several client key exchanges, saw ${kexinits} KEXINIT sent`);
  });

  test("4 sessions through one ControlMaster connection", async () => {
    const tmp = tempDir("essh-mux-");
    const ctl = join(tmp.path, "ctl");
    let master: ReturnType<Procs["spawn"]> | null = null;
    try {
      const before = srv.logs.filter((l) => l.includes("logged in")).length;
      master = procs.spawn("ssh", [...srv.sshArgs, "-M", "-S", ctl, "-o", "ControlPersist=no", "-N", TARGET]);
      const masterOut = collect(master);
      await pollUntil(
        "control master ready",
        async () => {
          if (master!.exitCode !== null) throw new Error(`master exited ${master!.exitCode}: ${masterOut.stderr()}`);
          const r = await run("ssh", ["-S", ctl, "-O", "check", "-F", "/dev/null", TARGET], { timeoutMs: 5000 });
          return r.code === 0;
        },
        50,
        100,
      );
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) => run("ssh", [...srv.sshArgs, "-S", ctl, "-o", "ControlMaster=no", TARGET, `echo mux ${n}`], { timeoutMs: EXEC_MS })),
      );
      results.forEach((r, i) => {
        assert.equal(r.code, 0, `session ${i + 1}: ${r.stderr}`);
        assert.equal(r.stdout.toString(), `mux ${i + 1}\n`);
      });
      const logins = srv.logs.filter((l) => l.includes("logged in")).length - before;
      assert.equal(logins, 1, `expected one connection for the master, logs:\n${srv.logs.join("\n")}`);
      const exit = await run("ssh", ["-S", ctl, "-O", "exit", "-F", "/dev/null", TARGET], { timeoutMs: 5000 });
      assert.equal(exit.code, 0, exit.stderr);
      // With -N there is no session whose status it could return: the master exits 255 ("Exit
      // status -1") after -O exit. What matters is that it ends and tells the server so.
      await waitExit(master, 10_000, "ssh control master");
      assert.ok(
        srv.logs.some((l) => /client disconnected \(11\): disconnected by user/.test(l)),
        `server did not see the master disconnect:\n${srv.logs.join("\n")}`,
      );
    } finally {
      if (master && master.exitCode === null) master.kill("SIGKILL");
      tmp.cleanup();
    }
  });

  test("interactive shell with a pty (ssh -tt)", async () => {
    const child = procs.spawn("ssh", [...srv.sshArgs, "-tt", TARGET]);
    const out = collect(child);
    const exited = waitExit(child, 20_000, "ssh -tt");
    await waitForOutput(child, (t) => t.includes("esp> "), 15_000);
    child.stdin!.write("echo pty-ok\r");
    await waitForOutput(child, (t) => /pty-ok\r\n/.test(t), 10_000);
    child.stdin!.write("exit\r");
    const e = await exited;
    child.stdin!.end();
    const text = out.stdout().toString();
    assert.match(text, /esp> /);
    assert.match(text, /pty-ok/);
    assert.equal(e.code, 0, `stdout: ${JSON.stringify(text)} stderr: ${out.stderr()}`);
  });
});

describe("OpenSSH with a server that rekeys", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ limits: { rekeyBytes: 256 * 1024 } });
  });
  after(async () => {
    await srv?.close();
  });

  test("server-started rekey (rekeyBytes=256K): 4 MiB through cat, byte-exact", async () => {
    const data = randomBytes(4 << 20);
    const args = verbose(srv.sshArgs);
    const r = await run("ssh", [...args, TARGET, "cat"], { input: data, timeoutMs: BULK_MS });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha256(r.stdout), sha256(data));
    // The server logs only the first key exchange; the client's -v log shows each KEXINIT it
    // received. The client's own RekeyLimit default is far above 8 MiB, so re-exchanges were the server's.
    const received = (r.stderr.match(/SSH2_MSG_KEXINIT received/g) ?? []).length;
    assert.ok(received >= 4, `expected the server to start several key exchanges, client saw ${received} KEXINIT received`);
  });
});
