// Who may do what (issue [3/5]) in the QEMU firmware, part two: what needs a network where clients
// come from more than one address, and a guest without a wall clock. One boot.
//
// QEMU's user network forwards every connection from its gateway (10.0.2.2: one source, see
// qemu-authz.test.ts), so this boot puts the guest's virtio-net on a tap interface in a network
// namespace of its own (test/helpers/netns.ts; root, /dev/net/tun, iproute2): the tap holds
// 10.0.2.3 (source A) and 10.0.2.4 (source B), the guest keeps its static 10.0.2.15, and OpenSSH
// clients run inside the namespace bound to A or B (ssh -b). Nothing touches the host's network.
//
// The virt RTC starts at 1970-01-01 (QEMU -rtc base=): the firmware's wall clock is not set, so
// certificates and expiry-time= keys are refused with a log line saying so, plain keys log in.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSshFirmware } from "../hosts/qemu/build.js";
import { bootSshServer, type Boot } from "../hosts/qemu/run.js";
import { GUEST_IP, guestNet, type GuestNet } from "./helpers/netns.js";
import { ensureTool, keyring, opensshOptions, run, tempDir } from "./helpers/tools.js";

const A = "10.0.2.3";
const B = "10.0.2.4";
const EXEC_MS = 30_000;
/** Failed logins from source A (the figure). */
const FAILED_LOGINS = 50;

ensureTool("ssh", "openssh-client");

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("who may do what in the QEMU firmware: two client sources (a tap in a network namespace), no wall clock", () => {
  const tmp = tempDir("essh-qemu-authz2-");
  const dir = tmp.path;
  let net: GuestNet | null = null;
  let qemu: Boot | null = null;
  let output = "";

  const { keys, keygen, pub, fingerprint } = keyring(dir);
  /** ssh from `source` with the keys `names` (tried in that order on one connection). */
  const ssh = (source: string, names: string[], args: string[]) => {
    const ids = names.slice(1).flatMap((n) => ["-i", keys[n]]);
    const [cmd, argv] = net!.wrap("ssh", ["-b", source, "-p", "22", ...opensshOptions(keys[names[0]], 20), ...ids, `console@${GUEST_IP}`, ...args]);
    return run(cmd, argv, { timeoutMs: EXEC_MS });
  };
  const log = () => qemu!.output();
  const logged = async (re: RegExp) => {
    await qemu!.waitFor(re, 10_000).catch(() => assert.fail(`no ${re} in the firmware's log:\n${log().slice(-2000)}`));
  };
  const count = (re: RegExp) => [...log().matchAll(re)].length;

  before(async () => {
    await buildSshFirmware({ log: () => {} });
    for (const k of ["admin", "wrong", "expiring", "ca", "certified"]) keygen(k);
    execFileSync("ssh-keygen", ["-q", "-s", keys.ca, "-I", "id-certified", "-n", "console", "-V", "-5m:+1h", keys.certified + ".pub"], { timeout: 30_000 });
    writeFileSync(join(dir, "authorized_keys"), [pub("admin"), `expiry-time="20991231" ${pub("expiring")}`, `cert-authority ${pub("ca")}`].join("\n") + "\n");
    net = guestNet(`essh-authz2-${process.pid}`, [A, B]);
    qemu = await bootSshServer({ tap: net.tap, netns: net.netns, rtcBase: "1970-01-01", data: dir });
  });

  after(async () => {
    if (qemu) {
      qemu.child.kill("SIGTERM");
      output = (await qemu.done).output;
    }
    net?.cleanup();
    assert.doesNotMatch(output, /uncaught exception|exception in a|fatal|memory full/, `the firmware's log shows an error:\n${output}`);
    tmp.cleanup();
  });

  test(`the firmware sees each source's own address (${A}, ${B}) on the tap`, async () => {
    for (const source of [A, B]) {
      const r = await ssh(source, ["admin"], ["echo", "in"]);
      assert.equal(r.code, 0, r.stderr + log().slice(-1500));
      assert.equal(r.stdout.toString(), "in\n");
      await logged(new RegExp(`login: user "console" key ssh-ed25519 ${escape(fingerprint(keys.admin + ".pub"))} from ${escape(source)}; allowed: role admin`));
    }
  });

  test("without a wall clock (RTC at 1970): a certificate and an expiry-time= key are refused, saying why; a plain key logs in", async () => {
    // Each refused key first, then the admin key, on one connection: no penalty for B.
    for (const [name, why] of [
      ["certified", /certificate "id-certified" cannot be checked: this host's clock is not set/],
      ["expiring", /the key has an expiry-time and this host's clock is not set/],
    ] as [string, RegExp][]) {
      const logins = count(/login: user "/g);
      const r = await ssh(B, [name, "admin"], ["echo", "in"]);
      assert.equal(r.code, 0, r.stderr);
      await logged(why);
      await logged(new RegExp(`(?:[\\s\\S]*?login: user "){${logins + 1}}`));
      const last = [...log().matchAll(/login: user "[^"]*" key \S+ (SHA256:\S+)/g)].pop()!;
      assert.equal(last[1], fingerprint(keys.admin + ".pub"), `${name} must not have logged in`);
    }
  });

  test(`penalties: ${FAILED_LOGINS} failed logins from ${A} get it refused at accept; ${B} logs in all along`, async (t) => {
    let denied = 0;
    let refused = 0;
    let goodLogins = 0;
    // Two at a time (the image's unauthenticated connections: BOARD_LIMITS.maxUnauthenticated):
    // each failed login adds 5 s, and a source is refused from 15 s pending, so failures must come
    // faster than one per 1.25 s of wall time to lock A out; pairs halve the time per failure.
    for (let i = 0; i < FAILED_LOGINS; i += 2) {
      for (const r of await Promise.all([ssh(A, ["wrong"], ["echo", "in"]), ssh(A, ["wrong"], ["echo", "in"])])) {
        assert.notEqual(r.code, 0, "a wrong key must not log in");
        if (/Permission denied \(publickey/.test(r.stderr)) denied++;
        else {
          // Closed before the version exchange: refused at accept.
          assert.match(r.stderr, /kex_exchange_identification|Connection closed by|Connection reset by/, r.stderr);
          refused++;
        }
      }
      // While A is being refused, B is served.
      if (refused > 0 && i % 10 === 0) {
        const good = await ssh(B, ["admin"], ["echo", "in"]);
        assert.equal(good.code, 0, `${B} while ${A} is penalized: ${good.stderr}\n${log().slice(-1500)}`);
        assert.equal(good.stdout.toString(), "in\n");
        goodLogins++;
      }
    }
    t.diagnostic(`${FAILED_LOGINS} attempts from ${A}: ${denied} reached authentication and failed, ${refused} refused at accept; ${goodLogins} logins from ${B} in between`);
    assert.ok(refused > 0, `no connection from ${A} was refused at accept (${denied} failed logins)`);
    assert.ok(goodLogins > 0);
    await logged(new RegExp(`${escape(A)}:\\d+: refused: source ${escape(A)} is penalized for failed logins \\(\\d+ s left\\)`));
    assert.equal(count(new RegExp(`refused: source ${escape(B)} is penalized`, "g")), 0, `${B} was penalized`);
    const good = await ssh(B, ["admin"], ["echo", "in"]);
    assert.equal(good.code, 0, good.stderr);
  });
});
