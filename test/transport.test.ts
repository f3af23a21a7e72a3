// The whole protocol in-process, with the client's bytes fed to the server one byte at a time and at
// random split points: version, kex, auth, channel, exec, exit-status, close.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { DeviceApps } from "../modules/console/apps.js";
import { MSG } from "../modules/ssh/messages.js";
import { HostKeySet } from "../modules/ssh/hostkeys.js";
import { ed25519PublicKeyBlob } from "../modules/ssh/keys.js";
import { DEFAULT_CHANNEL_WINDOW, SshServer, type ServerLimits } from "../modules/ssh/server.js";
import { WINDOW_ADJUST_STEP } from "../modules/ssh/channel.js";
import { SshReader } from "../modules/ssh/wire.js";
import { ScriptedClient, crypto } from "./helpers/client.js";

function inProcess(split: (n: number) => number, limits: Partial<ServerLimits> = {}) {
  const seed = randomBytes(32);
  const hostSeed = randomBytes(32);
  const logs: string[] = [];
  const server = new SshServer({
    crypto,
    hostKeys: new HostKeySet(crypto, [{ type: "ssh-ed25519", seed: hostSeed, publicKey: crypto.ed25519Public(hostSeed) }]),
    hostName: "test",
    log: (l) => logs.push(l),
    now: () => Date.now(),
    limits,
    apps: new DeviceApps(),
    auth: {
      isUser: (u) => u === "console",
      authorizedKeys: () => [{ type: "ssh-ed25519", blob: ed25519PublicKeyBlob(crypto.ed25519Public(seed)), publicKey: crypto.ed25519Public(seed) }],
      passwordHash: () => undefined,
      passwordEnabled: false,
      verifyPassword: () => false,
    },
  });
  const toClient: Uint8Array[] = [];
  let client: ScriptedClient;
  const conn = server.accept({ write: (b) => (toClient.push(b.slice()), true), close: () => client.markClosed() }, "in-process")!;
  const toServer: Uint8Array[] = [];
  let pumping = false;
  // Moves bytes both ways in pieces chosen by `split`, never re-entering either side.
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      while (toServer.length > 0 || toClient.length > 0) {
        const b = toServer.shift();
        if (b) {
          for (let off = 0; off < b.length; ) {
            const n = Math.max(1, Math.min(split(b.length - off), b.length - off));
            conn.receive(b.subarray(off, off + n));
            off += n;
          }
        }
        const c = toClient.shift();
        if (c) {
          for (let off = 0; off < c.length; ) {
            const n = Math.max(1, Math.min(split(c.length - off), c.length - off));
            client.feed(c.subarray(off, off + n));
            off += n;
          }
        }
      }
    } finally {
      pumping = false;
    }
  };
  client = new ScriptedClient((bytes) => {
    toServer.push(bytes);
    queueMicrotask(pump);
  });
  const flushServer = pump;
  return { server, conn, client, seed, logs, flushServer };
}

for (const [name, split] of [
  ["one byte at a time", () => 1],
  ["random split points", (n: number) => 1 + Math.floor(Math.random() * Math.min(n, 700))],
] as const) {
  test(`full session with input split ${name}`, async () => {
    const { client, seed, logs, flushServer } = inProcess(split);
    flushServer(); // our version line and KEXINIT
    await client.handshake();
    await client.requestUserauth();
    assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
    const ch = await client.openSession();
    const r = await client.exec(ch.remote, "echo split ok");
    assert.equal(r.stdout, "split ok\n");
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    const ch2 = await client.openSession();
    const data = randomBytes(100_000);
    const cat = await client.exec(ch2.remote, "cat", data);
    assert.equal(cat.status, 0);
    assert.deepEqual(cat.bytes, data);
    assert.ok(logs.some((l) => l.includes("logged in with publickey")), logs.join("\n"));
  });
}

test("a client-started rekey in the middle of a session keeps channels working", async () => {
  const { client, seed, flushServer } = inProcess(() => 1 << 20);
  flushServer();
  await client.handshake();
  await client.requestUserauth();
  assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  const ch = await client.openSession();
  client.sendKexInit();
  await client.kexAfterKexInitSent();
  const r = await client.exec(ch.remote, "echo after rekey");
  assert.equal(r.stdout, "after rekey\n");
});

test("the server starts a rekey after rekeyBytes; data sent meanwhile waits and arrives intact", async () => {
  const { client, seed, flushServer, logs } = inProcess(() => 1 << 20, { rekeyBytes: 64 * 1024 });
  flushServer();
  await client.handshake();
  await client.requestUserauth();
  assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  const ch = await client.openSession();
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text("cat"));
  await client.expect(MSG.CHANNEL_SUCCESS);
  const input = randomBytes(300_000);
  let sent = 0;
  let received = Buffer.alloc(0);
  let rekeys = 0;
  while (received.length < input.length) {
    if (sent < input.length) {
      const n = Math.min(16384, input.length - sent);
      client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(input.subarray(sent, sent + n)));
      sent += n;
    }
    const p = await client.next(5000);
    if (p[0] === MSG.KEXINIT) {
      // The server asked for a rekey: answer it (our KEXINIT, then ECDH), while data keeps flowing.
      rekeys++;
      const payload = p;
      client.sendKexInit();
      (client as unknown as { queue: { payload: Uint8Array; seq: number }[] }).queue.unshift({ payload, seq: 0 });
      await client.kexAfterKexInitSent();
    } else if (p[0] === MSG.CHANNEL_DATA) {
      const d = p.subarray(9);
      received = Buffer.concat([received, d]);
    }
  }
  assert.ok(rekeys >= 2, `expected server-started rekeys, saw ${rekeys}`);
  assert.deepEqual(received, input);
  assert.ok(logs.length > 0);
});

test("receive and send buffers grow for bulk data and shrink back when the connection is idle", async () => {
  const { client, seed, flushServer, conn } = inProcess(() => 1 << 20);
  flushServer();
  await client.handshake();
  await client.requestUserauth();
  assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  const rxSize = () => (conn.transport as unknown as { rx: Uint8Array }).rx.length;
  const txSize = () => (conn.transport as unknown as { writer: { buf: Uint8Array } }).writer.buf.length;
  assert.equal(rxSize(), 2048, "an idle connection starts small");
  const ch = await client.openSession();
  const r = await client.exec(ch.remote, "cat", randomBytes(200_000));
  assert.equal(r.bytes.length, 200_000);
  assert.ok(rxSize() > 32768 && txSize() > 32768, `grown: ${rxSize()} / ${txSize()}`);
  conn.transport.trim(); // data arrived since the last trim: keep the buffers
  assert.ok(rxSize() > 32768);
  conn.transport.trim(); // a quiet second: give them back
  assert.equal(rxSize(), 2048);
  assert.equal(txSize(), 1024);
  const again = await client.exec((await client.openSession()).remote, "echo still works");
  assert.equal(again.stdout, "still works\n");
});

test("a small device's limits keep packet buffers small: 4 KiB channel packets, 8 KiB send queue", async () => {
  const { client, seed, flushServer, conn } = inProcess(() => 1 << 20, { maxChannelPacket: 4096, channelSendQueue: 8192, channelWindow: 16384 });
  flushServer();
  await client.handshake();
  await client.requestUserauth();
  assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  const ch = await client.openSession();
  const data = randomBytes(100_000);
  // The client honours the max packet size the server advertised.
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text("cat"));
  await client.expect(MSG.CHANNEL_SUCCESS);
  let received = Buffer.alloc(0);
  let sent = 0;
  let window = ch.window;
  while (received.length < data.length) {
    while (sent < data.length && window > 0) {
      const n = Math.min(4096, data.length - sent, window);
      client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(data.subarray(sent, sent + n)));
      sent += n;
      window -= n;
    }
    const p = await client.next();
    const r = new SshReader(p, 1);
    if (p[0] === MSG.CHANNEL_DATA) {
      r.uint32();
      const d = r.string();
      assert.ok(d.length <= 4096, `data packet of ${d.length}`);
      received = Buffer.concat([received, d]);
      client.send(MSG.CHANNEL_WINDOW_ADJUST, (w) => w.uint32(ch.remote).uint32(d.length));
    } else if (p[0] === MSG.CHANNEL_WINDOW_ADJUST) {
      r.uint32();
      window += r.uint32();
    }
  }
  assert.deepEqual(received, data);
  const rx = (conn.transport as unknown as { rx: Uint8Array }).rx.length;
  const tx = (conn.transport as unknown as { writer: { buf: Uint8Array } }).writer.buf.length;
  assert.ok(rx <= 8192 && tx <= 8192, `buffers ${rx} / ${tx}`);
});

test("the default 2 MiB channel window re-opens every WINDOW_ADJUST_STEP consumed, so a fast sender never runs dry", async () => {
  const { client, seed, flushServer } = inProcess(() => 1 << 20);
  flushServer();
  await client.handshake();
  await client.requestUserauth();
  assert.equal(await client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  // The client's own window is the largest there is, so `cat` never waits to echo and consumes at once.
  const ch = await client.openSession(0xffffffff);
  assert.equal(ch.window, DEFAULT_CHANNEL_WINDOW);
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text("cat"));
  await client.expect(MSG.CHANNEL_SUCCESS);
  const queue = (client as unknown as { queue: { payload: Uint8Array }[] }).queue;
  const packet = randomBytes(32768);
  let window = ch.window;
  let sent = 0;
  let echoed = 0;
  const adjusts: { at: number; n: number }[] = [];
  const drain = () => {
    flushServer(); // the in-process pump, run now rather than in a microtask
    for (let p = queue.shift(); p; p = queue.shift()) {
      const r = new SshReader(p.payload, 1);
      if (p.payload[0] === MSG.CHANNEL_WINDOW_ADJUST) {
        r.uint32();
        const n = r.uint32();
        adjusts.push({ at: sent, n });
        window += n;
      } else if (p.payload[0] === MSG.CHANNEL_DATA) {
        r.uint32();
        echoed += r.string().length;
      }
    }
  };
  // 8 MiB sent as fast as the window allows, never beyond it (test/badinput.test.ts sends beyond it):
  // the window never falls below 2 MiB - one step - one packet, and every adjust re-opens exactly
  // what was consumed since the last.
  while (sent < 8 * 1024 * 1024) {
    assert.ok(window >= DEFAULT_CHANNEL_WINDOW - WINDOW_ADJUST_STEP - packet.length, `window down to ${window} after ${sent}`);
    client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(packet));
    sent += packet.length;
    window -= packet.length;
    drain();
  }
  assert.equal(echoed, sent);
  assert.equal(adjusts.length, sent / WINDOW_ADJUST_STEP);
  for (const [i, a] of adjusts.entries()) assert.deepEqual(a, { at: (i + 1) * WINDOW_ADJUST_STEP, n: WINDOW_ADJUST_STEP });
});
