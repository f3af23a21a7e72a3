// The provisioning state machine (modules/console/wifi.ts) on a fake radio and a fake clock: the
// timings (retries, the fallback access point, its linger), joins that fail each way, validation.
// test/esp32-sim-wifi.test.ts runs the same code on the simulated ESP32 with OpenSSH.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AP_LINGER_MS,
  WIFI_FALLBACK_MS,
  WIFI_JOIN_TIMEOUT_MS,
  WifiProvisioner,
  apPasswordFrom,
  apSsid,
  hostnameProblem,
  passphraseProblem,
  ssidProblem,
  type Network,
  type ScanResult,
  type StationState,
  type WifiRadio,
  type WifiStore,
} from "../modules/console/wifi.js";

class FakeRadio implements WifiRadio {
  readonly mac = "24:0a:c4:5e:a1:7c";
  state: StationState = { online: false, address: "", ssid: "", rssi: null };
  connects: { ssid: string; password: string; at: number }[] = [];
  disconnects = 0;
  ap: { ssid: string; password: string } | null = null;
  around: ScanResult[] = [];
  pendingScan: { found: (n: ScanResult) => void; done: (e: string | null) => void } | null = null;
  constructor(private readonly clock: { now: number }) {}
  station(): StationState {
    return this.state;
  }
  connect(ssid: string, password: string): void {
    this.connects.push({ ssid, password, at: this.clock.now });
  }
  disconnect(): void {
    this.disconnects++;
    this.state = { online: false, address: "", ssid: "", rssi: null };
  }
  startAccessPoint(ssid: string, password: string): string {
    this.ap = { ssid, password };
    return "192.168.4.1";
  }
  stopAccessPoint(): void {
    this.ap = null;
  }
  scan(found: (n: ScanResult) => void, done: (e: string | null) => void): void {
    this.pendingScan = { found, done };
  }
  finishScan(): void {
    const s = this.pendingScan!;
    this.pendingScan = null;
    for (const n of this.around) s.found(n);
    s.done(null);
  }
}

function setup(o: { builtIn?: Network | null; saved?: Network | null } = {}) {
  const clock = { now: 1000 };
  const radio = new FakeRadio(clock);
  const nvs: { network: Network | null; hostname: string | null } = { network: o.saved ?? null, hostname: null };
  const store: WifiStore = {
    loadNetwork: () => nvs.network,
    saveNetwork: (n) => (nvs.network = { ...n }),
    forgetNetwork: () => (nvs.network = null),
    loadHostname: () => nvs.hostname,
    saveHostname: (h) => (nvs.hostname = h),
  };
  const log: string[] = [];
  const wakes: number[] = [];
  const p = new WifiProvisioner({ radio, store, builtIn: o.builtIn ?? null, apPassword: "pw-12345678", hostname: "esp-ssh-console", log: (l) => log.push(l), now: () => clock.now, wake: (d) => wakes.push(d) });
  /** Advances the clock in 1 s ticks. */
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      clock.now += 1000;
      p.tick();
    }
  };
  const up = (ssid: string, address: string) => {
    radio.state = { online: true, address, ssid, rssi: -50 };
    p.stationUp(address);
  };
  const down = () => {
    radio.state = { online: false, address: "", ssid: "", rssi: null };
    p.stationDown();
  };
  return { clock, radio, nvs, log, wakes, p, run, up, down };
}

test("names and validation: the access point's name from the MAC, its password from the secret, SSIDs, passwords, hostnames", () => {
  assert.equal(apSsid("24:0a:c4:5e:a1:7c"), "esp-ssh-console-A17C");
  const sha = (d: Uint8Array) => new Uint8Array(createHash("sha256").update(d).digest());
  const a = apPasswordFrom(new Uint8Array(16).fill(1), sha);
  assert.match(a, /^[a-zA-Z0-9]{12}$/);
  assert.equal(apPasswordFrom(new Uint8Array(16).fill(1), sha), a);
  assert.notEqual(apPasswordFrom(new Uint8Array(16).fill(2), sha), a);
  assert.equal(ssidProblem("home"), null);
  assert.match(ssidProblem("")!, /empty/);
  assert.match(ssidProblem("x".repeat(33))!, /1 to 32 bytes; this one has 33/);
  assert.equal(passphraseProblem(""), null);
  assert.equal(passphraseProblem("12345678"), null);
  assert.match(passphraseProblem("short")!, /8 to 63/);
  assert.equal(passphraseProblem("a".repeat(64)), null);
  assert.match(passphraseProblem("g".repeat(64))!, /hex digits/);
  assert.equal(hostnameProblem("lab-console"), null);
  for (const bad of ["", "-x", "x-", "a.b", "a b", "x".repeat(64)]) assert.ok(hostnameProblem(bad), bad);
});

test("nothing configured: the access point opens at once and nothing is joined", () => {
  const t = setup();
  t.p.start();
  assert.deepEqual(t.radio.ap, { ssid: "esp-ssh-console-A17C", password: "pw-12345678" });
  assert.equal(t.radio.connects.length, 0);
  assert.ok(t.log.some((l) => l.includes('access point "esp-ssh-console-A17C" (WPA2, password pw-12345678) at 192.168.4.1: no network configured')));
  t.run(10 * 60_000);
  assert.equal(t.radio.connects.length, 0);
  assert.deepEqual(t.p.status()[0], "mode: ap");
});

test("a saved network that is not there: retries 1 s, 2 s, 4 s... apart; after WIFI_FALLBACK_MS the access point; when it comes back the access point closes AP_LINGER_MS later", () => {
  const t = setup({ saved: { ssid: "home", password: "home-secret" } });
  t.p.start();
  assert.deepEqual(t.radio.connects.map((c) => c.ssid), ["home"]);
  // Each attempt fails at once (no such network).
  const fail = () => t.p.stationDown();
  fail();
  let seen = 1;
  for (let i = 0; i < 8; i++) {
    t.run(1000);
    if (t.radio.connects.length > seen) {
      seen = t.radio.connects.length;
      fail();
    }
  }
  const gaps = t.radio.connects.slice(1).map((c, i) => c.at - t.radio.connects[i].at);
  assert.deepEqual(gaps.slice(0, 3), [1000, 2000, 4000]);
  assert.equal(t.radio.ap, null, "the access point opened too early");
  t.run(WIFI_FALLBACK_MS - 8000);
  if (t.radio.connects.length > seen) fail();
  assert.notEqual(t.radio.ap, null, "no access point after the fallback time");
  assert.ok(t.log.some((l) => /no network for 12\d s/.test(l)), t.log.join("\n"));
  // The station keeps trying beside the access point, at most a minute apart.
  const before = t.radio.connects.length;
  t.run(61_000);
  assert.ok(t.radio.connects.length > before);
  t.up("home", "192.168.1.42");
  assert.notEqual(t.radio.ap, null);
  assert.equal(t.p.status()[0], "mode: station+ap");
  t.run(AP_LINGER_MS - 2000);
  assert.notEqual(t.radio.ap, null);
  t.run(3000);
  assert.equal(t.radio.ap, null, "the access point outlived its linger");
  assert.equal(t.p.status()[0], "mode: station");
});

test("a built-in network that drops: retried from 1 s; the saved one is tried in turn", () => {
  const t = setup({ builtIn: { ssid: "office", password: "office-pass" }, saved: { ssid: "home", password: "home-secret" } });
  t.radio.state = { online: true, address: "10.1.1.5", ssid: "office", rssi: -60 };
  t.p.start();
  assert.equal(t.radio.connects.length, 0, "setup/network had joined already");
  t.down();
  assert.ok(t.log.includes('Wi-Fi: disconnected from "office"'));
  t.run(1000);
  assert.deepEqual(t.radio.connects.map((c) => c.ssid), ["office"]);
  t.p.stationDown();
  t.run(2000);
  assert.deepEqual(t.radio.connects.map((c) => c.ssid), ["office", "home"]);
  assert.ok(t.log.includes('Wi-Fi: reconnecting to "home"'));
});

test("wifi join: not in range; refused; silent; then joined and saved", () => {
  const t = setup();
  t.p.start();
  t.radio.around = [{ ssid: "home", rssi: -40, channel: 6, security: "wpa2_psk" }];
  const reports: [boolean, string][] = [];
  const report = (ok: boolean, m: string) => reports.push([ok, m]);
  t.p.joinNetwork({ ssid: "cafe", password: "whatever-1" }, report);
  t.radio.finishScan();
  assert.deepEqual(reports.pop(), [false, '"cafe" is not in range (a scan saw 1 network)']);
  assert.equal(t.radio.connects.length, 0);

  t.p.joinNetwork({ ssid: "home", password: "wrong-pass" }, report);
  t.radio.finishScan();
  assert.deepEqual(t.radio.connects.map((c) => c.password), ["wrong-pass"]);
  t.p.stationDown();
  assert.deepEqual(reports.pop(), [false, 'could not join "home": "home" refused the connection (wrong password?); the access point esp-ssh-console-A17C stays up at 192.168.4.1']);
  assert.notEqual(t.radio.ap, null);
  assert.equal(t.nvs.network, null);

  t.p.joinNetwork({ ssid: "home", password: "right-pass" }, report);
  t.radio.finishScan();
  t.run(WIFI_JOIN_TIMEOUT_MS);
  assert.deepEqual(reports.pop(), [false, 'could not join "home": no connection to "home" within 30 s; the access point esp-ssh-console-A17C stays up at 192.168.4.1']);

  t.p.joinNetwork({ ssid: "home", password: "right-pass" }, report);
  t.radio.finishScan();
  t.up("home", "192.168.1.42");
  assert.deepEqual(reports.pop(), [true, 'joined "home": address 192.168.1.42; ssh console@esp-ssh-console.local; the access point esp-ssh-console-A17C closes in 60 s']);
  assert.deepEqual(t.nvs.network, { ssid: "home", password: "right-pass" });
  assert.ok(!t.log.some((l) => l.includes("right-pass") || l.includes("wrong-pass")), "a password reached the log");
  t.run(AP_LINGER_MS + 1000);
  assert.equal(t.radio.ap, null);
  // A second join while one runs is refused.
  t.p.joinNetwork({ ssid: "home", password: "right-pass" }, report);
  t.p.joinNetwork({ ssid: "home", password: "right-pass" }, report);
  assert.deepEqual(reports.pop(), [false, 'a join of "home" is already running']);
});
