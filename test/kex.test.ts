// Negotiation (RFC 4253 7.1), key derivation (7.2) and a chacha20-poly1305@openssh.com packet, each
// checked against an independent computation (node:crypto and a BigInt Poly1305 written here).

import assert from "node:assert/strict";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { ChaChaPolyCipher } from "../modules/ssh/cipher.js";
import { hostKeysFor, serverOffer } from "../modules/ssh/algorithms.js";
import { HostKeySet } from "../modules/ssh/hostkeys.js";
import { deriveKey, negotiate, parseKexInit, writeServerKexInit, type KexInit } from "../modules/ssh/kex.js";
import { DISCONNECT, SshError } from "../modules/ssh/messages.js";
import { Transport } from "../modules/ssh/transport.js";
import { SshWriter } from "../modules/ssh/wire.js";
import { crypto as noble } from "./helpers/client.js";
import { createNodeProvider } from "../hosts/node/crypto_node.js";

const hostSeed = randomBytes(32);
const edOnly = new HostKeySet(noble, [{ type: "ssh-ed25519", seed: hostSeed, publicKey: noble.ed25519Public(hostSeed) }]);
const offer = serverOffer(noble, edOnly);
/** A provider that lists no optional feature (the native provider before its hooks are in). */
const bare = { ...noble, features: [] };
const bareOffer = serverOffer(bare, new HostKeySet(bare, [{ type: "ssh-ed25519", seed: hostSeed, publicKey: noble.ed25519Public(hostSeed) }]));

const client = (over: Partial<KexInit> = {}): KexInit => ({
  kex: ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org", "ext-info-c", "kex-strict-c-v00@openssh.com"],
  hostKey: ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "rsa-sha2-512"],
  cipherCS: ["aes128-ctr", "chacha20-poly1305@openssh.com"],
  cipherSC: ["chacha20-poly1305@openssh.com"],
  macCS: ["hmac-sha2-256-etm@openssh.com"],
  macSC: ["umac-64@openssh.com"],
  compressionCS: ["none", "zlib@openssh.com"],
  compressionSC: ["zlib@openssh.com", "none"],
  firstKexPacketFollows: false,
  ...over,
});

test("negotiation picks the client's first algorithm we support and sees ext-info / strict kex", () => {
  const n = negotiate(client(), offer);
  assert.equal(n.kex, "curve25519-sha256");
  assert.equal(n.hostKey, "ssh-ed25519");
  assert.equal(n.cipherCS, "aes128-ctr");
  assert.equal(n.macCS, "hmac-sha2-256-etm@openssh.com");
  assert.equal(n.cipherSC, "chacha20-poly1305@openssh.com");
  assert.equal(n.macSC, null, "an AEAD cipher negotiates no MAC (umac-64 is not ours and does not matter)");
  assert.equal(n.clientExtInfo, true);
  assert.equal(n.strictKex, true);
  assert.equal(n.ignoreGuess, false);
  assert.equal(negotiate(client({ kex: ["curve25519-sha256@libssh.org", "curve25519-sha256"] }), offer).kex, "curve25519-sha256@libssh.org");
  // A provider without AES offers no AES-CTR: the client's second choice wins.
  assert.equal(negotiate(client(), bareOffer).cipherCS, "chacha20-poly1305@openssh.com");
});

test("a wrong first_kex_packet_follows guess is detected (RFC 4253 7.1: both sides' first algorithms must match)", () => {
  assert.equal(negotiate(client({ firstKexPacketFollows: true }), offer).ignoreGuess, true);
  assert.equal(negotiate(client({ firstKexPacketFollows: true, kex: ["mlkem768x25519-sha256"], hostKey: ["ssh-ed25519"] }), offer).ignoreGuess, false);
  assert.equal(negotiate(client({ firstKexPacketFollows: true, kex: ["mlkem768x25519-sha256"], hostKey: ["rsa-sha2-256", "ssh-ed25519"] }), offer).ignoreGuess, true);
  // Dropbear's case: its first kex (curve25519) is negotiated, but it is not our first, so the
  // client takes its own guess as wrong and sends the kex packet again: we must ignore the first.
  assert.equal(negotiate(client({ firstKexPacketFollows: true, kex: ["curve25519-sha256"], hostKey: ["ssh-ed25519"] }), offer).ignoreGuess, true);
  assert.equal(negotiate(client({ firstKexPacketFollows: true, kex: ["curve25519-sha256"], hostKey: ["ssh-ed25519"] }), bareOffer).ignoreGuess, false);
});

test("no common algorithm is KEY_EXCHANGE_FAILED naming what failed", () => {
  const cases: [Partial<KexInit>, string][] = [
    [{ kex: ["diffie-hellman-group1-sha1"] }, "key exchange"],
    [{ hostKey: ["ssh-rsa"] }, "host key"],
    [{ cipherSC: ["aes128-cbc"] }, "server-to-client cipher"],
    [{ cipherCS: ["aes256-ctr"], macCS: ["umac-128-etm@openssh.com"] }, "client-to-server MAC"],
    [{ compressionCS: ["zlib"] }, "compression"],
  ];
  for (const [over, word] of cases) {
    assert.throws(() => negotiate(client(over), offer), (e: unknown) => e instanceof SshError && e.reason === DISCONNECT.KEY_EXCHANGE_FAILED && e.message.includes(word));
  }
  // Without AES-GCM in the provider, a GCM-only client finds nothing.
  assert.throws(() => negotiate(client({ cipherSC: ["aes256-gcm@openssh.com"] }), bareOffer), /server-to-client cipher/);
});

test("our KEXINIT parses back, offers strict kex and ext-info, and follows the provider's features", () => {
  const w = new SshWriter().byte(20);
  writeServerKexInit(w, new Uint8Array(16), offer);
  const k = parseKexInit(w.bytes());
  assert.deepEqual(k.kex, ["mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "ext-info-s", "kex-strict-s-v00@openssh.com"]);
  assert.deepEqual(k.hostKey, ["ssh-ed25519"]);
  assert.deepEqual(k.cipherCS, ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"]);
  assert.deepEqual(k.macSC, ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"]);
  assert.equal(k.firstKexPacketFollows, false);
  assert.deepEqual(offer.signatures, ["ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com"], "noble has no RSA: no rsa-sha2-* in server-sig-algs");

  const b = new SshWriter().byte(20);
  writeServerKexInit(b, new Uint8Array(16), bareOffer);
  const kb = parseKexInit(b.bytes());
  assert.deepEqual(kb.kex, ["curve25519-sha256", "curve25519-sha256@libssh.org", "ext-info-s", "kex-strict-s-v00@openssh.com"]);
  assert.deepEqual(kb.cipherCS, ["chacha20-poly1305@openssh.com"]);
  assert.deepEqual(kb.macCS, []);
  assert.deepEqual(bareOffer.signatures, ["ssh-ed25519", "sk-ssh-ed25519@openssh.com"]);
});

test("host keys: a client that knows ssh-ed25519 is offered only that; others get every key; rekeys keep the key", () => {
  const node = createNodeProvider();
  const keys = new HostKeySet(node, [
    { type: "ssh-ed25519", seed: hostSeed, publicKey: node.ed25519Public(hostSeed) },
    { type: "ecdsa-sha2-nistp256", curve: "p256", ...node.ecGenerate!("p256") },
    { type: "ssh-rsa", rsa: node.rsaGenerate!(2048) },
  ]);
  const all = serverOffer(node, keys);
  assert.deepEqual(all.hostKey, ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]);
  // Go's x/crypto lists ECDSA before Ed25519: it still gets the Ed25519 key it has known.
  assert.deepEqual(hostKeysFor(all, ["ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512"], null), ["ssh-ed25519"]);
  assert.deepEqual(hostKeysFor(all, ["ecdsa-sha2-nistp256", "rsa-sha2-256"], null), all.hostKey);
  assert.deepEqual(hostKeysFor(all, null, "rsa-sha2-256"), ["rsa-sha2-256"]);
  // The noble provider cannot sign with RSA: the RSA key is not offered.
  assert.deepEqual(serverOffer(noble, new HostKeySet(noble, keys.all().map((k) => k.key))).hostKey, ["ssh-ed25519", "ecdsa-sha2-nistp256"]);
});

test("key derivation with extension matches RFC 4253 7.2 computed with node:crypto", () => {
  const k = new SshWriter().mpint(randomBytes(32)).bytes();
  const h = randomBytes(32), sid = randomBytes(32);
  const sha = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
  const k1 = sha(k, h, Buffer.from("C"), sid);
  const k2 = sha(k, h, k1);
  const k3 = sha(k, h, k1, k2);
  const expected = Buffer.concat([k1, k2, k3]).subarray(0, 80);
  for (const provider of [noble, createNodeProvider()]) {
    assert.deepEqual(Buffer.from(deriveKey(provider, k, h, "C", sid, 80)), expected);
    assert.deepEqual(Buffer.from(deriveKey(provider, k, h, "C", sid, 32)), k1);
  }
});

/** Poly1305 (RFC 8439 2.5.1) with BigInt: slow, obviously correct, independent of our providers. */
function poly1305Reference(key: Uint8Array, msg: Uint8Array): Buffer {
  const le = (b: Uint8Array) => BigInt("0x" + (Buffer.from(b).reverse().toString("hex") || "0"));
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]);
    acc = ((acc + le(block)) * r) % p;
  }
  acc = (acc + s) & ((1n << 128n) - 1n);
  return Buffer.from(acc.toString(16).padStart(32, "0"), "hex").reverse();
}

/** ChaCha20 with a 64-bit counter and 8-byte nonce, through OpenSSL. */
function chacha(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(counter, 0);
  Buffer.from(nonce).copy(iv, 8);
  return createCipheriv("chacha20", key, iv).update(data);
}

test("a chacha20-poly1305@openssh.com packet matches an independent computation", () => {
  const key = randomBytes(64);
  const seq = 0x01020304;
  const payload = randomBytes(1000);
  const sent: Uint8Array[] = [];
  const t = new Transport({ version() {}, packet() {}, output: (b) => (sent.push(b.slice()), true) }, (o) => o.fill(0x55));
  t.outCipher = new ChaChaPolyCipher(noble, key);
  t.outSeq = seq;
  t.begin(payload[0]).raw(payload.subarray(1));
  t.send();
  const wire = Buffer.from(sent[0]);

  // Independent decryption (OpenSSH PROTOCOL.chacha20poly1305).
  const nonce = Buffer.alloc(8);
  nonce.writeUInt32BE(seq, 4);
  const k2 = key.subarray(0, 32), k1 = key.subarray(32, 64);
  const length = chacha(k1, nonce, 0, wire.subarray(0, 4)).readUInt32BE(0);
  assert.equal(wire.length, 4 + length + 16);
  assert.equal(length % 8, 0, "padding makes the encrypted part a multiple of 8");
  const polyKey = chacha(k2, nonce, 0, Buffer.alloc(32));
  assert.deepEqual(poly1305Reference(polyKey, wire.subarray(0, 4 + length)), wire.subarray(4 + length));
  const plain = chacha(k2, nonce, 1, wire.subarray(4, 4 + length));
  const pad = plain[0];
  assert.ok(pad >= 4);
  assert.deepEqual(plain.subarray(1, length - pad), payload);

  // And our receiving side accepts it, but not with one bit flipped anywhere.
  for (const flip of [-1, 2, 10, wire.length - 1]) {
    const got: Uint8Array[] = [];
    const rx = new Transport({ version() {}, packet: (p) => got.push(p.slice()), output: () => true }, () => {});
    rx.inCipher = new ChaChaPolyCipher(createNodeProvider(), key);
    rx.inSeq = seq;
    (rx as unknown as { versionDone: boolean }).versionDone = true;
    const copy = Buffer.from(wire);
    if (flip >= 0) copy[flip] ^= 1;
    if (flip < 0) {
      rx.receive(copy);
      assert.deepEqual(Buffer.from(got[0]), payload);
    } else {
      assert.throws(() => rx.receive(copy), (e: unknown) => e instanceof SshError && (e.reason === DISCONNECT.MAC_ERROR || e.reason === DISCONNECT.PROTOCOL_ERROR));
    }
  }
});

test("sequence numbers wrap at 2^32 and keep the ciphers in step", () => {
  const key = randomBytes(64);
  const got: number[] = [];
  const rx = new Transport({ version() {}, packet: (_p, seq) => got.push(seq), output: () => true }, () => {});
  (rx as unknown as { versionDone: boolean }).versionDone = true;
  rx.inCipher = new ChaChaPolyCipher(noble, key);
  rx.inSeq = 0xfffffffe;
  const tx = new Transport({ version() {}, packet() {}, output: (b) => (rx.receive(b.slice()), true) }, () => {});
  tx.outCipher = new ChaChaPolyCipher(noble, key);
  tx.outSeq = 0xfffffffe;
  for (let i = 0; i < 3; i++) {
    tx.begin(2).string(new Uint8Array(i));
    tx.send();
  }
  assert.deepEqual(got, [0xfffffffe, 0xffffffff, 0]);
  assert.equal(tx.outSeq, 1);
});
