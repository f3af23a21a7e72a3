// Bad input and protocol edges over real TCP: each bad connection ends with the right disconnect
// reason and one log line, while another client's session keeps working and the server keeps serving.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { DISCONNECT, MSG, OPEN_FAILURE } from "../modules/ssh/messages.js";
import { decodeOpenSshPrivateKey } from "../modules/ssh/keys.js";
import { SshWriter } from "../modules/ssh/wire.js";
import { loggedIn, tcpClient } from "./helpers/client.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { run } from "./helpers/tools.js";
import { readFileSync } from "node:fs";

let ts: TestServer;
let seed: Uint8Array;
let witness: Awaited<ReturnType<typeof loggedIn>>;
let witnessChannel: number;

before(async () => {
  ts = await startTestServer({ password: "right horse battery" });
  seed = decodeOpenSshPrivateKey(readFileSync(ts.clientKey, "utf8")).seed;
  // A client with a `cat` session open through every bad connection below.
  witness = await loggedIn(ts.port, seed);
  const ch = await witness.client.openSession();
  witnessChannel = ch.remote;
  witness.client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text("cat"));
  await witness.client.expect(MSG.CHANNEL_SUCCESS);
});

after(async () => {
  witness?.socket.destroy();
  await ts?.close();
});

/** Disconnect lines the server logged for connections whose remote port is `port`. */
const disconnectLines = (port: number | undefined) => ts.logs.filter((l) => l.includes(`:${port}: disconnect`));

async function expectDisconnect(setup: (c: Awaited<ReturnType<typeof tcpClient>>) => void | Promise<void>, reason: number, text: RegExp) {
  const c = await tcpClient(ts.port);
  const localPort = c.socket.localPort;
  await setup(c);
  const d = await c.client.waitClosed(5000);
  c.socket.destroy();
  assert.ok(d, "the server sent SSH_MSG_DISCONNECT");
  assert.equal(d.reason, reason, `reason ${d.reason}: ${d.message}`);
  assert.match(d.message, text);
  assert.equal(disconnectLines(localPort).length, 1, `one log line for the connection: ${ts.logs.join("\n")}`);
}

const plainPacket = (payload: Uint8Array, padding = 8) => {
  // Unencrypted binary packet (RFC 4253 6) with a chosen padding length (may be invalid).
  let pad = padding;
  while ((5 + payload.length + pad) % 8 !== 0) pad++;
  if (padding < 4) pad = padding;
  const w = new SshWriter().uint32(1 + payload.length + pad).byte(pad).raw(payload).raw(new Uint8Array(pad));
  return w.bytes();
};

test("garbage instead of a version line: PROTOCOL_ERROR", async () => {
  await expectDisconnect(({ socket }) => void socket.write("GET / HTTP/1.1\r\n" + "A".repeat(400)), DISCONNECT.PROTOCOL_ERROR, /identification/);
});

test("an SSH-1 client: PROTOCOL_VERSION_NOT_SUPPORTED", async () => {
  await expectDisconnect(({ socket }) => void socket.write("SSH-1.5-old\r\n"), DISCONNECT.PROTOCOL_VERSION_NOT_SUPPORTED, /unsupported protocol version/);
});

test("a packet length of gigabytes: PROTOCOL_ERROR, nothing allocated", async () => {
  await expectDisconnect(({ client, socket }) => {
    client.sendVersion();
    socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 0]));
  }, DISCONNECT.PROTOCOL_ERROR, /exceeds the maximum/);
});

test("bad padding: PROTOCOL_ERROR", async () => {
  await expectDisconnect(({ client, socket }) => {
    client.sendVersion();
    // 5 + 9 + 2 = 16: block-aligned, so only the padding length (2 < 4) is wrong.
    socket.write(plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 4, 1, 2, 3, 4), 2));
  }, DISCONNECT.PROTOCOL_ERROR, /padding/);
});

test("a name-list longer than its packet: PROTOCOL_ERROR", async () => {
  await expectDisconnect(({ client, socket }) => {
    client.sendVersion();
    const kexinit = new SshWriter().byte(MSG.KEXINIT).raw(new Uint8Array(16)).uint32(0xffff).raw(Buffer.from("curve25519-sha256")).bytes();
    socket.write(plainPacket(kexinit));
  }, DISCONNECT.PROTOCOL_ERROR, /malformed message/);
});

test("no common algorithm: KEY_EXCHANGE_FAILED", async () => {
  const c = await tcpClient(ts.port, { kex: ["diffie-hellman-group1-sha1"] });
  c.client.sendVersion();
  c.client.sendKexInit();
  const d = await c.client.waitClosed(5000);
  c.socket.destroy();
  assert.equal(d?.reason, DISCONNECT.KEY_EXCHANGE_FAILED);
  assert.match(d!.message, /no common key exchange algorithm/);
});

test("a bad MAC after the key exchange: MAC_ERROR (sent encrypted)", async () => {
  const c = await tcpClient(ts.port);
  await c.client.handshake();
  c.client.mutateOutput = (p) => (p[p.length - 1] ^= 0x01);
  c.client.send(MSG.SERVICE_REQUEST, (w) => w.text("ssh-userauth"));
  const d = await c.client.waitClosed(5000);
  c.socket.destroy();
  assert.equal(d?.reason, DISCONNECT.MAC_ERROR);
});

test("strict kex: a message before KEXINIT ends the connection (Terrapin)", async () => {
  const c = await tcpClient(ts.port);
  c.client.sendVersion();
  c.client.send(MSG.IGNORE, (w) => w.string(new Uint8Array(4)));
  c.client.sendKexInit();
  const d = await c.client.waitClosed(5000);
  c.socket.destroy();
  assert.equal(d?.reason, DISCONNECT.PROTOCOL_ERROR);
  assert.match(d!.message, /strict kex/);
});

test("a wrong first_kex_packet_follows guess is ignored and the kex completes", async () => {
  const c = await tcpClient(ts.port, { kex: ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "kex-strict-c-v00@openssh.com"], firstKexPacketFollows: true });
  c.client.sendVersion();
  c.client.sendKexInit();
  // The guessed packet for sntrup761x25519 (junk of the wrong size for curve25519): must be ignored.
  c.client.send(MSG.KEX_ECDH_INIT, (w) => w.string(randomBytes(1190)));
  await c.client.kexAfterKexInitSent();
  await c.client.requestUserauth();
  assert.equal(await c.client.authPublickey("console", seed), MSG.USERAUTH_SUCCESS);
  c.socket.destroy();
});

test("an unknown service: SERVICE_NOT_AVAILABLE; connection messages before auth: PROTOCOL_ERROR", async () => {
  const a = await tcpClient(ts.port);
  await a.client.handshake();
  a.client.send(MSG.SERVICE_REQUEST, (w) => w.text("ssh-telnet"));
  assert.equal((await a.client.waitClosed())?.reason, DISCONNECT.SERVICE_NOT_AVAILABLE);
  a.socket.destroy();
  const b = await tcpClient(ts.port);
  await b.client.handshake();
  b.client.send(MSG.CHANNEL_OPEN, (w) => w.text("session").uint32(0).uint32(1000).uint32(1000));
  assert.equal((await b.client.waitClosed())?.reason, DISCONNECT.PROTOCOL_ERROR);
  b.socket.destroy();
});

test("a wrong key is refused; the attempt limit disconnects with NO_MORE_AUTH_METHODS_AVAILABLE", async () => {
  const c = await tcpClient(ts.port);
  await c.client.handshake();
  await c.client.requestUserauth();
  c.client.send(MSG.USERAUTH_REQUEST, (w) => w.text("console").text("ssh-connection").text("none"));
  const none = await c.client.expect(MSG.USERAUTH_FAILURE);
  assert.deepEqual(none.nameList(), ["publickey", "password"]);
  const results: number[] = [];
  for (let i = 0; i < 5; i++) results.push(await c.client.authPublickey("console", randomBytes(32)));
  assert.deepEqual(results, Array(5).fill(MSG.USERAUTH_FAILURE));
  assert.equal(await c.client.authPassword("console", "wrong"), MSG.DISCONNECT);
  assert.equal(c.client.disconnect?.reason, DISCONNECT.NO_MORE_AUTH_METHODS_AVAILABLE);
  c.socket.destroy();
});

test("password login checks the stored hash; unknown users fail the same way", async () => {
  const c = await tcpClient(ts.port);
  await c.client.handshake();
  await c.client.requestUserauth();
  assert.equal(await c.client.authPassword("root", "right horse battery"), MSG.USERAUTH_FAILURE);
  assert.equal(await c.client.authPassword("console", "right horse batter"), MSG.USERAUTH_FAILURE);
  assert.equal(await c.client.authPassword("console", "right horse battery"), MSG.USERAUTH_SUCCESS);
  c.socket.destroy();
});

test("the publickey query step answers PK_OK only for authorized keys", async () => {
  const { ed25519PublicKeyBlob } = await import("../modules/ssh/keys.js");
  const { crypto } = await import("./helpers/client.js");
  const c = await tcpClient(ts.port);
  await c.client.handshake();
  await c.client.requestUserauth();
  const query = (s: Uint8Array) =>
    c.client.send(MSG.USERAUTH_REQUEST, (w) => w.text("console").text("ssh-connection").text("publickey").boolean(false).text("ssh-ed25519").string(ed25519PublicKeyBlob(crypto.ed25519Public(s))));
  query(randomBytes(32));
  await c.client.expect(MSG.USERAUTH_FAILURE);
  query(seed);
  await c.client.expect(MSG.USERAUTH_PK_OK);
  c.socket.destroy();
});

test("global and channel requests, unknown messages and channel types get their RFC answers", async () => {
  const { client, socket } = await loggedIn(ts.port, seed);
  client.send(MSG.GLOBAL_REQUEST, (w) => w.text("keepalive@openssh.com").boolean(true));
  await client.expect(MSG.REQUEST_FAILURE);
  client.send(MSG.GLOBAL_REQUEST, (w) => w.text("tcpip-forward").boolean(true).text("0.0.0.0").uint32(80));
  await client.expect(MSG.REQUEST_FAILURE);
  const seqBefore = client.transport.outSeq;
  client.send(200, (w) => w.uint32(1));
  const un = await client.expect(MSG.UNIMPLEMENTED);
  assert.equal(un.uint32(), seqBefore);
  client.send(MSG.CHANNEL_OPEN, (w) => w.text("direct-tcpip").uint32(7).uint32(1000).uint32(1000).text("10.0.0.1").uint32(22).text("x").uint32(1));
  let f = await client.expect(MSG.CHANNEL_OPEN_FAILURE);
  assert.equal(f.uint32(), 7);
  assert.equal(f.uint32(), OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
  client.send(MSG.CHANNEL_OPEN, (w) => w.text("weird-channel").uint32(8).uint32(1000).uint32(1000));
  f = await client.expect(MSG.CHANNEL_OPEN_FAILURE);
  assert.equal(f.uint32(), 8);
  assert.equal(f.uint32(), OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE);
  const ch = await client.openSession();
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("x11-req").boolean(true).boolean(false).text("MIT").text("00").uint32(0));
  await client.expect(MSG.CHANNEL_FAILURE);
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("frobnicate@example.com").boolean(true));
  await client.expect(MSG.CHANNEL_FAILURE);
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("env").boolean(true).text("LANG").text("C"));
  await client.expect(MSG.CHANNEL_SUCCESS);
  const r = await client.exec(ch.remote, "echo still fine");
  assert.equal(r.stdout, "still fine\n");
  // Sessions past the per-connection limit: RESOURCE_SHORTAGE.
  const opened = [];
  for (let i = 0; i < ts.server.ssh.limits.maxChannels; i++) opened.push(await client.openSession());
  client.send(MSG.CHANNEL_OPEN, (w) => w.text("session").uint32(99).uint32(1000).uint32(1000));
  f = await client.expect(MSG.CHANNEL_OPEN_FAILURE);
  assert.equal(f.uint32(), 99);
  assert.equal(f.uint32(), OPEN_FAILURE.RESOURCE_SHORTAGE);
  // no-more-sessions@openssh.com: a later session open is fatal.
  client.send(MSG.GLOBAL_REQUEST, (w) => w.text("no-more-sessions@openssh.com").boolean(false));
  client.send(MSG.CHANNEL_OPEN, (w) => w.text("session").uint32(100).uint32(1000).uint32(1000));
  assert.equal((await client.waitClosed())?.reason, DISCONNECT.PROTOCOL_ERROR);
  socket.destroy();
});

test("data beyond our window is a PROTOCOL_ERROR", async () => {
  const { client, socket } = await loggedIn(ts.port, seed);
  // `cat` cannot echo into our 1000-byte window, so it stops consuming and the server's window closes.
  const ch = await client.openSession(1000);
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(false).text("cat"));
  const chunk = new Uint8Array(32768);
  for (let sent = 0; sent <= ch.window + 64 * 1024; sent += chunk.length) client.send(MSG.CHANNEL_DATA, (w) => w.uint32(ch.remote).string(chunk));
  const d = await client.waitClosed();
  assert.equal(d?.reason, DISCONNECT.PROTOCOL_ERROR);
  assert.match(d!.message, /beyond the window/);
  socket.destroy();
});

test("the witness session survived every bad connection", async () => {
  const data = randomBytes(50_000);
  const { client } = witness;
  for (let off = 0; off < data.length; off += 16384) client.send(MSG.CHANNEL_DATA, (w) => w.uint32(witnessChannel).string(data.subarray(off, off + 16384)));
  let got = Buffer.alloc(0);
  while (got.length < data.length) {
    const p = await client.next();
    if (p[0] === MSG.CHANNEL_DATA) got = Buffer.concat([got, p.subarray(9)]);
  }
  assert.deepEqual(got, data);
  // And the server still serves new clients.
  const r = await run("ssh", [...ts.sshArgs, "console@127.0.0.1", "echo", "alive"], { timeoutMs: 20_000 });
  assert.equal(r.stdout.toString(), "alive\n", r.stderr);
});

test("idle connections time out, and idle half-open ones cannot keep a real client out", async () => {
  const small = await startTestServer({ limits: { loginTimeoutMs: 1500, maxUnauthenticated: 4 } });
  try {
    // Four idle sockets fill the unauthenticated slots...
    const idle = await Promise.all([0, 1, 2, 3].map(() => tcpClient(small.port)));
    // ...and a real client still gets in (the oldest idle one is dropped for it).
    const r = await run("ssh", [...small.sshArgs, "console@127.0.0.1", "echo", "in"], { timeoutMs: 20_000 });
    assert.equal(r.stdout.toString(), "in\n", r.stderr);
    const reasons = await Promise.all(idle.map((c) => c.client.waitClosed(6000)));
    assert.ok(reasons.some((d) => d?.reason === DISCONNECT.TOO_MANY_CONNECTIONS), JSON.stringify(reasons));
    assert.ok(reasons.some((d) => d?.reason === DISCONNECT.BY_APPLICATION && /login not completed/.test(d.message)), JSON.stringify(reasons));
    for (const c of idle) c.socket.destroy();
  } finally {
    await small.close();
  }
});


test("a signal request ends cat with exit-signal (RFC 4254 6.9, 6.10)", async () => {
  const { client, socket } = await loggedIn(ts.port, seed);
  const ch = await client.openSession();
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text("cat"));
  await client.expect(MSG.CHANNEL_SUCCESS);
  client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("signal").boolean(false).text("INT"));
  let signal = "";
  for (;;) {
    const p = await client.next();
    if (p[0] === MSG.CHANNEL_REQUEST) {
      const r = new (await import("../modules/ssh/wire.js")).SshReader(p, 5);
      if (r.text() === "exit-signal") {
        r.boolean();
        signal = r.text();
      }
    }
    if (p[0] === MSG.CHANNEL_CLOSE) break;
  }
  assert.equal(signal, "INT");
  socket.destroy();
});
