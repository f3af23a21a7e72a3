// Who may do what (issue [3/5]): authorized_keys options enforced as sshd does, against OpenSSH 9.2
// on the node host (127.0.0.2 is the second source address), with unit tests of the option parser
// and the address patterns.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { authoriseKeyOptions, matchAddressList, parseExpiryTime, parseKeyOptions, sourceAddress } from "../modules/ssh/access.js";
import { FakeUart } from "./helpers/fakeuart.js";
import { Procs, collect, waitExit } from "./helpers/procs.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { ensureTool, opensshOptions, run } from "./helpers/tools.js";

ensureTool("ssh", "openssh-client");
ensureTool("sftp", "openssh-client");

const RUN_MS = 30_000;
const TARGET = "console@127.0.0.1";

/** An ed25519 key pair made at test time; returns the private key file. */
export function keygen(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file], { timeout: 60_000 });
  return file;
}
const pub = (key: string) => readFileSync(key + ".pub", "utf8").trim();

describe("authorized_keys options: parsing and address patterns", () => {
  test("known options parse; unknown ones are named", () => {
    const o = parseKeyOptions(['from="10.0.0.0/8,!10.1.0.0/16"', 'command="observe"', "restrict", "pty", 'environment="SERIAL_BAUD=9600"', 'expiry-time="20300101"', "no-touch-required"]);
    assert.ok(!("error" in o));
    assert.equal(o.command, "observe");
    assert.equal(o.pty, true);
    assert.deepEqual(o.environment, [["SERIAL_BAUD", "9600"]]);
    assert.equal(o.expiresAt, Date.UTC(2030, 0, 1) / 1000);
    assert.equal(o.noTouchRequired, true);
    assert.equal((parseKeyOptions(["restrict"]) as { pty: boolean }).pty, false);
    assert.equal((parseKeyOptions(["no-pty"]) as { pty: boolean }).pty, false);
    assert.match((parseKeyOptions(["frobnicate"]) as { error: string }).error, /unknown option "frobnicate"/);
    assert.match((parseKeyOptions(['frob="x"']) as { error: string }).error, /unknown option "frob"/);
    assert.match((parseKeyOptions(['environment="PATH=/bin"']) as { error: string }).error, /only SERIAL_BAUD/);
    assert.match((parseKeyOptions(['principals="a"']) as { error: string }).error, /without "cert-authority"/);
    assert.match((parseKeyOptions(["command=observe"]) as { error: string }).error, /missing quotes/);
    assert.match((parseKeyOptions(['command="a"', 'command="b"']) as { error: string }).error, /more than one/);
    assert.match((parseKeyOptions(['from="10.0.0.1/8"']) as { error: string }).error, /invalid pattern/);
    assert.deepEqual((parseKeyOptions(['command="echo \\"a, b\\""']) as { command: string }).command, 'echo "a, b"');
    for (const ok of ["no-port-forwarding", "no-agent-forwarding", "no-X11-forwarding", "no-user-rc", "verify-required", 'permitopen="h:1"', "cert-authority"]) {
      assert.ok(!("error" in parseKeyOptions([ok])), ok);
    }
  });

  test("from= patterns: wildcards, CIDR (v4 and v6), negation", () => {
    assert.equal(matchAddressList("127.0.0.1", "127.0.0.1"), true);
    assert.equal(matchAddressList("127.0.0.1", "127.0.0.2"), false);
    assert.equal(matchAddressList("127.0.0.1", "127.0.0.*"), true);
    assert.equal(matchAddressList("127.0.0.12", "127.0.0.?"), false);
    assert.equal(matchAddressList("10.2.3.4", "10.0.0.0/8"), true);
    assert.equal(matchAddressList("11.2.3.4", "10.0.0.0/8"), false);
    assert.equal(matchAddressList("10.1.3.4", "!10.1.0.0/16,10.0.0.0/8"), false);
    assert.equal(matchAddressList("10.2.3.4", "!10.1.0.0/16,10.0.0.0/8"), true);
    assert.equal(matchAddressList("2001:db8::5", "2001:db8::/32"), true);
    assert.equal(matchAddressList("2001:db9::5", "2001:db8::/32"), false);
    assert.equal(matchAddressList("::1", "::1"), true);
    assert.equal(sourceAddress("127.0.0.1:5000"), "127.0.0.1");
    assert.equal(sourceAddress("::ffff:127.0.0.2:5000"), "127.0.0.2");
    assert.equal(sourceAddress("::1:5000"), "::1");
  });

  test("expiry-time: formats, and a host without a set clock refuses the key", () => {
    assert.equal(parseExpiryTime("20250102"), Date.UTC(2025, 0, 2) / 1000);
    assert.equal(parseExpiryTime("202501020304Z"), Date.UTC(2025, 0, 2, 3, 4) / 1000);
    assert.equal(parseExpiryTime("20250102030405"), Date.UTC(2025, 0, 2, 3, 4, 5) / 1000);
    assert.equal(parseExpiryTime("2025-01-02"), null);
    const o = parseKeyOptions(['expiry-time="20300101"']);
    assert.ok(!("error" in o));
    assert.equal(authoriseKeyOptions(o, "127.0.0.1", Date.UTC(2029, 0, 1) / 1000), null);
    assert.match(authoriseKeyOptions(o, "127.0.0.1", Date.UTC(2031, 0, 1) / 1000)!, /expired/);
    assert.match(authoriseKeyOptions(o, "127.0.0.1", null)!, /clock is not set/);
  });
});

describe("authorized_keys options against OpenSSH 9.2", () => {
  let srv: TestServer;
  let uart: FakeUart;
  const k: Record<string, string> = {};
  const procs = new Procs();
  const ssh = (key: string, args: string[], from = "127.0.0.1") =>
    run("ssh", ["-p", String(srv.port), ...opensshOptions(key), "-b", from, ...args], { timeoutMs: RUN_MS });

  before(async () => {
    uart = new FakeUart("router");
    srv = await startTestServer({ ports: [uart] });
    const lines: string[] = [];
    const add = (name: string, options: string) => {
      k[name] = keygen(srv.dir, name);
      lines.push(`${options} ${pub(k[name])}`);
    };
    add("fromTwo", 'from="127.0.0.2"');
    add("notOne", 'from="!127.0.0.1,127.0.0.0/8"');
    add("observe", 'command="observe"');
    add("noPty", "no-pty");
    add("expired", 'expiry-time="20200101"');
    add("later", 'restrict,pty,expiry-time="20991231"');
    add("unknown", "no-pty,frobnicate");
    add("badEnv", 'environment="PATH=/tmp"');
    add("env", 'environment="SERIAL_BAUD=9600",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc');
    writeFileSync(join(srv.dir, "authorized_keys"), lines.join("\n") + "\n");
  });
  after(async () => {
    procs.killAll();
    uart?.close();
    await srv?.close();
  });

  const refused = (r: { code: number | null; stderr: string }) => {
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied/);
  };
  const logged = (re: RegExp) => assert.ok(srv.logs.some((l) => re.test(l)), `no log line ${re}:\n${srv.logs.slice(-8).join("\n")}`);

  test('from="127.0.0.2": refused from 127.0.0.1, allowed from 127.0.0.2', async () => {
    refused(await ssh(k.fromTwo, [TARGET, "echo in"]));
    logged(/source address 127\.0\.0\.1 does not match from="127\.0\.0\.2"/);
    const r = await ssh(k.fromTwo, [TARGET, "echo in"], "127.0.0.2");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "in\n");
  });

  test('from="!127.0.0.1,127.0.0.0/8": the negation wins for 127.0.0.1, the CIDR admits 127.0.0.2', async () => {
    refused(await ssh(k.notOne, [TARGET, "echo in"]));
    const r = await ssh(k.notOne, [TARGET, "echo in"], "127.0.0.2");
    assert.equal(r.code, 0, r.stderr);
  });

  test('command="observe": the client asks for a shell and gets a read-only attach; its typing goes nowhere', async () => {
    const child = procs.spawn("ssh", ["-p", String(srv.port), ...opensshOptions(k.observe), "-tt", "-e", "none", TARGET]);
    const out = collect(child);
    const deadline = Date.now() + RUN_MS;
    while (!out.stdout().toString().includes("read-only") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out.stdout().toString(), /\[router: .*read-only/);
    child.stdin!.write("reboot\r");
    uart.emit("device line\r\n");
    while (!out.stdout().toString().includes("device line") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out.stdout().toString(), /device line/);
    assert.equal(uart.receivedBytes, 0);
    child.stdin!.write("\x1d.");
    await waitExit(child, RUN_MS, "ssh observer");
    logged(/forced command "observe" runs; the client asked for shell/);
  });

  test('command="observe": an exec request is replaced too, and logged', async () => {
    const r = await ssh(k.observe, [TARGET, "rm", "everything"]);
    logged(/forced command "observe" runs; the client asked for exec "rm everything"/);
    assert.equal(uart.receivedBytes, 0, r.stderr);
  });

  test("no-pty: the pty request is refused (ssh -tt then gives up), the key works without one", async () => {
    const r = await ssh(k.noPty, ["-tt", TARGET, "echo in"]);
    assert.match(r.stderr, /PTY allocation request failed/);
    assert.equal(r.stdout.toString(), "");
    logged(/pty refused/);
    const plain = await ssh(k.noPty, [TARGET, "echo in"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.toString(), "in\n");
  });

  test("expiry-time in the past: refused, with the reason logged; in the future (restrict,pty): allowed with a pty", async () => {
    refused(await ssh(k.expired, [TARGET, "echo in"]));
    logged(/the key expired \(expiry-time 2020-01-01T00:00:00\.000Z\)/);
    const r = await ssh(k.later, ["-tt", TARGET, "echo in"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /PTY allocation request failed/);
  });

  test("an unknown option makes the key unusable, and the log names it", async () => {
    refused(await ssh(k.unknown, [TARGET, "echo in"]));
    logged(/unusable: unknown option "frobnicate"/);
  });

  test("environment=: a name other than SERIAL_* refuses the key; SERIAL_BAUD and the no-* options are accepted", async () => {
    refused(await ssh(k.badEnv, [TARGET, "echo in"]));
    logged(/only SERIAL_BAUD, SERIAL_FORMAT, SERIAL_ROLE can be set here, not "PATH"/);
    const r = await ssh(k.env, [TARGET, "echo in"]);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("roles per UART: an observer beside a read-write session", () => {
  let srv: TestServer;
  let uart: FakeUart;
  const procs = new Procs();
  let observer = "";
  let operator = "";
  const ssh = (key: string, args: string[]) => run("ssh", ["-p", String(srv.port), ...opensshOptions(key), ...args], { timeoutMs: RUN_MS });
  const until = async (what: string, cond: () => boolean) => {
    const deadline = Date.now() + RUN_MS;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    uart = new FakeUart("router");
    srv = await startTestServer({ ports: [uart] });
    observer = keygen(srv.dir, "observer");
    operator = keygen(srv.dir, "operator");
    writeFileSync(join(srv.dir, "authorized_keys"), [
      pub(srv.clientKey),
      `environment="SERIAL_ROLE=observer" ${pub(observer)}`,
      `environment="SERIAL_ROLE=operator" ${pub(operator)}`,
    ].join("\n") + "\n");
  });
  after(async () => {
    procs.killAll();
    uart?.close();
    await srv?.close();
  });

  test("typed bytes, Ctrl-] b, Ctrl-] : and ~B from the observer never reach the UART; the writer's bytes do", async () => {
    const obs = procs.spawn("ssh", ["-p", String(srv.port), ...opensshOptions(observer), "-tt", "router@127.0.0.1"]);
    const obsOut = collect(obs);
    await until("the observer's banner", () => obsOut.stdout().toString().includes("read-only"));
    const rw = procs.spawn("ssh", ["-p", String(srv.port), ...opensshOptions(srv.clientKey), "-tt", "-e", "none", "router@127.0.0.1"]);
    const rwOut = collect(rw);
    await until("the writer's banner", () => rwOut.stdout().toString().includes("Ctrl-]"));
    obs.stdin!.write("typed by the observer\r");
    obs.stdin!.write("\x1db");
    obs.stdin!.write("\x1d:9600 7E1\r");
    obs.stdin!.write("\r~B");
    await until("the observer's refusals", () => /no break/.test(obsOut.stdout().toString()) && /read-only session/.test(obsOut.stdout().toString()));
    rw.stdin!.write("typed by the writer\r");
    await uart.until(() => uart.all().toString().includes("typed by the writer"), RUN_MS, "the writer's bytes");
    assert.equal(uart.all().toString(), "typed by the writer\r");
    assert.deepEqual(uart.breaks, []);
    assert.equal(uart.line.baud, 115200);
    obs.stdin!.write("\x1d.");
    rw.stdin!.write("\x1d.");
    await waitExit(obs, RUN_MS, "observer");
    await waitExit(rw, RUN_MS, "writer");
  });

  test("an observer: stty with settings, attach, SERIAL_BAUD, file commands and sftp refused; stty and info shown", async () => {
    const stty = await ssh(observer, ["router@127.0.0.1", "stty 9600"]);
    assert.equal(stty.code, 1);
    assert.match(stty.stderr, /may only observe/);
    assert.equal(uart.line.baud, 115200);
    const show = await ssh(observer, ["router@127.0.0.1", "stty"]);
    assert.equal(show.code, 0, show.stderr);
    const attach = await ssh(observer, ["router@127.0.0.1", "attach"]);
    assert.match(attach.stderr, /may only observe/);
    const env = await ssh(observer, ["-o", "SetEnv=SERIAL_BAUD=9600", "router@127.0.0.1", "observe"]);
    assert.match(env.stderr, /observer cannot change line settings/);
    const ls = await ssh(observer, ["router@127.0.0.1", "ls"]);
    assert.equal(ls.code, 126);
    assert.match(ls.stderr, /not allowed for this login \(role observer; needs admin\)/);
    const sftp = await run("sftp", ["-P", String(srv.port), ...opensshOptions(observer), "-b", "-", "router@127.0.0.1"], { input: "ls\n", timeoutMs: RUN_MS });
    assert.notEqual(sftp.code, 0);
  });

  test("an operator may set the line but not touch the flash; the owner's key may", async () => {
    const stty = await ssh(operator, ["router@127.0.0.1", "stty 9600"]);
    assert.equal(stty.code, 0, stty.stderr);
    assert.equal(uart.line.baud, 9600);
    assert.equal((await ssh(operator, ["router@127.0.0.1", "df"])).code, 126);
    const df = await ssh(srv.clientKey, ["router@127.0.0.1", "df"]);
    assert.equal(df.code, 0, df.stderr);
  });
});

describe("OpenSSH user certificates (ssh-keygen -s at test time)", () => {
  let srv: TestServer;
  let unset: TestServer;
  const uarts = [new FakeUart("router"), new FakeUart("plc")];
  const certs: Record<string, string> = {};
  let ca = "", rsaCa = "", otherCa = "";

  /** A user key of `type` with a certificate from `caKey` (ssh-keygen -s caKey -I id ...). */
  const certify = (dir: string, name: string, caKey: string, args: string[], type = "ed25519") => {
    const file = join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", name, "-f", file], { timeout: 60_000 });
    execFileSync("ssh-keygen", ["-q", "-s", caKey, "-I", `id-${name}`, ...args, file + ".pub"], { timeout: 60_000 });
    certs[name] = file;
  };
  const ssh = (name: string, target: string, command: string, from = "127.0.0.1", server = srv) =>
    run("ssh", ["-p", String(server.port), ...opensshOptions(certs[name]), "-b", from, target, command], { timeoutMs: RUN_MS });
  const logged = (re: RegExp, server = srv) => assert.ok(server.logs.some((l) => re.test(l)), `no log line ${re}:\n${server.logs.slice(-8).join("\n")}`);

  before(async () => {
    srv = await startTestServer({ ports: uarts });
    const d = srv.dir;
    ca = keygen(d, "ca");
    otherCa = keygen(d, "other_ca");
    rsaCa = join(d, "rsa_ca");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaCa], { timeout: 60_000 });
    writeFileSync(join(d, "authorized_keys"), [pub(srv.clientKey), `cert-authority ${pub(ca)}`, `cert-authority,principals="techs" ${pub(rsaCa)}`].join("\n") + "\n");
    certify(d, "valid", ca, ["-n", "router", "-V", "+1h"]);
    certify(d, "ecdsa", ca, ["-n", "router", "-V", "+1h"], "ecdsa");
    certify(d, "rsa", rsaCa, ["-n", "techs", "-V", "+1h"], "rsa");
    certify(d, "expired", ca, ["-n", "router", "-V", "-2h:-1h"]);
    certify(d, "future", ca, ["-n", "router", "-V", "+1h:+2h"]);
    certify(d, "wrongPrincipal", ca, ["-n", "plc", "-V", "+1h"]);
    certify(d, "forced", ca, ["-n", "router", "-V", "+1h", "-O", "force-command=observe"]);
    certify(d, "source", ca, ["-n", "router", "-V", "+1h", "-O", "source-address=127.0.0.2/32"]);
    certify(d, "untrusted", otherCa, ["-n", "router", "-V", "+1h"]);
    certify(d, "noPty", ca, ["-n", "router", "-V", "+1h", "-O", "clear"]);
    unset = await startTestServer({ ports: [new FakeUart("router")], wallClock: () => null });
    writeFileSync(join(unset.dir, "authorized_keys"), `cert-authority ${pub(ca)}\n`);
  });
  after(async () => {
    for (const u of uarts) u.close();
    await srv?.close();
    await unset?.close();
  });

  test("a valid ed25519 certificate for router logs in as router; the log names the certificate", async () => {
    const r = await ssh("valid", "router@127.0.0.1", "echo in");
    assert.equal(r.code, 0, r.stderr + srv.logs.slice(-5).join("\n"));
    assert.equal(r.stdout.toString(), "in\n");
    logged(/logged in with publickey \(ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, certificate "id-valid" serial 0 from CA SHA256:/);
  });

  test("ECDSA and RSA (rsa-sha2-512-cert-v01, CA line with principals=) certificates log in", async () => {
    const e = await ssh("ecdsa", "router@127.0.0.1", "echo in");
    assert.equal(e.code, 0, e.stderr);
    const r = await ssh("rsa", "plc@127.0.0.1", "echo in");
    assert.equal(r.code, 0, r.stderr);
    logged(/publickey \(rsa-sha2-512-cert-v01@openssh\.com /);
  });

  test("the certificate reaches only its principals' UARTs, as an operator: no other UART, no flash", async () => {
    const other = await ssh("valid", "router@127.0.0.1", "observe plc");
    assert.match(other.stderr, /plc: not allowed for this login/);
    assert.equal((await ssh("valid", "router@127.0.0.1", "ls")).code, 126);
    refusedCert(await ssh("valid", "plc@127.0.0.1", "echo in"));
  });

  const refusedCert = (r: { code: number | null; stderr: string }) => {
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied/);
  };

  test("expired, not yet valid, wrong principal, untrusted CA: refused, each with its reason", async () => {
    refusedCert(await ssh("expired", "router@127.0.0.1", "echo in"));
    logged(/certificate "id-expired" expired at/);
    refusedCert(await ssh("future", "router@127.0.0.1", "echo in"));
    logged(/certificate "id-future" is not yet valid/);
    refusedCert(await ssh("wrongPrincipal", "router@127.0.0.1", "echo in"));
    logged(/certificate "id-wrongPrincipal" is not for user "router"/);
    refusedCert(await ssh("untrusted", "router@127.0.0.1", "echo in"));
    logged(/is not a cert-authority of this device/);
  });

  test("force-command=observe replaces the client's command; source-address admits only 127.0.0.2", async () => {
    const r = await ssh("forced", "router@127.0.0.1", "stty 9600");
    logged(/forced command "observe" runs; the client asked for exec "stty 9600"/);
    assert.equal(uarts[0].line.baud, 115200, r.stderr);
    refusedCert(await ssh("source", "router@127.0.0.1", "echo in"));
    logged(/source address 127\.0\.0\.1 is not in source-address "127\.0\.0\.2\/32"/);
    const ok = await ssh("source", "router@127.0.0.1", "echo in", "127.0.0.2");
    assert.equal(ok.code, 0, ok.stderr);
  });

  test("a certificate without permit-pty gets no pty", async () => {
    const r = await run("ssh", ["-p", String(srv.port), ...opensshOptions(certs.noPty), "-tt", "router@127.0.0.1", "echo in"], { timeoutMs: RUN_MS });
    assert.match(r.stderr, /PTY allocation request failed/);
  });

  test("a host whose clock is not set refuses certificates and says why", async () => {
    refusedCert(await ssh("valid", "router@127.0.0.1", "echo in", "127.0.0.1", unset));
    logged(/cannot be checked: this host's clock is not set/, unset);
  });
});

describe("keys at run time: the keys command and ssh-copy-id", () => {
  let srv: TestServer;
  const PASSWORD = "copy-id-test-password";

  before(async () => {
    ensureTool("ssh-copy-id", "openssh-client");
    srv = await startTestServer({ password: PASSWORD });
  });
  after(async () => {
    await srv?.close();
  });
  const ssh = (key: string, command: string, input?: string) =>
    run("ssh", ["-p", String(srv.port), ...opensshOptions(key), TARGET, command], { timeoutMs: RUN_MS, input });

  test("keys: list with fingerprints, add from input, remove by fingerprint; only for admins", async () => {
    const fresh = keygen(srv.dir, "fresh");
    const fp = execFileSync("ssh-keygen", ["-lf", fresh + ".pub"], { encoding: "utf8" }).split(" ")[1];
    const before = await ssh(srv.clientKey, "keys");
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout.toString(), /^SHA256:\S+ ssh-ed25519 test-client \(added\)$/m);
    refusedLogin(await ssh(fresh, "echo in"));
    const add = await ssh(srv.clientKey, "keys add", `environment="SERIAL_ROLE=operator" ${pub(fresh)}\n`);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout.toString(), new RegExp(`added ${fp.replace(/[+/]/g, "\\$&")} ssh-ed25519 fresh`));
    const inNow = await ssh(fresh, "echo in");
    assert.equal(inNow.code, 0, inNow.stderr);
    // The new key is an operator: it may not manage keys.
    const denied = await ssh(fresh, "keys");
    assert.equal(denied.code, 126);
    const rm = await ssh(srv.clientKey, `keys remove ${fp}`);
    assert.equal(rm.code, 0, rm.stderr);
    refusedLogin(await ssh(fresh, "echo in"));
    assert.match((await ssh(srv.clientKey, "keys remove SHA256:nope")).stderr, /no key SHA256:nope/);
  });

  const refusedLogin = (r: { code: number | null; stderr: string }) => {
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied/);
  };

  test("ssh-copy-id (its default path: the exec sh -c install command) adds a key, which then logs in", async () => {
    const home = join(srv.dir, "home");
    execFileSync("mkdir", ["-p", join(home, ".ssh")]);
    const askpass = join(srv.dir, "askpass.sh");
    writeFileSync(askpass, `#!/bin/sh\necho '${PASSWORD}'\n`, { mode: 0o700 });
    const copied = keygen(srv.dir, "copied");
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" };
    delete env.SSH_AUTH_SOCK;
    // -o only to keep the test's known_hosts out of the way; the key is passed with -i.
    const r = await run("ssh-copy-id", ["-i", copied, "-p", String(srv.port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no", TARGET], { timeoutMs: 60_000, env });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString() + srv.logs.slice(-6).join("\n"));
    assert.match(r.stdout.toString() + r.stderr, /Number of key\(s\) added: 1/);
    assert.ok(srv.logs.some((l) => /ssh-copy-id install by user "console": keys add/.test(l)));
    const login = await ssh(copied, "echo in");
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout.toString(), "in\n");
  });
});

describe("ssh-copy-id -s: SFTP's .ssh/authorized_keys is the run-time keys", () => {
  let srv: TestServer;
  const PASSWORD = "copy-id-s-test-password";
  before(async () => {
    ensureTool("ssh-copy-id", "openssh-client");
    srv = await startTestServer({ password: PASSWORD });
  });
  after(async () => {
    await srv?.close();
  });
  const sftp = (key: string, batch: string) =>
    run("sftp", ["-P", String(srv.port), ...opensshOptions(key), "-b", "-", TARGET], { timeoutMs: RUN_MS, input: batch });
  const ssh = (key: string, command: string, input?: string) =>
    run("ssh", ["-p", String(srv.port), ...opensshOptions(key), TARGET, command], { timeoutMs: RUN_MS, input });

  test("ssh-copy-id -s (get the file, append, put it back whole, chmod) adds the key, which then logs in", async () => {
    const home = join(srv.dir, "home-s");
    execFileSync("mkdir", ["-p", join(home, ".ssh")]);
    const askpass = join(srv.dir, "askpass-s.sh");
    writeFileSync(askpass, `#!/bin/sh\necho '${PASSWORD}'\n`, { mode: 0o700 });
    const copied = keygen(srv.dir, "copied-s");
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" };
    delete env.SSH_AUTH_SOCK;
    const r = await run("ssh-copy-id", ["-s", "-i", copied, "-p", String(srv.port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no", TARGET], { timeoutMs: 60_000, env });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString() + srv.logs.slice(-6).join("\n"));
    assert.match(r.stdout.toString() + r.stderr, /Number of key\(s\) added: 1/);
    assert.ok(srv.logs.some((l) => /sftp: \.ssh\/authorized_keys written by user "console": added SHA256:\S+ ssh-ed25519 copied-s/.test(l)), srv.logs.slice(-6).join("\n"));
    const login = await ssh(copied, "echo in");
    assert.equal(login.code, 0, login.stderr);
    // The file on the host holds the client's key and the new one, once each.
    const text = readFileSync(join(srv.dir, "authorized_keys"), "utf8");
    assert.equal(text.split("\n").filter((l) => l.includes(pub(srv.clientKey).split(" ")[1])).length, 1, text);
    assert.equal(text.split("\n").filter((l) => l.includes(pub(copied).split(" ")[1])).length, 1, text);
  });

  test("sftp: the file reads back; a bad line changes nothing (the status says why); it cannot be removed; non-admins get no sftp", async () => {
    const local = join(srv.dir, "ak-local");
    const got = await sftp(srv.clientKey, `get .ssh/authorized_keys ${local}\nls -l .ssh\n`);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout.toString(), /authorized_keys/);
    const before = readFileSync(local, "utf8");
    assert.ok(before.includes(pub(srv.clientKey).split(" ")[1]), before);
    const bad = keygen(srv.dir, "bad-s");
    writeFileSync(local, before + `frobnicate ${pub(bad)}\n`);
    const put = await sftp(srv.clientKey, `put ${local} .ssh/authorized_keys\n`);
    assert.notEqual(put.code, 0);
    assert.match(put.stderr, /\.ssh\/authorized_keys not changed: SHA256:\S+ not added: unknown option "frobnicate"/);
    assert.equal(readFileSync(join(srv.dir, "authorized_keys"), "utf8").includes("frobnicate"), false);
    const rm = await sftp(srv.clientKey, "rm .ssh/authorized_keys\n");
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /holds the authorized keys: it cannot be removed/);
    // An operator (a key line capped with SERIAL_ROLE) does not get the sftp subsystem at all.
    const op = keygen(srv.dir, "operator-s");
    assert.equal((await ssh(srv.clientKey, "keys add", `environment="SERIAL_ROLE=operator" ${pub(op)}\n`)).code, 0);
    const denied = await sftp(op, `get .ssh/authorized_keys ${local}-op\n`);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /subsystem request failed|Connection closed/);
  });
});

describe("the keys file SFTP shows (unit)", () => {
  test("a whole new version: current lines skipped, new ones added, a changed line or a bad one changes nothing; admins only", async () => {
    const { RuntimeKeys, keysFileOf } = await import("../modules/console/keys.js");
    const { createNodeProvider } = await import("../hosts/node/crypto_node.js");
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "essh-keysfile-"));
    const [a, b, c] = ["a", "b", "c"].map((n) => pub(keygen(dir, n)));
    let stored = "";
    const logs: string[] = [];
    const keys = new RuntimeKeys(createNodeProvider(), a + "\n", { read: () => stored, write: (t) => (stored = t) }, (l) => logs.push(l));
    const file = keysFileOf(keys, (l) => logs.push(l));
    const admin = { access: { principals: null, environment: [] }, remote: "test", user: "console" } as never;
    const operator = { access: { principals: ["router"], environment: [] }, remote: "test", user: "router" } as never;
    assert.equal(file.read(admin), a + "\n");
    assert.equal(file.write(admin, file.read(admin) + b + "\n"), null);
    assert.equal(stored, b + "\n", "the built-in line is not copied into the added keys");
    // The same file again adds nothing; a known key with other options is refused, and so is the
    // whole version (c is not added either).
    assert.equal(file.write(admin, file.read(admin)), null);
    assert.equal(stored, b + "\n");
    assert.match(file.write(admin, file.read(admin) + `no-pty ${b}\n${c}\n`)!, /already there with other options: keys remove SHA256:\S+ first/);
    assert.match(file.write(admin, file.read(admin) + `frobnicate ${c}\n`)!, /not added: unknown option "frobnicate"/);
    assert.equal(stored, b + "\n");
    assert.equal(file.mayWrite(operator), "only an admin may change the authorized keys");
    assert.equal(file.write(operator, c + "\n"), "only an admin may change the authorized keys");
    assert.equal(file.mayWrite(admin), null);
    assert.equal(stored, b + "\n");
  });
});

describe("per-source penalties and the audit log", () => {
  test("the table stays bounded under 10,000 distinct sources; a penalized source is refused, others are not", async () => {
    const { SourcePenalties, MAX_PENALTY_SOURCES, PENALTY_AUTHFAIL_S, PENALTY_MIN_S } = await import("../modules/ssh/penalty.js");
    const p = new SourcePenalties();
    for (let i = 0; i < 10_000; i++) p.add(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, PENALTY_AUTHFAIL_S, 1000 + i);
    assert.ok(p.size <= MAX_PENALTY_SOURCES, String(p.size));
    const q = new SourcePenalties();
    for (let i = 0; i * PENALTY_AUTHFAIL_S < PENALTY_MIN_S; i++) q.add("192.0.2.1", PENALTY_AUTHFAIL_S, 0);
    assert.equal(q.refused("192.0.2.1", 0), true);
    assert.equal(q.refused("192.0.2.2", 0), false);
    assert.equal(q.refused("192.0.2.1", PENALTY_MIN_S * 1000 + 1), false);
  });

  test("PerSourcePenaltyExemptList: an exempt address or CIDR block earns no penalty and is never refused; others still are", async () => {
    const { SourcePenalties, PENALTY_AUTHFAIL_S } = await import("../modules/ssh/penalty.js");
    const p = new SourcePenalties(64, "10.0.0.0/8,127.0.0.2,!10.9.9.9,2001:db8::/32");
    for (let i = 0; i < 20; i++) for (const a of ["10.1.2.3", "127.0.0.2", "192.0.2.1", "10.9.9.9", "2001:db8::1"]) p.add(a, PENALTY_AUTHFAIL_S, 0);
    assert.equal(p.refused("10.1.2.3", 0), false);
    assert.equal(p.pending("10.1.2.3", 0), 0);
    assert.equal(p.refused("127.0.0.2", 0), false);
    assert.equal(p.refused("2001:db8::1", 0), false);
    assert.equal(p.refused("192.0.2.1", 0), true);
    assert.equal(p.refused("10.9.9.9", 0), true, "a negated entry is not exempt");
    assert.equal(p.size, 2);
    assert.equal(new SourcePenalties(64).exempted("127.0.0.1"), false, "default: nothing exempt");
    assert.throws(() => new SourcePenalties(64, "10.0.0.0/99"), /penalty exempt list/);
  });

  test("--penalty-exempt: 50 failed logins from an exempt 127.0.0.1, then a good login from it is not refused", async () => {
    const { parseArgs } = await import("../hosts/node/cli.js");
    const parsed = parseArgs(["--penalty-exempt", "127.0.0.1,10.0.0.0/8"]);
    assert.equal(parsed.penaltyExempt, "127.0.0.1,10.0.0.0/8");
    assert.throws(() => parseArgs(["--penalty-exempt", "1.2.3.4/40"]), /--penalty-exempt/);
    const srv = await startTestServer({ limits: { penaltySources: 64 }, penaltyExempt: parsed.penaltyExempt });
    try {
      const stranger = keygen(srv.dir, "stranger");
      for (let i = 0; i < 50; i++) {
        await run("ssh", ["-p", String(srv.port), ...opensshOptions(stranger), "-b", "127.0.0.1", TARGET, "echo in"], { timeoutMs: RUN_MS });
      }
      assert.ok(!srv.logs.some((l) => /penalized/.test(l)), srv.logs.filter((l) => /penalized/.test(l)).slice(0, 3).join("\n"));
      const good = await run("ssh", ["-p", String(srv.port), ...opensshOptions(srv.clientKey), "-b", "127.0.0.1", TARGET, "echo in"], { timeoutMs: RUN_MS });
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout.toString().trim(), "in");
    } finally {
      await srv.close();
    }
  });

  test("50 failed logins from 127.0.0.1 do not stop a good client from 127.0.0.2; the login is audited and shown by info", async () => {
    const srv = await startTestServer({ limits: { penaltySources: 64 } });
    try {
      const stranger = keygen(srv.dir, "stranger");
      for (let i = 0; i < 50; i++) {
        await run("ssh", ["-p", String(srv.port), ...opensshOptions(stranger), "-b", "127.0.0.1", TARGET, "echo in"], { timeoutMs: RUN_MS });
      }
      assert.ok(srv.logs.some((l) => /refused: source 127\.0\.0\.1 is penalized for failed logins/.test(l)), srv.logs.slice(-5).join("\n"));
      const good = await run("ssh", ["-p", String(srv.port), ...opensshOptions(srv.clientKey), "-b", "127.0.0.2", TARGET, "info"], { timeoutMs: RUN_MS });
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout.toString(), /last logins:\n .* login: user "console" key ssh-ed25519 SHA256:\S+ from 127\.0\.0\.2; allowed: role admin, every UART/);
      assert.ok(srv.logs.some((l) => /login: user "console" key ssh-ed25519 SHA256:\S+ from 127\.0\.0\.2; allowed: role admin/.test(l)));
      const blocked = await run("ssh", ["-p", String(srv.port), ...opensshOptions(srv.clientKey), "-b", "127.0.0.1", TARGET, "echo in"], { timeoutMs: RUN_MS });
      assert.equal(blocked.code, 255);
    } finally {
      await srv.close();
    }
  });
});
