// Bad input for the algorithms beyond the first suite, over real TCP: each ends that one connection
// with a disconnect reason and one log line, while the server goes on serving.
// - an RSA key with a 64 KiB modulus (beyond any packet we take) and one of 65,536 bits (fits a
//   packet, beyond the 16,384-bit maximum);
// - an ECDSA point off its curve, as an ECDH ephemeral and as a user key;
// - an ML-KEM-768 client key of the wrong length, and one of the right length that fails FIPS 203's
//   modulus check;
// - an AES-GCM packet with one tag bit flipped; an AES-CTR + HMAC packet with one MAC bit flipped.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { readFileSync } from "node:fs";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import { decodeOpenSshPrivateKey } from "../modules/ssh/keys.js";
import { DISCONNECT, MSG } from "../modules/ssh/messages.js";
import { SshWriter } from "../modules/ssh/wire.js";
import { loggedIn, tcpClient, type ClientOptions } from "./helpers/client.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let ts: TestServer;
let seed: Uint8Array;
const node = createNodeProvider();

before(async () => {
  ts = await startTestServer();
  seed = decodeOpenSshPrivateKey(readFileSync(ts.clientKey, "utf8")).seed;
});
after(async () => {
  await ts?.close();
});

const disconnectLines = (port: number | undefined) => ts.logs.filter((l) => l.includes(`:${port}: disconnect`));

async function expectDisconnect(options: ClientOptions, setup: (c: Awaited<ReturnType<typeof tcpClient>>) => Promise<void>, reason: number, text: RegExp) {
  const c = await tcpClient(ts.port, options);
  const localPort = c.socket.localPort;
  try {
    await setup(c);
    const d = await c.client.waitClosed(10_000);
    assert.ok(d, "the server sent SSH_MSG_DISCONNECT");
    assert.equal(d.reason, reason, `reason ${d.reason}: ${d.message}`);
    assert.match(d.message, text);
    assert.equal(disconnectLines(localPort).length, 1, `one log line for the connection: ${ts.logs.slice(-5).join("\n")}`);
  } finally {
    c.socket.destroy();
  }
}

/** A publickey query (no signature) for `algorithm` with `blob`. */
async function offerKey(c: Awaited<ReturnType<typeof tcpClient>>, algorithm: string, blob: Uint8Array): Promise<void> {
  await c.client.handshake();
  await c.client.requestUserauth();
  c.client.send(MSG.USERAUTH_REQUEST, (w) => w.text("console").text("ssh-connection").text("publickey").boolean(false).text(algorithm).string(blob));
}

/** An ssh-rsa blob with a modulus of `bytes` bytes (odd, top bit set) and e = 65537. */
function rsaBlob(bytes: number): Uint8Array {
  const n = randomBytes(bytes);
  n[0] |= 0x80;
  n[bytes - 1] |= 1;
  return new SshWriter(bytes + 64).text("ssh-rsa").mpint(Uint8Array.of(1, 0, 1)).mpint(n).bytes();
}

/** A P-256 point moved off the curve (its Y coordinate changed). */
function offCurvePoint(): Uint8Array {
  const p = node.ecGenerate!("p256").publicKey.slice();
  p[64] ^= 1;
  return p;
}

test("an RSA key with a 64 KiB modulus: the packet itself is beyond the limit (PROTOCOL_ERROR)", async () => {
  await expectDisconnect({}, (c) => offerKey(c, "rsa-sha2-512", rsaBlob(64 * 1024)), DISCONNECT.PROTOCOL_ERROR, /packet length \d+ exceeds the maximum/);
});

test("an RSA key of 65,536 bits (8 KiB modulus): PROTOCOL_ERROR before any RSA arithmetic", async () => {
  await expectDisconnect({}, (c) => offerKey(c, "rsa-sha2-512", rsaBlob(8 * 1024)), DISCONNECT.PROTOCOL_ERROR, /invalid public key: ssh-rsa key of 65536 bits exceeds the 16384-bit maximum/);
});

test("an ECDSA user key whose point is off the curve: PROTOCOL_ERROR", async () => {
  const blob = new SshWriter().text("ecdsa-sha2-nistp256").text("nistp256").string(offCurvePoint()).bytes();
  await expectDisconnect({}, (c) => offerKey(c, "ecdsa-sha2-nistp256", blob), DISCONNECT.PROTOCOL_ERROR, /invalid public key: ecdsa-sha2-nistp256 key: the point is not on the curve/);
});

test("an ECDH ephemeral off the curve (ecdh-sha2-nistp256): KEY_EXCHANGE_FAILED", async () => {
  await expectDisconnect({ kex: ["ecdh-sha2-nistp256", "kex-strict-c-v00@openssh.com"] }, async (c) => {
    await c.client.exchangeKexInits();
    c.client.sendEcdhInit(offCurvePoint());
  }, DISCONNECT.KEY_EXCHANGE_FAILED, /ecdh-sha2-nistp256: client public key is not a point on the curve/);
});

test("an ECDH ephemeral of the wrong length (ecdh-sha2-nistp384): KEY_EXCHANGE_FAILED", async () => {
  await expectDisconnect({ kex: ["ecdh-sha2-nistp384"] }, async (c) => {
    await c.client.exchangeKexInits();
    c.client.sendEcdhInit(node.ecGenerate!("p256").publicKey);
  }, DISCONNECT.KEY_EXCHANGE_FAILED, /ecdh-sha2-nistp384: client public key of 65 bytes is not an uncompressed point/);
});

test("an ML-KEM-768 client key of the wrong length: KEY_EXCHANGE_FAILED", async () => {
  await expectDisconnect({ kex: ["mlkem768x25519-sha256"] }, async (c) => {
    await c.client.exchangeKexInits();
    c.client.sendEcdhInit(randomBytes(1184 + 32 - 1));
  }, DISCONNECT.KEY_EXCHANGE_FAILED, /mlkem768x25519: client key of 1215 bytes \(want 1216\)/);
});

test("an ML-KEM-768 key of the right length that fails the FIPS 203 modulus check: KEY_EXCHANGE_FAILED", async () => {
  await expectDisconnect({ kex: ["mlkem768x25519-sha256"] }, async (c) => {
    await c.client.exchangeKexInits();
    // All-ones coefficients (4095) are not below q = 3329.
    const init = new Uint8Array(1184 + 32).fill(0xff);
    init.set(node.x25519Public(randomBytes(32)), 1184);
    c.client.sendEcdhInit(init);
  }, DISCONNECT.KEY_EXCHANGE_FAILED, /invalid ML-KEM-768 encapsulation key/);
});

for (const [cipher, macs, what] of [
  ["aes128-gcm@openssh.com", undefined, "tag"],
  ["aes256-gcm@openssh.com", undefined, "tag"],
  ["aes256-ctr", ["hmac-sha2-512-etm@openssh.com"], "EtM MAC"],
  ["aes128-ctr", ["hmac-sha2-256"], "MAC"],
] as const) {
  test(`${cipher}${macs ? ` + ${macs[0]}` : ""}: one ${what} bit flipped is MAC_ERROR, and the connection works until then`, async () => {
    const c = await loggedIn(ts.port, seed, { ciphers: [cipher], macs: macs ? [...macs] : undefined });
    const localPort = c.socket.localPort;
    try {
      assert.equal(c.client.negotiated?.cipherCS, cipher);
      const ch = await c.client.openSession();
      const r = await c.client.exec(ch.remote, "echo before");
      assert.equal(r.stdout, "before\n");
      c.client.mutateOutput = (packet) => {
        packet[packet.length - 1] ^= 0x10; // the last byte of the tag / MAC
      };
      c.client.send(MSG.IGNORE, (w) => w.string(new Uint8Array(20)));
      const d = await c.client.waitClosed(10_000);
      assert.ok(d, "the server sent SSH_MSG_DISCONNECT");
      assert.equal(d.reason, DISCONNECT.MAC_ERROR, d.message);
      assert.equal(disconnectLines(localPort).length, 1);
    } finally {
      c.socket.destroy();
    }
  });
}

test("the server still serves after all of the above", async () => {
  const c = await loggedIn(ts.port, seed);
  try {
    const ch = await c.client.openSession();
    assert.equal((await c.client.exec(ch.remote, "echo still")).stdout, "still\n");
  } finally {
    c.socket.destroy();
  }
});
