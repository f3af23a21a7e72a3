// Who may do what (issue [3/5]) in the QEMU firmware, with OpenSSH 9.2: keys added at run time with
// ssh-copy-id (its default `exec sh -c` path and `-s`, SFTP to .ssh/authorized_keys) and `keys add`,
// kept in the flash store across a reboot; authorized_keys options and certificates made with
// ssh-keygen -s at test time, checked by the firmware (its clock is the virt machine's goldfish RTC,
// so certificate validity is checked against the real time).
//
// Two boots of one data directory (DATA/flash.img): everything is set up and checked in the first;
// the second (QEMU stopped and started again: a power cycle) shows what the flash store kept.
//
// The source address: QEMU's user network forwards 127.0.0.1:PORT to the guest from its gateway,
// so every connection reaches the firmware from 10.0.2.2; from= patterns are written for that.
// Because every client is then one source, refused keys are tried before the admin key on the same
// connection (ssh -i refused -i admin): the connection logs in as the admin (its audit line names the
// admin key's fingerprint), the refusal is in the log with its reason, and no failed connection adds
// to the source's penalty (three failed logins in a row would lock every client out for a while,
// as OpenSSH's PerSourcePenalties would).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { ReadStream } from "node:tty";
import { join } from "node:path";
import { buildSshFirmware } from "../hosts/qemu/build.js";
import { bootSshServer, type Boot } from "../hosts/qemu/run.js";
import { decodeOpenSshPrivateKey } from "../modules/ssh/keys.js";
import { MSG } from "../modules/ssh/messages.js";
import { loggedIn, readUntil, startShell, tcpClient } from "./helpers/client.js";
import { Procs, collect, waitExit } from "./helpers/procs.js";
import { UP, skEcdsa, skEd25519, type SkKey } from "./helpers/sk.js";
import { ensureTool, keyring, freePort, opensshOptions, run, tempDir, waitForOutput } from "./helpers/tools.js";

const TARGET = "console@127.0.0.1";
const EXEC_MS = 30_000;
/** The address the firmware sees every forwarded connection come from (QEMU user network's gateway). */
const GUEST_SEES = "10.0.2.2";

ensureTool("ssh", "openssh-client");
ensureTool("ssh-copy-id", "openssh-client");
ensureTool("ssh-agent", "openssh-client");

/** Resolves once `needle` is in what `got()` returns (checked as `stream` delivers data); bounded. */
function waitForBytes(stream: NodeJS.ReadableStream, got: () => Buffer, needle: Buffer, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (got().indexOf(needle) < 0) return;
      clearTimeout(timer);
      stream.off("data", check);
      resolve();
    };
    const timer = setTimeout(() => {
      stream.off("data", check);
      reject(new Error(`${JSON.stringify(needle.toString("latin1"))} not at the UART within ${ms} ms; got ${JSON.stringify(got().toString("latin1").slice(-300))}`));
    }, ms);
    stream.on("data", check);
    check();
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("who may do what in the QEMU firmware: run-time keys, options, certificates", () => {
  const tmp = tempDir("essh-qemu-authz-");
  const procs = new Procs();
  const dir = tmp.path;
  const home = join(dir, "home");
  let port = 0;
  let qemu: (Boot & { uartPath?: string }) | null = null;
  let agentPid = 0;
  let agentSock = "";
  const logs: string[] = [];

  const { keys, keygen, pub, fingerprint } = keyring(dir);
  const ssh = (name: string, args: string[], input?: string) => run("ssh", ["-p", String(port), ...opensshOptions(keys[name], 20), TARGET, ...args], { input, timeoutMs: EXEC_MS });
  /** `name` first, then the admin key, on one connection (see the header). */
  const sshThenAdmin = (name: string, args: string[], user = "console") =>
    run("ssh", ["-p", String(port), ...opensshOptions(keys[name], 20), "-i", keys.admin, `${user}@127.0.0.1`, ...args], { timeoutMs: EXEC_MS });
  const log = () => qemu!.output();
  /** Waits (bounded) for a line in the firmware's log: it comes through QEMU's stdout, which may
   * trail the client's exit. */
  const logged = async (re: RegExp) => {
    await qemu!.waitFor(re, 10_000).catch(() => assert.fail(`no ${re} in the firmware's log:\n${log().slice(-2000)}`));
  };
  /** The last audit line's key fingerprint. */
  const lastLogin = () => {
    const all = [...log().matchAll(/login: user "[^"]*" key \S+ (SHA256:\S+)/g)];
    return all.length ? all[all.length - 1][1] : "";
  };
  /** Asserts that `name` was refused (the reason in the log, when given: a key the device does not
   * hold, a disabled one among them, is refused at the client's query, with no log line) and the
   * admin key logged in instead. */
  const refusedThenAdmin = async (name: string, reason: RegExp | null, user = "console") => {
    const logins = [...log().matchAll(/login: user "/g)].length;
    const r = await sshThenAdmin(name, ["echo", "in"], user);
    assert.equal(r.code, 0, r.stderr);
    await logged(new RegExp(`(?:[\\s\\S]*?login: user "){${logins + 1}}`));
    assert.equal(r.stdout.toString(), "in\n");
    assert.equal(lastLogin(), fingerprint(keys.admin + ".pub"), `the admin key, not ${name}, should have logged in:\n${log().slice(-1500)}`);
    if (reason) await logged(reason);
  };
  const copyId = (args: string[]) =>
    run("ssh-copy-id", [...args, "-p", String(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", TARGET], {
      timeoutMs: 90_000,
      env: { ...process.env, HOME: home, SSH_AUTH_SOCK: agentSock },
    });
  const bootIt = async () => {
    qemu = await bootSshServer({ listen: `127.0.0.1:${port}`, data: dir, uart: "pty" });
  };
  const stop = async () => {
    if (!qemu) return;
    qemu.child.kill("SIGTERM");
    logs.push((await qemu.done).output);
    qemu = null;
  };

  before(async () => {
    await buildSshFirmware({ log: () => {} });
    for (const k of ["admin", "spare", "unknown", "copied", "sftpCopied", "fromOk", "fromNot", "observe", "noPty", "badAdd", "ca"]) keygen(k);
    // The image's keys (loaded at boot, DIR/authorized_keys): the admin's, a spare one to disable,
    // and one whose unknown option makes it unusable.
    writeFileSync(join(dir, "authorized_keys"), [pub("admin"), pub("spare"), `frobnicate ${pub("unknown")}`].join("\n") + "\n");
    // ssh-copy-id's scratch folder is made under ~/.ssh; its install login uses the agent's key.
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    agentSock = join(dir, "agent.sock");
    const agent = execFileSync("ssh-agent", ["-s", "-a", agentSock], { encoding: "utf8", timeout: 10_000 });
    agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent)![1]);
    execFileSync("ssh-add", ["-q", keys.admin], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, timeout: 10_000 });
    port = await freePort();
    await bootIt();
  });

  after(async () => {
    procs.killAll();
    await stop();
    if (agentPid) process.kill(agentPid);
    const all = logs.join("\n");
    assert.doesNotMatch(all, /uncaught exception|exception in a|fatal|memory full/, `a firmware log shows an error:\n${all}`);
    tmp.cleanup();
  });

  test(`the firmware sees forwarded connections from ${GUEST_SEES}; the unknown option's key is unusable`, async () => {
    const r = await ssh("admin", ["echo", "in"]);
    assert.equal(r.code, 0, r.stderr);
    await logged(new RegExp(`login: user "console" key ssh-ed25519 ${escape(fingerprint(keys.admin + ".pub"))} from ${escape(GUEST_SEES)}; allowed: role admin`));
    await refusedThenAdmin("unknown", /authorized_keys line for this ssh-ed25519 key is unusable: unknown option "frobnicate"/);
  });

  test("ssh-copy-id (as it is: -i, -p) adds a key as the admin; the new key logs in; keys lists it", async () => {
    const r = await copyId(["-i", keys.copied]);
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    assert.match(r.stdout.toString() + r.stderr, /Number of key\(s\) added: 1/);
    await logged(/ssh-copy-id install by user "console": keys add/);
    const login = await ssh("copied", ["echo", "in"]);
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout.toString(), "in\n");
    const list = await ssh("admin", ["keys"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout.toString(), new RegExp(`^${escape(fingerprint(keys.copied + ".pub"))} ssh-ed25519 copied \\(added\\)$`, "m"));
    assert.match(list.stdout.toString(), new RegExp(`^${escape(fingerprint(keys.admin + ".pub"))} ssh-ed25519 admin \\(built-in\\)$`, "m"));
  });

  test("ssh-copy-id -s (SFTP: get .ssh/authorized_keys, put it back whole) adds a key", async () => {
    const r = await copyId(["-s", "-i", keys.sftpCopied]);
    assert.equal(r.code, 0, r.stderr + r.stdout.toString() + log().slice(-1500));
    assert.match(r.stdout.toString() + r.stderr, /Number of key\(s\) added: 1/);
    await logged(/sftp: \.ssh\/authorized_keys written by user "console": added SHA256:\S+ ssh-ed25519 sftpCopied/);
    const login = await ssh("sftpCopied", ["echo", "in"]);
    assert.equal(login.code, 0, login.stderr);
  });

  test("keys add takes option lines (from=, command=, no-pty) and refuses an unknown option, naming it", async () => {
    const lines = [`from="${GUEST_SEES}" ${pub("fromOk")}`, `from="!${GUEST_SEES},*" ${pub("fromNot")}`, `command="observe" ${pub("observe")}`, `no-pty ${pub("noPty")}`].join("\n") + "\n";
    const add = await ssh("admin", ["keys", "add"], lines);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout.toString().split("\n").filter((l) => l.startsWith("added ")).length, 4, add.stdout.toString());
    const bad = await ssh("admin", ["keys", "add"], `no-pty,frobnicate ${pub("badAdd")}\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown option "frobnicate"/);
    assert.doesNotMatch((await ssh("admin", ["keys"])).stdout.toString(), /badAdd/);
  });

  test(`from="${GUEST_SEES}" logs in; from="!${GUEST_SEES},*" is refused`, async () => {
    const ok = await ssh("fromOk", ["echo", "in"]);
    assert.equal(ok.code, 0, ok.stderr);
    await refusedThenAdmin("fromNot", new RegExp(`source address ${escape(GUEST_SEES)} does not match from="!${escape(GUEST_SEES)},\\*"`));
  });

  test('command="observe": the client asks for a shell and gets a read-only attach', async () => {
    const child = procs.spawn("ssh", ["-p", String(port), ...opensshOptions(keys.observe, 20), "-tt", "-e", "none", TARGET]);
    const out = collect(child);
    await waitForOutput(child, (t) => /read-only/.test(t), EXEC_MS).catch((e) => assert.fail(`${e}\n${out.stdout()}\n${out.stderr()}`));
    child.stdin!.write("\x1d.");
    await waitExit(child, EXEC_MS, "ssh observer");
    await logged(/forced command "observe" runs; the client asked for shell/);
  });

  test("no-pty: the pty request is refused, the key works without one", async () => {
    const r = await run("ssh", ["-p", String(port), ...opensshOptions(keys.noPty, 20), "-tt", TARGET, "echo", "in"], { timeoutMs: EXEC_MS });
    assert.match(r.stderr, /PTY allocation request failed/);
    await logged(/pty refused/);
    const plain = await ssh("noPty", ["echo", "in"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.toString(), "in\n");
  });

  /** A certificate of a new key, made with ssh-keygen -s. */
  const certify = (name: string, args: string[]) => {
    keygen(name);
    execFileSync("ssh-keygen", ["-q", "-s", keys.ca, "-I", `id-${name}`, ...args, keys[name] + ".pub"], { timeout: 30_000 });
  };

  test("certificates (ssh-keygen -s at test time, a cert-authority line added with keys add): valid, expired, wrong principal", async () => {
    const add = await ssh("admin", ["keys", "add"], `cert-authority ${pub("ca")}\n`);
    assert.equal(add.code, 0, add.stderr);
    certify("certValid", ["-n", "console", "-V", "-5m:+1h"]);
    certify("certExpired", ["-n", "console", "-V", "-2h:-1h"]);
    certify("certWrong", ["-n", "plc", "-V", "-5m:+1h"]);
    const r = await ssh("certValid", ["echo", "in"]);
    assert.equal(r.code, 0, r.stderr + log().slice(-1500));
    await logged(/login: user "console" key ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, certificate "id-certValid"/);
    await refusedThenAdmin("certExpired", /certificate "id-certExpired" expired at/);
    await refusedThenAdmin("certWrong", /certificate "id-certWrong" is not for user "console"/);
  });

  test("certificates: not yet valid, signed by a CA that is not a cert-authority line, force-command, source-address", async () => {
    keygen("caOther");
    certify("certFuture", ["-n", "console", "-V", "+1h:+2h"]);
    keygen("certUntrusted");
    execFileSync("ssh-keygen", ["-q", "-s", keys.caOther, "-I", "id-certUntrusted", "-n", "console", "-V", "-5m:+1h", keys.certUntrusted + ".pub"], { timeout: 30_000 });
    certify("certForce", ["-n", "console", "-V", "-5m:+1h", "-O", "force-command=echo forced"]);
    certify("certSrcOk", ["-n", "console", "-V", "-5m:+1h", "-O", `source-address=${GUEST_SEES}/32`]);
    certify("certSrcNot", ["-n", "console", "-V", "-5m:+1h", "-O", "source-address=192.168.0.0/16,10.0.3.0/24"]);
    await refusedThenAdmin("certFuture", /certificate "id-certFuture" is not yet valid \(valid from /);
    await refusedThenAdmin("certUntrusted", new RegExp(`the certificate's CA \\(${escape(fingerprint(keys.caOther + ".pub"))}\\) is not a cert-authority of this device`));
    // The client asks for another command, and for a shell: the certificate's command runs.
    const forced = await ssh("certForce", ["info"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout.toString(), "forced\n");
    await logged(/login: user "console" key ssh-ed25519-cert-v01@openssh\.com SHA256:\S+, certificate "id-certForce"[^\n]*forced command "echo forced"/);
    await logged(/forced command "echo forced" runs; the client asked for exec "info"/);
    const shell = await run("ssh", ["-p", String(port), ...opensshOptions(keys.certForce, 20), "-T", TARGET], { input: "", timeoutMs: EXEC_MS });
    assert.equal(shell.code, 0, shell.stderr);
    assert.equal(shell.stdout.toString(), "forced\n");
    await logged(/forced command "echo forced" runs; the client asked for shell/);
    const src = await ssh("certSrcOk", ["echo", "in"]);
    assert.equal(src.code, 0, src.stderr + log().slice(-1500));
    await refusedThenAdmin("certSrcNot", new RegExp(`certificate "id-certSrcNot": source address ${escape(GUEST_SEES)} is not in source-address "192\\.168\\.0\\.0/16,10\\.0\\.3\\.0/24"`));
  });

  test('expiry-time="..." (keys add): a time in the past is refused, one in the future logs in', async () => {
    keygen("expPast");
    keygen("expFuture");
    const add = await ssh("admin", ["keys", "add"], `expiry-time="20240102" ${pub("expPast")}\nexpiry-time="209912312359" ${pub("expFuture")}\n`);
    assert.equal(add.code, 0, add.stderr);
    const ok = await ssh("expFuture", ["echo", "in"]);
    assert.equal(ok.code, 0, ok.stderr);
    await refusedThenAdmin("expPast", /the key expired \(expiry-time 2024-01-02T00:00:00\.000Z\)/);
  });

  test("security key certificates (sk-ssh-ed25519, sk-ecdsa-sha2-nistp256; signatures made in the test): an untouched signature is refused, a touched one logs in", async () => {
    for (const [name, k] of [["skEd", skEd25519()], ["skEc", skEcdsa()]] as [string, SkKey][]) {
      const file = join(dir, name);
      writeFileSync(file + ".pub", `${k.type} ${Buffer.from(k.blob).toString("base64")} ${name}\n`);
      execFileSync("ssh-keygen", ["-q", "-s", keys.ca, "-I", `id-${name}`, "-n", "console", "-V", "-5m:+1h", file + ".pub"], { timeout: 30_000 });
      const [type, b64] = readFileSync(file + "-cert.pub", "utf8").split(" ");
      const blob = new Uint8Array(Buffer.from(b64, "base64"));
      // Both attempts on one connection: the refused one then earns the source no penalty.
      const { client, socket } = await tcpClient(port);
      try {
        await client.handshake();
        await client.requestUserauth();
        assert.equal(await client.authSigned("console", type, blob, (data) => k.sign(data, 0, 1)), MSG.USERAUTH_FAILURE, name);
        assert.equal(await client.authSigned("console", type, blob, (data) => k.sign(data, UP, 2)), MSG.USERAUTH_SUCCESS, name);
      } finally {
        socket.destroy();
      }
      await logged(new RegExp(`security key signature without user presence \\(touch\\) for certificate "id-${name}"`));
      await logged(new RegExp(`login: user "console" key ${escape(type)} SHA256:\\S+, certificate "id-${name}"`));
    }
  });

  test("an observer cannot change the UART: its typed bytes, Ctrl-] b and :, break requests, stty and SERIAL_BAUD are refused; a read-write session beside it reaches the UART", async () => {
    keygen("obsRole");
    const add = await ssh("admin", ["keys", "add"], `environment="SERIAL_ROLE=observer" ${pub("obsRole")}\n`);
    assert.equal(add.code, 0, add.stderr);
    const seedOf = (name: string) => decodeOpenSshPrivateKey(readFileSync(keys[name], "utf8")).seed;
    const line = /^uart0: [^\n]*, 115200 8N1, /m;
    assert.match((await ssh("admin", ["stty"])).stdout.toString(), line);
    const fd = openSync(qemu!.uartPath!, "r+");
    const device = new ReadStream(fd);
    device.setRawMode(true);
    const typed: Buffer[] = [];
    device.on("data", (d: Buffer) => typed.push(d));
    const atDevice = () => Buffer.concat(typed);
    const sockets: Socket[] = [];
    /** A pty shell (`name`'s key) on the UART, once its banner says how it is attached. */
    const shell = async (name: string, banner: RegExp) => {
      const { client, socket } = await loggedIn(port, seedOf(name));
      sockets.push(socket);
      const ch = await startShell(client, { pty: true });
      await readUntil(client, ch.remote, (o) => banner.test(o.toString("latin1")), 20_000);
      const send = (b: Buffer) => client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(b));
      const until = (text: string) => readUntil(client, ch.remote, (o) => o.includes(text), 20_000).then((r) => assert.ok(r.stdout.includes(text), `${name}: no ${text} in ${r.stdout.toString("latin1")}`));
      /** A break request (want reply): true when the server says it was sent. */
      const breakRequest = async () => {
        client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("break").boolean(true).uint32(300));
        for (;;) {
          const p = await client.next(20_000);
          if (p[0] === MSG.CHANNEL_SUCCESS || p[0] === MSG.CHANNEL_FAILURE) return p[0] === MSG.CHANNEL_SUCCESS;
        }
      };
      return { send, until, breakRequest };
    };
    try {
      const rw = await shell("admin", /uart0: 115200 8N1; Ctrl-\] \? for help\]/);
      // QEMU drops what the guest sends to the pty until it notices a reader (about a second):
      // type a probe (bounded) until it arrives.
      const probe = Buffer.from("probe.");
      let seen = false;
      for (let i = 0; i < 40 && !seen; i++) {
        rw.send(probe);
        seen = await waitForBytes(device, atDevice, probe, 500).then(() => true, () => false);
      }
      assert.ok(seen, "nothing the read-write session typed reached the UART");
      for (const name of ["obsRole", "observe"]) {
        const o = await shell(name, /uart0: 115200 8N1, read-only; Ctrl-\] \? for help\]/);
        o.send(Buffer.concat([Buffer.from(`<<typed by ${name}>>\r`), Buffer.from([0x1d, 0x1d]), Buffer.from([0x1d, 0x62])]));
        await o.until("[read-only session: no break]");
        o.send(Buffer.concat([Buffer.from([0x1d, 0x3a]), Buffer.from("9600 7E1\r")]));
        await o.until("[read-only session]");
        assert.equal(await o.breakRequest(), false, `${name}: a break request must be refused`);
      }
      assert.equal(await rw.breakRequest(), true, "the read-write session's break request");
      rw.send(Buffer.from([0x1d, 0x62]));
      await rw.until("[break 500 ms]");
      // Sent after the observers' bytes were handled (their replies came back): had any reached
      // the UART, it would be there before this.
      const marker = Buffer.from("<<typed by the read-write session>>");
      rw.send(marker);
      await waitForBytes(device, atDevice, marker, 20_000).catch((e) => assert.fail(`${e}`));
      const got = atDevice().toString("latin1");
      assert.doesNotMatch(got, /typed by obsRole|typed by observe|\x1d/, `observer bytes reached the UART: ${JSON.stringify(got)}`);
    } finally {
      for (const s of sockets) s.destroy();
      device.destroy();
      try {
        closeSync(fd);
      } catch {
        // closed by destroy()
      }
    }
    const stty = await ssh("obsRole", ["stty", "9600"]);
    assert.equal(stty.code, 1);
    assert.match(stty.stderr, /stty: this login may only observe \(role observer\); line settings unchanged/);
    const env = await run("ssh", ["-p", String(port), ...opensshOptions(keys.obsRole, 20), "-o", "SetEnv=SERIAL_BAUD=9600", "-T", TARGET], { input: "", timeoutMs: EXEC_MS });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /an observer cannot change line settings \(SERIAL_BAUD\/SERIAL_FORMAT\)/);
    assert.match((await ssh("admin", ["stty"])).stdout.toString(), line, "the line settings are unchanged");
  });

  test("a built-in key cannot be removed, only disabled; a disabled key is refused", async () => {
    const fp = fingerprint(keys.spare + ".pub");
    const ok = await ssh("spare", ["echo", "in"]);
    assert.equal(ok.code, 0, ok.stderr);
    const rm = await ssh("admin", ["keys", "remove", fp]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout.toString(), /disabled SHA256:\S+ \(built into the image: it cannot be removed; keys enable takes it back\)/);
    assert.match((await ssh("admin", ["keys"])).stdout.toString(), new RegExp(`^${escape(fp)} ssh-ed25519 spare \\(built-in, disabled\\)$`, "m"));
    await refusedThenAdmin("spare", null);
  });

  test("after a reboot (power cycle) the added keys, options and the disabled mark are still there", async () => {
    await stop();
    await bootIt();
    for (const name of ["copied", "sftpCopied", "fromOk", "certValid"]) {
      const r = await ssh(name, ["echo", "in"]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    }
    await refusedThenAdmin("fromNot", /does not match from=/);
    await refusedThenAdmin("spare", null);
    const list = (await ssh("admin", ["keys"])).stdout.toString();
    assert.match(list, /ssh-ed25519 spare \(built-in, disabled\)/);
    assert.match(list, new RegExp(`^${escape(fingerprint(keys.copied + ".pub"))} ssh-ed25519 copied \\(added\\)$`, "m"));
    const enable = await ssh("admin", ["keys", "enable", fingerprint(keys.spare + ".pub")]);
    assert.equal(enable.code, 0, enable.stderr);
    const back = await ssh("spare", ["echo", "in"]);
    assert.equal(back.code, 0, back.stderr);
  });
});
